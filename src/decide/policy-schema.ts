import { isAlias, isMap, isScalar, isSeq, type Node } from 'yaml'
import { parseYamlText } from '../config/yaml-text.ts'
import { ConfigError } from '../core/errors.ts'
import { authMethods, type AuthMethod } from '../identify/identity.ts'
import type { FactName, RequestFacts } from '../inspect/request-facts.ts'
import { operationRefNames, resolveOperationRef } from './operation-groups.ts'
import type { PolicyMode } from './policy-input.ts'

/**
 * The built-in policy language: a YAML document, validated here into `PolicyDocument` with every
 * error as `file:line:col: key: message`. `policies/README.md` is the full reference.
 *
 * ```yaml
 * policy: default              # name, shown in decisions and logs
 * version: 1                   # format version; anything else is an error
 * mode: enforce                # or audit-only: allow everything, report what would be denied
 * rules:                       # first match wins; no match is `default-deny`
 *   - id: deny-privileged      # unique; it is the decision's ruleId
 *     deny: privileged containers can do anything root on the host can   # deny: <reason>
 *     mode: audit-only         # optional: record the match, then go on to the next rule
 *     match:                   # every key given must hold (AND); OR is separate rules
 *       operations: [ContainerCreate, exec]          # operations, aliases, groups, families
 *       identity: { names: [ci], tenants: [team-a], groups: [dev], methods: [mtls] }
 *       versions: { min: '1.40', max: '1.45' }     # API version range, inclusive
 *       query: { networkmode: { anyOf: [host] } }  # query values as a list of strings
 *       facts:
 *         privileged: true                         # a bare scalar means { is: ... }
 *         hostPaths: { anyOutside: [/srv/ci] }
 *   - id: allow-rest
 *     allow: true              # allow: <reason> or allow: true
 * ```
 *
 * Operators, by the fact's type (a wrong pairing is a load error): `is` (boolean, number,
 * string); `oneOf`/`noneOf` (string or number: in / not in the set; list: every element in / no
 * element in); `anyOf` (list: some element in); `empty`/`notEmpty` (string, list); `glob` (string,
 * or every list element; `*` and `?` stop at `/`, `**` crosses it); `allUnder`/`anyOutside`
 * (`hostPaths`, `archivePath`: whole-segment prefixes of cleaned paths); `min`/`max` (number,
 * inclusive); `present` (any); `not: { ... }` (the conditions inside do not all hold).
 *
 * Absent facts: a fact is absent only when the operation cannot have it. A condition on an absent
 * fact fails, except the three that ask for nothing: `empty: true` (absent counts as empty),
 * `present: false`, and `noneOf`. `not` fails on an absent fact too, so `not` never turns a rule
 * about container bodies into a rule about every other operation.
 */

/** The type of a fact's value, which decides the operators a rule may use on it. */
export type FactKind = 'boolean' | 'number' | 'string' | 'list'

type KindOf<T> = [NonNullable<T>] extends [boolean] ? 'boolean'
  : [NonNullable<T>] extends [number] ? 'number'
    : [NonNullable<T>] extends [string] ? 'string'
      : [NonNullable<T>] extends [readonly string[]] ? 'list' : never

/**
 * Every fact of `RequestFacts` with its kind. The mapped type makes a new fact without an entry
 * here, or an entry of the wrong kind, a compile error.
 */
export const factKinds: { readonly [K in FactName]-?: KindOf<RequestFacts[K]> } = {
  image: 'string',
  tags: 'list',
  user: 'string',
  privileged: 'boolean',
  hostPaths: 'list',
  volumeMounts: 'list',
  namedVolumes: 'list',
  volumeDrivers: 'list',
  volumesFrom: 'list',
  capAdd: 'list',
  capDrop: 'list',
  devices: 'list',
  deviceRequests: 'list',
  deviceCgroupRules: 'list',
  pidMode: 'string',
  ipcMode: 'string',
  utsMode: 'string',
  networkMode: 'string',
  usernsMode: 'string',
  cgroupnsMode: 'string',
  hostNamespaces: 'list',
  containerNamespaces: 'list',
  securityOpt: 'list',
  unconfined: 'list',
  sysctls: 'list',
  cgroupParent: 'string',
  runtime: 'string',
  portHostIps: 'list',
  hostPorts: 'list',
  publishAllPorts: 'boolean',
  memory: 'number',
  memorySwap: 'number',
  nanoCpus: 'number',
  cpuShares: 'number',
  cpuQuota: 'number',
  pidsLimit: 'number',
  shmSize: 'number',
  oomKillDisable: 'boolean',
  oomScoreAdj: 'number',
  ulimits: 'list',
  logDriver: 'string',
  extraHosts: 'list',
  remoteContext: 'string',
  buildArgs: 'list',
  buildKit: 'boolean',
  importSource: 'string',
  archivePath: 'string',
  reachedContainers: 'list',
  networkDriver: 'string',
  networkOptions: 'list',
  pluginPrivileges: 'list',
  secretDriver: 'string',
  templatingDriver: 'string',
  ignoredFields: 'list'
}

/** Facts that hold absolute paths, the only ones `allUnder` and `anyOutside` apply to. */
export const pathFacts: ReadonlySet<FactName> = new Set<FactName>(['hostPaths', 'archivePath'])

export type Operator = 'is' | 'oneOf' | 'noneOf' | 'anyOf' | 'empty' | 'notEmpty' | 'glob' | 'allUnder' | 'anyOutside' | 'min' | 'max' | 'present' | 'not'

/** One test on one value; the tests on a fact or query parameter are ANDed. */
export type Condition =
  | { readonly op: 'is', readonly value: boolean | number | string }
  | { readonly op: 'oneOf' | 'noneOf' | 'anyOf', readonly values: ReadonlyArray<string | number> }
  | { readonly op: 'empty' | 'notEmpty' | 'present', readonly value: boolean }
  | { readonly op: 'glob', readonly patterns: readonly string[] }
  | { readonly op: 'allUnder' | 'anyOutside', readonly paths: readonly string[] }
  | { readonly op: 'min' | 'max', readonly value: number }
  | { readonly op: 'not', readonly conditions: readonly Condition[] }

export interface FactTest {
  readonly fact: FactName
  readonly kind: FactKind
  readonly conditions: readonly Condition[]
}

export interface QueryTest {
  readonly key: string
  readonly conditions: readonly Condition[]
}

export interface IdentityMatch {
  readonly names?: readonly string[]
  /** `null` in the list matches a caller that acts for no tenant. */
  readonly tenants?: ReadonlyArray<string | null>
  readonly groups?: readonly string[]
  readonly methods?: readonly AuthMethod[]
}

export interface VersionRange {
  /** `MAJOR.MINOR`, inclusive. */
  readonly min?: string
  readonly max?: string
}

export interface MatchDocument {
  /** As written: operation names, aliases, groups or families (all known, checked at load). */
  readonly operations?: readonly string[]
  readonly identity?: IdentityMatch
  readonly versions?: VersionRange
  readonly query?: readonly QueryTest[]
  readonly facts?: readonly FactTest[]
}

export interface RuleDocument {
  readonly id: string
  readonly action: 'allow' | 'deny'
  readonly reason: string
  readonly mode: PolicyMode
  readonly match: MatchDocument
}

export interface PolicyDocument {
  readonly name: string
  readonly mode: PolicyMode
  readonly rules: readonly RuleDocument[]
}

/** The one format version this dockward reads. */
export const POLICY_FORMAT_VERSION = 1
/** The ruleId of a decision no rule made. */
export const DEFAULT_DENY_ID = 'default-deny'

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/
const RULE_ID = /^[A-Za-z0-9][A-Za-z0-9._:-]*$/
const VERSION = /^(0|[1-9][0-9]{0,3})\.(0|[1-9][0-9]{0,3})$/
const MODES: readonly PolicyMode[] = ['enforce', 'audit-only']

/**
 * A parsed YAML file whose nodes can be turned into positioned errors. Shared by the policy
 * schema and `policy test` files so both report `file:line:col: key: message`.
 */
export interface YamlFile {
  readonly file: string
  readonly root: Node | null
  /** Throws a ConfigError at the node's position. */
  fail: (node: Node | null | undefined, key: string, message: string) => never
  /** The node an alias (`*name`) stands for; other nodes as they are. */
  deref: (node: unknown) => Node | null
}

/**
 * Parses YAML text with positions; syntax errors, duplicate keys and multiple documents throw.
 *
 * @example readYaml('a: 1\n', 'p.yaml').root // a YAMLMap
 */
export function readYaml (text: string, file: string): YamlFile {
  const { doc, lines } = parseYamlText(text, file)
  const deref = (node: unknown): Node | null => {
    if (isAlias(node)) return (node.resolve(doc) as Node | undefined) ?? null
    return (node as Node | null | undefined) ?? null
  }
  return {
    file,
    root: deref(doc.contents),
    deref,
    fail (node, key, message): never {
      const p = lines.linePos(node?.range?.[0] ?? 0)
      throw new ConfigError(`${file}:${p.line}:${p.col}: ${key}: ${message}`)
    }
  }
}

/** One `key: value` of a mapping; `at` is where to point when the value is missing. */
export interface Entry {
  readonly key: string
  readonly keyNode: Node
  readonly value: Node | null
  readonly at: Node
}

/**
 * The entries of a mapping node, or a positioned error naming `path` when it is not one.
 *
 * @example entries(y, node, 'rules[0]').map((e) => e.key) // ['id', 'deny', 'match']
 */
export function entries (y: YamlFile, node: Node | null, path: string, what = 'a mapping'): Entry[] {
  if (!isMap(node)) return y.fail(node, path, `expected ${what}`)
  return node.items.map((pair) => {
    const keyNode = y.deref(pair.key)
    if (!isScalar(keyNode) || (typeof keyNode.value !== 'string' && typeof keyNode.value !== 'number')) {
      return y.fail(keyNode ?? node, path, 'keys must be plain names')
    }
    const value = y.deref(pair.value)
    const present = value !== null && !(isScalar(value) && value.value === null && value.range?.[0] === value.range?.[1])
    return { key: String(keyNode.value), keyNode, value, at: present ? value : keyNode }
  })
}

/**
 * A scalar as a string; a plain number or boolean as the text the author wrote (`1.40` stays `1.40`).
 *
 * @example scalarText(y, node, 'rules[0].match.versions.min') // '1.40'
 */
export function scalarText (y: YamlFile, node: Node | null, path: string, what = 'a string'): string {
  if (!isScalar(node) || node.value === null || typeof node.value === 'object') return y.fail(node, path, `expected ${what}`)
  if (typeof node.value === 'string') return node.value
  return node.source ?? String(node.value)
}

/**
 * A list node's items, or a single scalar read as a one-element list.
 *
 * @example listItems(y, node, 'rules[0].match.operations').length // 2 for [ContainerCreate, exec]
 */
export function listItems (y: YamlFile, node: Node | null, path: string): Array<Node | null> {
  if (isSeq(node)) return node.items.map((n) => y.deref(n))
  if (isScalar(node) && node.value !== null) return [node]
  return y.fail(node, path, 'expected a list')
}

/**
 * Validates a policy file's text into a `PolicyDocument`. Unknown keys, operations, groups and
 * facts, operators that do not fit a fact's type, duplicate rule ids, a deny without a reason and
 * malformed versions are all errors naming the file, line, column and key.
 *
 * @example parsePolicyText('policy: p\nversion: 1\nrules: []\n', 'p.yaml') // { name: 'p', mode: 'enforce', rules: [] }
 */
export function parsePolicyText (text: string, file: string): PolicyDocument {
  // Annotated: TypeScript narrows after a `never` call only through explicitly typed names.
  const y: YamlFile = readYaml(text, file)
  if (y.root === null) y.fail(null, '(top level)', 'empty policy: expected policy, version and rules')
  let name: string | undefined
  let version: number | undefined
  let mode: PolicyMode = 'enforce'
  let rules: RuleDocument[] | undefined
  for (const e of entries(y, y.root, '(top level)', 'a mapping with policy, version, mode and rules')) {
    switch (e.key) {
      case 'policy': {
        const v = scalarText(y, e.value, 'policy', 'a policy name')
        if (!NAME.test(v)) y.fail(e.at, 'policy', 'expected a name of letters, digits, ".", "_" and "-"')
        name = v
        break
      }
      case 'version':
        if (!isScalar(e.value) || e.value.value !== POLICY_FORMAT_VERSION) {
          y.fail(e.at, 'version', `unsupported policy format version ${isScalar(e.value) ? JSON.stringify(e.value.value) : '(not a number)'}: this dockward reads version ${POLICY_FORMAT_VERSION}`)
        }
        version = POLICY_FORMAT_VERSION
        break
      case 'mode':
        mode = parseMode(y, e.value, 'mode')
        break
      case 'rules':
        rules = parseRules(y, e.value)
        break
      default:
        y.fail(e.keyNode, e.key, 'unknown key (policy, version, mode, rules)')
    }
  }
  if (name === undefined) y.fail(y.root, 'policy', 'missing: every policy needs a name')
  if (version === undefined) y.fail(y.root, 'version', `missing: write version: ${POLICY_FORMAT_VERSION}`)
  if (rules === undefined) y.fail(y.root, 'rules', 'missing: a policy without rules denies everything; write rules: [] to mean that')
  return { name, mode, rules }
}

function parseMode (y: YamlFile, node: Node | null, path: string): PolicyMode {
  const v = scalarText(y, node, path, 'enforce or audit-only')
  if (!(MODES as readonly string[]).includes(v)) y.fail(node, path, `expected enforce or audit-only, not ${JSON.stringify(v)}`)
  return v as PolicyMode
}

function parseRules (y: YamlFile, node: Node | null): RuleDocument[] {
  if (!isSeq(node)) return y.fail(node, 'rules', 'expected a list of rules')
  const seen = new Map<string, number>()
  return node.items.map((item, i) => {
    const path = `rules[${i}]`
    const ruleNode = y.deref(item)
    let id: string | undefined
    let idNode: Node | null = null
    let action: { kind: 'allow' | 'deny', reason: string, node: Node } | undefined
    let mode: PolicyMode = 'enforce'
    let modeNode: Node | null = null
    let match: MatchDocument = {}
    for (const e of entries(y, ruleNode, path, 'a rule: a mapping with id, allow or deny, and match')) {
      const key = `${path}.${e.key}`
      switch (e.key) {
        case 'id':
          id = scalarText(y, e.value, key, 'a rule id')
          idNode = e.at
          if (!RULE_ID.test(id)) y.fail(e.at, key, 'expected letters, digits, ".", "_", ":" and "-", starting with a letter or digit')
          if (id === DEFAULT_DENY_ID) y.fail(e.at, key, `"${DEFAULT_DENY_ID}" is the id of decisions no rule made; choose another`)
          break
        case 'allow':
        case 'deny': {
          if (action !== undefined) y.fail(e.keyNode, key, 'a rule has one action: allow or deny, not both')
          if (e.key === 'deny') {
            const reason = isScalar(e.value) && typeof e.value.value === 'string' ? e.value.value.trim() : ''
            if (reason === '') y.fail(e.at, key, 'a deny rule needs a reason (deny: <why>): it is what the client is told')
            action = { kind: 'deny', reason, node: e.keyNode }
          } else {
            let reason = ''
            if (isScalar(e.value) && e.value.value === true) reason = ''
            else if (isScalar(e.value) && typeof e.value.value === 'string' && e.value.value.trim() !== '') reason = e.value.value.trim()
            else y.fail(e.at, key, 'expected allow: true or allow: <reason>')
            action = { kind: 'allow', reason, node: e.keyNode }
          }
          break
        }
        case 'mode':
          mode = parseMode(y, e.value, key)
          modeNode = e.at
          break
        case 'match':
          match = parseMatch(y, e.value, key)
          break
        default:
          y.fail(e.keyNode, key, 'unknown key (id, allow, deny, mode, match)')
      }
    }
    if (id === undefined) return y.fail(ruleNode, `${path}.id`, 'missing: every rule needs an id, which decisions report')
    const first = seen.get(id)
    if (first !== undefined) y.fail(idNode, `${path}.id`, `duplicate rule id "${id}" (also rules[${first}])`)
    seen.set(id, i)
    if (action === undefined) return y.fail(ruleNode, path, 'missing action: write allow: <reason> or deny: <reason>')
    if (mode === 'audit-only' && action.kind === 'allow') {
      y.fail(modeNode, `${path}.mode`, 'audit-only applies to deny rules (record a would-be denial and go on); an allow rule allows either way')
    }
    return { id, action: action.kind, reason: action.reason === '' ? `allowed by rule ${id}` : action.reason, mode, match }
  })
}

function parseMatch (y: YamlFile, node: Node | null, path: string): MatchDocument {
  const out: {
    operations?: readonly string[]
    identity?: IdentityMatch
    versions?: VersionRange
    query?: readonly QueryTest[]
    facts?: readonly FactTest[]
  } = {}
  for (const e of entries(y, node, path, 'a mapping of operations, identity, versions, query, facts')) {
    const key = `${path}.${e.key}`
    switch (e.key) {
      case 'operations':
        out.operations = listItems(y, e.value, key).map((n, i) => {
          const ref = scalarText(y, n, `${key}[${i}]`, 'an operation or group name')
          if (resolveOperationRef(ref) === null) {
            const known = MISNAMED_OPERATIONS[ref]
            y.fail(n, `${key}[${i}]`, `unknown operation or group "${ref}"${known === undefined ? hint(ref, operationRefNames()) : ` (the Engine API calls it ${known})`}`)
          }
          return ref
        })
        if (out.operations.length === 0) y.fail(e.at, key, 'an empty list matches nothing; leave operations out to match every operation')
        break
      case 'identity':
        out.identity = parseIdentity(y, e.value, key)
        break
      case 'versions':
        out.versions = parseVersions(y, e.value, key)
        break
      case 'query':
        out.query = entries(y, e.value, key, 'a mapping of query parameter names to conditions').map((q) => ({
          key: q.key,
          conditions: parseConditions(y, q.value, q.at, `${key}.${q.key}`, { kind: 'list', path: false, subject: `query parameter "${q.key}" (a list of values)` })
        }))
        break
      case 'facts':
        out.facts = entries(y, e.value, key, 'a mapping of fact names to conditions').map((f) => {
          const fact = f.key as FactName
          if (!Object.hasOwn(factKinds, fact)) y.fail(f.keyNode, `${key}.${f.key}`, `unknown fact${hint(f.key, Object.keys(factKinds))} (the facts are listed in policies/README.md)`)
          const kind = factKinds[fact]
          return { fact, kind, conditions: parseConditions(y, f.value, f.at, `${key}.${f.key}`, { kind, path: pathFacts.has(fact), subject: `${f.key} (${article(kind)})` }) }
        })
        break
      default:
        y.fail(e.keyNode, key, 'unknown key (operations, identity, versions, query, facts)')
    }
  }
  return out
}

function parseIdentity (y: YamlFile, node: Node | null, path: string): IdentityMatch {
  const out: { names?: string[], tenants?: Array<string | null>, groups?: string[], methods?: AuthMethod[] } = {}
  for (const e of entries(y, node, path, 'a mapping of names, tenants, groups, methods')) {
    const key = `${path}.${e.key}`
    const items = listItems(y, e.value, key)
    if (items.length === 0) y.fail(e.at, key, 'an empty list matches nobody; leave the key out to match everyone')
    switch (e.key) {
      case 'names': out.names = items.map((n, i) => scalarText(y, n, `${key}[${i}]`)); break
      case 'groups': out.groups = items.map((n, i) => scalarText(y, n, `${key}[${i}]`)); break
      case 'tenants':
        // null (`~`) stands for "acts for no tenant" (operators, anonymous callers).
        out.tenants = items.map((n, i) => isScalar(n) && n.value === null ? null : scalarText(y, n, `${key}[${i}]`, 'a tenant name or ~ (no tenant)'))
        break
      case 'methods':
        out.methods = items.map((n, i) => {
          const m = scalarText(y, n, `${key}[${i}]`)
          if (!(authMethods as readonly string[]).includes(m)) y.fail(n, `${key}[${i}]`, `unknown method "${m}" (${authMethods.join(', ')})`)
          return m as AuthMethod
        })
        break
      default:
        y.fail(e.keyNode, key, 'unknown key (names, tenants, groups, methods)')
    }
  }
  return out
}

function parseVersions (y: YamlFile, node: Node | null, path: string): VersionRange {
  const out: { min?: string, max?: string } = {}
  let maxNode: Node | null = null
  for (const e of entries(y, node, path, 'a mapping with min and/or max')) {
    const key = `${path}.${e.key}`
    if (e.key !== 'min' && e.key !== 'max') y.fail(e.keyNode, key, 'unknown key (min, max)')
    const v = scalarText(y, e.value, key, 'an API version such as \'1.41\'')
    if (!VERSION.test(v)) y.fail(e.at, key, `invalid API version "${v}": expected MAJOR.MINOR, such as '1.41'`)
    if (e.key === 'min') out.min = v
    else { out.max = v; maxNode = e.at }
  }
  if (out.min !== undefined && out.max !== undefined && versionNumber(out.min) > versionNumber(out.max)) {
    y.fail(maxNode, `${path}.max`, `max ${out.max} is below min ${out.min}: the rule could never match`)
  }
  return out
}

/**
 * `MAJOR.MINOR` as one comparable number; null (no version prefix) is the engine's newest.
 *
 * @example versionNumber('1.41') // 10041
 */
export function versionNumber (v: string | null): number {
  if (v === null) return Number.POSITIVE_INFINITY
  // A char loop instead of split/Number: this runs per request for rules with a version range.
  let major = 0
  let i = 0
  for (; i < v.length && v.charCodeAt(i) !== 0x2e; i++) major = major * 10 + (v.charCodeAt(i) - 0x30)
  let minor = 0
  for (i++; i < v.length; i++) minor = minor * 10 + (v.charCodeAt(i) - 0x30)
  return major * 10000 + minor
}

interface ValueSpec {
  readonly kind: FactKind
  /** Whether `allUnder` and `anyOutside` apply. */
  readonly path: boolean
  /** How errors name the value: `capAdd (a list)`. */
  readonly subject: string
}

const OPERATORS: readonly Operator[] = ['is', 'oneOf', 'noneOf', 'anyOf', 'empty', 'notEmpty', 'glob', 'allUnder', 'anyOutside', 'min', 'max', 'present', 'not']

/** Which operators fit which kind of value. */
function operatorsFor (spec: ValueSpec): readonly Operator[] {
  const paths: Operator[] = spec.path ? ['allUnder', 'anyOutside'] : []
  switch (spec.kind) {
    case 'boolean': return ['is', 'present', 'not']
    case 'number': return ['is', 'oneOf', 'noneOf', 'min', 'max', 'present', 'not']
    case 'string': return ['is', 'oneOf', 'noneOf', 'empty', 'notEmpty', 'glob', ...paths, 'present', 'not']
    case 'list': return ['oneOf', 'noneOf', 'anyOf', 'empty', 'notEmpty', 'glob', ...paths, 'present', 'not']
  }
}

function parseConditions (y: YamlFile, node: Node | null, at: Node, path: string, spec: ValueSpec, inNot = false): Condition[] {
  if (!isMap(node)) {
    // A bare scalar is `is`; lists have no such shorthand because "any" and "every" both read naturally.
    if (spec.kind === 'list') {
      return y.fail(at, path, `${spec.subject} needs an operator: anyOf, oneOf, noneOf, empty, notEmpty, glob${spec.path ? ', allUnder, anyOutside' : ''}, present`)
    }
    return [parseCondition(y, 'is', node, at, path, spec, inNot)]
  }
  const list = entries(y, node, path).map((e) => {
    if (!(OPERATORS as readonly string[]).includes(e.key)) y.fail(e.keyNode, `${path}.${e.key}`, `unknown operator (${operatorsFor(spec).join(', ')})`)
    return parseCondition(y, e.key as Operator, e.value, e.at, `${path}.${e.key}`, spec, inNot)
  })
  if (list.length === 0) y.fail(at, path, 'expected at least one condition')
  const bound = (op: 'min' | 'max'): number | undefined => {
    const c = list.find((x) => x.op === op)
    return c !== undefined && c.op === op ? (c as { value: number }).value : undefined
  }
  const min = bound('min')
  const max = bound('max')
  if (min !== undefined && max !== undefined && min > max) y.fail(at, path, `min ${min} is above max ${max}: the rule could never match`)
  return list
}

function parseCondition (y: YamlFile, op: Operator, node: Node | null, at: Node, path: string, spec: ValueSpec, inNot: boolean): Condition {
  if (!operatorsFor(spec).includes(op)) {
    y.fail(at, path, `${op} does not apply to ${spec.subject}; use ${operatorsFor(spec).join(', ')}`)
  }
  switch (op) {
    case 'is': {
      if (spec.kind === 'boolean') {
        if (!isScalar(node) || typeof node.value !== 'boolean') y.fail(at, path, `expected true or false for ${spec.subject}`)
        return { op, value: (node as { value: boolean }).value }
      }
      if (spec.kind === 'number') return { op, value: number(y, node, at, path, spec) }
      return { op, value: scalarText(y, node, path, `a string for ${spec.subject}`) }
    }
    case 'oneOf': case 'noneOf': case 'anyOf': {
      const items = listItems(y, node, path)
      if (items.length === 0) y.fail(at, path, `expected at least one value${op === 'oneOf' ? ' (for "must be empty" write empty: true)' : ''}`)
      const values = items.map((n, i) => spec.kind === 'number' ? number(y, n, n ?? at, `${path}[${i}]`, spec) : scalarText(y, n, `${path}[${i}]`))
      return { op, values }
    }
    case 'empty': case 'notEmpty': case 'present':
      if (op === 'present' && inNot) y.fail(at, path, 'write present: false instead of present inside not')
      if (!isScalar(node) || typeof node.value !== 'boolean') return y.fail(at, path, 'expected true or false')
      return { op, value: node.value }
    case 'glob': {
      const patterns = listItems(y, node, path).map((n, i) => {
        const p = scalarText(y, n, `${path}[${i}]`, 'a glob pattern')
        if (p === '') y.fail(n, `${path}[${i}]`, 'an empty pattern matches only an empty value; write empty: true for that')
        return p
      })
      if (patterns.length === 0) y.fail(at, path, 'expected at least one pattern')
      return { op, patterns }
    }
    case 'allUnder': case 'anyOutside': {
      const paths = listItems(y, node, path).map((n, i) => {
        const p = scalarText(y, n, `${path}[${i}]`, 'an absolute path')
        if (!p.startsWith('/')) y.fail(n, `${path}[${i}]`, `expected an absolute path, not "${p}"`)
        return p
      })
      if (paths.length === 0) y.fail(at, path, 'expected at least one path')
      return { op, paths }
    }
    case 'min': case 'max':
      return { op, value: number(y, node, at, path, spec) }
    case 'not':
      if (inNot) y.fail(at, path, 'not inside not: write the conditions directly')
      return { op, conditions: parseConditions(y, node, at, path, spec, true) }
  }
}

function number (y: YamlFile, node: Node | null, at: Node, path: string, spec: ValueSpec): number {
  if (!isScalar(node) || typeof node.value !== 'number' || !Number.isFinite(node.value)) return y.fail(at, path, `expected a number for ${spec.subject}`)
  return node.value
}

function article (kind: FactKind): string {
  return kind === 'list' ? 'a list' : kind === 'boolean' ? 'a boolean' : `a ${kind}`
}

// Names people use for operations whose Engine API operationId differs (docker CLI verbs, docs titles).
const MISNAMED_OPERATIONS: Readonly<Record<string, string>> = Object.assign(Object.create(null) as Record<string, string>, {
  ExecCreate: 'ContainerExec',
  ContainerRemove: 'ContainerDelete',
  ContainerCopy: 'ContainerArchive',
  ImagePull: 'ImageCreate',
  ImageImport: 'ImageCreate',
  ImageRemove: 'ImageDelete',
  ImageSave: 'ImageGet'
})

/** ` (did you mean X?)` for a near miss: same name in another case, or at most two edits away. */
function hint (name: string, known: readonly string[]): string {
  const lower = name.toLowerCase()
  let best: string | undefined
  let bestDistance = 3
  for (const k of known) {
    if (k.toLowerCase() === lower) return ` (did you mean ${k}?)`
    const d = editDistance(lower, k.toLowerCase(), bestDistance)
    if (d < bestDistance) { best = k; bestDistance = d }
  }
  return best === undefined ? '' : ` (did you mean ${best}?)`
}

function editDistance (a: string, b: string, limit: number): number {
  if (Math.abs(a.length - b.length) >= limit) return limit
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    const cur = [i]
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1))
    }
    prev = cur
  }
  return prev[b.length]!
}
