import { test } from 'node:test'
import assert from 'node:assert/strict'
import { isUtf8 } from 'node:buffer'
import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import fc from 'fast-check'
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml'
import { ConfigError } from '../../src/core/errors.ts'
import { groupByOperation } from '../../src/decide/operation-groups.ts'
import type { Decision, PolicyInput, PolicyMode, RuleHit } from '../../src/decide/policy-input.ts'
import { compilePolicySource, loadPolicy, resolvePolicyRef } from '../../src/decide/policy-loader.ts'
import { factKinds, parsePolicyText, type FactKind } from '../../src/decide/policy-schema.ts'
import type { AuthMethod, Identity } from '../../src/identify/identity.ts'
import type { FactName, RequestFacts } from '../../src/inspect/request-facts.ts'
import { routeTable } from '../../src/route/route-table.ts'
import { fuzzParams } from './fuzz-settings.ts'

// Property tests of the policy language: the loader never fails in any way but a positioned
// ConfigError, compiled policies decide exactly as a naive evaluator of policies/README.md does,
// and the shipped `default` policy denies exactly the requests with a way to the host.
// DOCKWARD_FUZZ_RUNS and DOCKWARD_FUZZ_SEED apply (test/fuzz/fuzz-settings.ts).

const README = readFileSync(new URL('../../policies/README.md', import.meta.url), 'utf8')

// --- the documented catalog, read from the README (so the reference does not borrow the code's tables)

function readmeSection (title: string): string {
  const start = README.indexOf(`\n## ${title}\n`)
  assert.ok(start !== -1, `README has no section ${title}`)
  const end = README.indexOf('\n## ', start + 1)
  return README.slice(start, end === -1 ? undefined : end)
}

function tableRows (section: string): string[][] {
  return section.split('\n').filter((l) => l.startsWith('| `')).map((l) => l.split('|').map((c) => c.trim()))
}

/** Operation → group, from the README's operation-groups table. */
const DOC_GROUP: ReadonlyMap<string, string> = (() => {
  const out = new Map<string, string>()
  for (const cells of tableRows(readmeSection('Operation groups'))) {
    const group = cells[1]!.replaceAll('`', '')
    for (const piece of cells[2]!.split(' — ')[0]!.split(',')) {
      const op = /^[A-Z][A-Za-z]+/.exec(piece.trim())?.[0]
      if (op !== undefined) out.set(op, group)
    }
  }
  return out
})()

const KIND_WORD: Readonly<Record<string, FactKind>> = { bool: 'boolean', num: 'number', str: 'string', list: 'list' }

/** Fact → kind, from the README's fact catalog. */
const DOC_KIND: ReadonlyMap<string, FactKind> = (() => {
  const out = new Map<string, FactKind>()
  for (const cells of tableRows(readmeSection('Fact catalog'))) {
    const kind = KIND_WORD[cells[2]!]
    if (kind === undefined) continue
    for (const m of cells[1]!.matchAll(/`([A-Za-z]+)`/g)) out.set(m[1]!, kind)
  }
  return out
})()

/** The README: `allUnder` and `anyOutside` apply to these two facts only. */
const DOC_PATH_FACTS: ReadonlySet<string> = new Set(['hostPaths', 'archivePath'])

const ALL_OPS: readonly string[] = routeTable.map((r) => r.operation)
const ALIASES: ReadonlyMap<string, string> = new Map(routeTable.flatMap((r) => (r.aliases ?? []).map((a) => [a, r.operation] as const)))
const GROUPS: readonly string[] = [...new Set(DOC_GROUP.values())]
const FAMILIES: readonly string[] = [...new Set(GROUPS.filter((g) => g.includes('.')).map((g) => g.slice(0, g.indexOf('.'))))]
const FACT_NAMES = [...DOC_KIND.keys()] as FactName[]

function docKind (fact: string): FactKind {
  const k = DOC_KIND.get(fact)
  assert.ok(k !== undefined, `no documented kind for ${fact}`)
  return k
}

/** What a name under `operations:` stands for, as the README says: an operation, an alias, a group or a family. */
function refOperations (ref: string): ReadonlySet<string> {
  if (DOC_GROUP.has(ref)) return new Set([ref])
  const aliased = ALIASES.get(ref)
  if (aliased !== undefined) return new Set([aliased])
  return new Set([...DOC_GROUP].filter(([, g]) => g === ref || g.startsWith(`${ref}.`)).map(([op]) => op))
}

test('the README catalog the reference is built from agrees with the code', () => {
  assert.deepEqual(new Map([...DOC_GROUP].sort()), new Map([...groupByOperation].sort()))
  assert.deepEqual(new Set(ALL_OPS), new Set(DOC_GROUP.keys()))
  assert.deepEqual(new Map([...DOC_KIND].sort()), new Map(Object.entries(factKinds).sort()))
})

// --- a reference evaluator of the documented semantics ----------------------------------------

type Scalar = string | number | boolean
type Cond =
  | { readonly op: 'is', readonly value: Scalar }
  | { readonly op: 'oneOf' | 'noneOf' | 'anyOf', readonly values: ReadonlyArray<string | number> }
  | { readonly op: 'empty' | 'notEmpty' | 'present', readonly value: boolean }
  | { readonly op: 'glob', readonly patterns: readonly string[] }
  | { readonly op: 'allUnder' | 'anyOutside', readonly paths: readonly string[] }
  | { readonly op: 'min' | 'max', readonly value: number }
  | { readonly op: 'not', readonly conditions: readonly Cond[] }
type Op = Cond['op']

interface FactRule { readonly fact: FactName, readonly conditions: readonly Cond[], readonly bare: boolean }
interface QueryRule { readonly key: string, readonly conditions: readonly Cond[] }
interface IdentityRule {
  readonly names?: readonly string[]
  readonly tenants?: ReadonlyArray<string | null>
  readonly groups?: readonly string[]
  readonly methods?: readonly AuthMethod[]
}
interface MatchRule {
  readonly operations?: readonly string[]
  readonly identity?: IdentityRule
  readonly versions?: { readonly min?: string, readonly max?: string }
  readonly query?: readonly QueryRule[]
  readonly facts?: readonly FactRule[]
}
interface Rule {
  readonly id: string
  readonly action: 'allow' | 'deny'
  /** true only for `allow: true`. */
  readonly reason: string | true
  readonly mode?: PolicyMode
  readonly match?: MatchRule
}
interface Policy { readonly name: string, readonly mode?: PolicyMode, readonly rules: readonly Rule[] }

type FactValue = boolean | number | string | readonly string[] | undefined

/** Path cleaning as the README describes it: `..`, `.`, `//` and trailing `/` resolved. */
function refClean (p: string): { abs: boolean, segs: string[] } {
  const abs = p.startsWith('/')
  const segs: string[] = []
  for (const s of p.split('/')) {
    if (s === '' || s === '.') continue
    if (s === '..') {
      if (segs.length > 0 && segs[segs.length - 1] !== '..') segs.pop()
      else if (!abs) segs.push('..')
      continue
    }
    segs.push(s)
  }
  return { abs, segs }
}

/** "one of the prefixes or below it", by whole segments. A relative path is below no absolute prefix. */
function refUnder (path: string, prefix: string): boolean {
  const p = refClean(path)
  const b = refClean(prefix)
  if (!p.abs || !b.abs) return false
  return b.segs.length <= p.segs.length && b.segs.every((s, i) => p.segs[i] === s)
}

/**
 * Glob by backtracking over characters: `**` anything, `*` anything but `/`, `?` one character
 * but `/`, the rest literal. A character is a UTF-16 code unit here, as the compiler's RegExp (no
 * `u` flag) counts: the README's "one character" would let `?` match one astral character, which
 * the compiler does not (`?` does not match '😀'). Image names and other facts are ASCII in practice.
 */
function refGlob (pattern: string, value: string): boolean {
  type Tok = 'any' | 'seg' | 'one' | { lit: string }
  const toks: Tok[] = []
  for (let i = 0; i < pattern.length; i++) {
    if (pattern[i] === '*' && pattern[i + 1] === '*') { toks.push('any'); i++ } else if (pattern[i] === '*') toks.push('seg')
    else if (pattern[i] === '?') toks.push('one')
    else toks.push({ lit: pattern[i]! })
  }
  const memo = new Map<number, boolean>()
  const go = (t: number, v: number): boolean => {
    const key = t * (value.length + 1) + v
    const known = memo.get(key)
    if (known !== undefined) return known
    let r: boolean
    if (t === toks.length) r = v === value.length
    else {
      const tok = toks[t]!
      if (tok === 'any') {
        r = false
        for (let k = v; k <= value.length && !r; k++) r = go(t + 1, k)
      } else if (tok === 'seg') {
        r = false
        for (let k = v; k <= value.length && !r; k++) {
          r = go(t + 1, k)
          if (value[k] === '/') break
        }
      } else if (tok === 'one') r = v < value.length && value[v] !== '/' && go(t + 1, v + 1)
      else r = value[v] === tok.lit && go(t + 1, v + 1)
    }
    memo.set(key, r)
    return r
  }
  return go(0, 0)
}

function refCond (c: Cond, v: FactValue): boolean {
  if (v === undefined) {
    // Only the three conditions that ask for nothing hold on an absent fact.
    if (c.op === 'noneOf') return true
    if (c.op === 'empty') return c.value
    if (c.op === 'notEmpty' || c.op === 'present') return !c.value
    return false
  }
  const list = Array.isArray(v) ? v as readonly string[] : null
  switch (c.op) {
    case 'is': return v === c.value
    case 'oneOf': return list !== null ? list.every((e) => c.values.includes(e)) : c.values.includes(v as string | number)
    case 'noneOf': return list !== null ? !list.some((e) => c.values.includes(e)) : !c.values.includes(v as string | number)
    case 'anyOf': return list!.some((e) => c.values.includes(e))
    case 'empty': return ((v as string | readonly string[]).length === 0) === c.value
    case 'notEmpty': return ((v as string | readonly string[]).length !== 0) === c.value
    case 'glob': {
      const one = (s: string): boolean => c.patterns.some((p) => refGlob(p, s))
      return list !== null ? list.every(one) : one(v as string)
    }
    case 'allUnder': {
      const under = (s: string): boolean => c.paths.some((p) => refUnder(s, p))
      return list !== null ? list.every(under) : under(v as string)
    }
    case 'anyOutside': {
      const outside = (s: string): boolean => !c.paths.some((p) => refUnder(s, p))
      return list !== null ? list.some(outside) : outside(v as string)
    }
    case 'min': return (v as number) >= c.value
    case 'max': return (v as number) <= c.value
    case 'present': return c.value
    case 'not': return !c.conditions.every((x) => refCond(x, v))
  }
}

function versionTuple (v: string): [number, number] {
  const [a, b] = v.split('.')
  return [Number(a), Number(b)]
}

function versionLe (a: string, b: string): boolean {
  const [a1, a2] = versionTuple(a)
  const [b1, b2] = versionTuple(b)
  return a1 < b1 || (a1 === b1 && a2 <= b2)
}

/** A request without a version is the engine's newest: above every min, and above every max. */
function refVersionIn (v: string | null, range: { readonly min?: string, readonly max?: string }): boolean {
  if (v === null) return range.max === undefined
  return (range.min === undefined || versionLe(range.min, v)) && (range.max === undefined || versionLe(v, range.max))
}

function refMatches (rule: Rule, input: PolicyInput): boolean {
  const m = rule.match
  if (m === undefined) return true
  if (m.operations !== undefined && !m.operations.some((ref) => refOperations(ref).has(input.operation))) return false
  const id = m.identity
  if (id?.names !== undefined && !id.names.includes(input.identity.name)) return false
  if (id?.tenants !== undefined && !id.tenants.includes(input.identity.tenant)) return false
  if (id?.groups !== undefined && !input.identity.groups.some((g) => id.groups!.includes(g))) return false
  if (id?.methods !== undefined && !id.methods.includes(input.identity.method)) return false
  if (m.versions !== undefined && !refVersionIn(input.version, m.versions)) return false
  for (const q of m.query ?? []) {
    const v = Object.hasOwn(input.query, q.key) ? input.query[q.key] : undefined
    if (!q.conditions.every((c) => refCond(c, v))) return false
  }
  for (const f of m.facts ?? []) {
    if (!f.conditions.every((c) => refCond(c, input.facts[f.fact]))) return false
  }
  return true
}

interface RefDecision { allow: boolean, wouldDeny: boolean, ruleId: string, reason: string | null, trail: RuleHit[] }

/** First matching rule decides; audit-only deny rules are recorded and skipped; an audit-only policy allows all. */
function refDecide (p: Policy, input: PolicyInput): RefDecision {
  const auditPolicy = p.mode === 'audit-only'
  const audits: Rule[] = []
  let decided: Rule | null = null
  for (const r of p.rules) {
    if (!refMatches(r, input)) continue
    if (r.action === 'deny' && r.mode === 'audit-only') { audits.push(r); continue }
    decided = r
    break
  }
  const decidedAllow = decided?.action === 'allow'
  const allow = auditPolicy || decidedAllow
  const hit = (r: Rule): RuleHit => ({ ruleId: r.id, action: r.action, mode: auditPolicy ? 'audit-only' : r.mode ?? 'enforce', reason: r.reason === true ? `allowed by rule ${r.id}` : r.reason })
  return {
    allow,
    // Let through only because of an audit-only rule or policy.
    wouldDeny: allow && (!decidedAllow || audits.length > 0),
    ruleId: decided?.id ?? 'default-deny',
    reason: decided === null ? null : decided.reason === true ? `allowed by rule ${decided.id}` : decided.reason,
    trail: [...audits, ...(decided === null ? [] : [decided])].map(hit)
  }
}

// --- writing generated policies as YAML ----------------------------------------------------------

/** Text written into the YAML as is (unquoted versions, anchors and aliases). */
class Raw {
  readonly text: string
  constructor (text: string) { this.text = text }
}
type Y = Raw | string | number | boolean | null | Y[] | { [k: string]: Y }
type Plain = string | number | boolean | null | Plain[] | { [k: string]: Plain }

function condsY (conds: readonly Cond[]): Y {
  const out: Record<string, Y> = {}
  for (const c of conds) {
    switch (c.op) {
      case 'oneOf': case 'noneOf': case 'anyOf': out[c.op] = [...c.values]; break
      case 'glob': out[c.op] = [...c.patterns]; break
      case 'allUnder': case 'anyOutside': out[c.op] = [...c.paths]; break
      case 'not': out[c.op] = condsY(c.conditions); break
      default: out[c.op] = c.value
    }
  }
  return out
}

/** The policy as a YAML value; `flow` adds what only hand-written text can say (raw versions, anchors). */
function policyY (p: Policy, flow: boolean, rawVersions: boolean): Y {
  const anchors = new Map<string, { name: string, uses: number }>()
  if (flow) {
    for (const r of p.rules) {
      const key = JSON.stringify(r.match?.operations)
      if (r.match?.operations === undefined) continue
      const a = anchors.get(key) ?? { name: `ops${anchors.size}`, uses: 0 }
      a.uses++
      anchors.set(key, a)
    }
  }
  const emitted = new Set<string>()
  const version = (v: string): Y => rawVersions ? new Raw(v) : v
  const rules = p.rules.map((r): Y => {
    const rule: Record<string, Y> = { id: r.id, [r.action]: r.reason }
    if (r.mode !== undefined) rule.mode = r.mode
    const m = r.match
    if (m !== undefined) {
      const match: Record<string, Y> = {}
      if (m.operations !== undefined) {
        const key = JSON.stringify(m.operations)
        const a = anchors.get(key)
        if (a !== undefined && a.uses > 1) {
          match.operations = new Raw(emitted.has(key) ? `*${a.name}` : `&${a.name} ${emitFlow([...m.operations])}`)
          emitted.add(key)
        } else match.operations = [...m.operations]
      }
      if (m.identity !== undefined) {
        const id: Record<string, Y> = {}
        if (m.identity.names !== undefined) id.names = [...m.identity.names]
        if (m.identity.tenants !== undefined) id.tenants = [...m.identity.tenants]
        if (m.identity.groups !== undefined) id.groups = [...m.identity.groups]
        if (m.identity.methods !== undefined) id.methods = [...m.identity.methods]
        match.identity = id
      }
      if (m.versions !== undefined) {
        const v: Record<string, Y> = {}
        if (m.versions.min !== undefined) v.min = version(m.versions.min)
        if (m.versions.max !== undefined) v.max = version(m.versions.max)
        match.versions = v
      }
      if (m.query !== undefined) match.query = Object.fromEntries(m.query.map((q) => [q.key, condsY(q.conditions)]))
      if (m.facts !== undefined) {
        match.facts = Object.fromEntries(m.facts.map((f) => {
          const only = f.conditions[0]
          // The shorthand: a bare scalar is `is`.
          if (f.bare && f.conditions.length === 1 && only?.op === 'is') return [f.fact, only.value]
          return [f.fact, condsY(f.conditions)]
        }))
      }
      rule.match = match
    }
    return rule
  })
  const doc: Record<string, Y> = { policy: p.name, version: 1 }
  if (p.mode !== undefined) doc.mode = p.mode
  doc.rules = rules
  return doc
}

function emitFlow (v: Y): string {
  if (v instanceof Raw) return v.text
  if (v === null) return '~'
  if (typeof v === 'string') return JSON.stringify(v)
  if (typeof v === 'number' || typeof v === 'boolean') return JSON.stringify(v)
  if (Array.isArray(v)) return `[${v.map(emitFlow).join(', ')}]`
  return `{ ${Object.entries(v).map(([k, x]) => `${JSON.stringify(k)}: ${emitFlow(x)}`).join(', ')} }`
}

function toPlain (v: Y): Plain {
  if (v instanceof Raw) return v.text
  if (Array.isArray(v)) return v.map(toPlain)
  if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, toPlain(x)]))
  return v
}

// --- generators -----------------------------------------------------------------------------------

const STRINGS = ['', 'a', 'b', 'ab', 'a/b', 'a.b', 'runc', 'host', 'tmpfs', 'local', '1.40', 'true', '[a]', '(x)', 'x\ny', 'ä', '😀', 'a😀', 'docker.io/library/busybox:latest', 'docker.io/library/a/b']
const strArb: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...STRINGS) },
  { weight: 1, arbitrary: fc.string({ unit: fc.constantFrom('a', 'b', '/', '.', '*', '?', '😀'), maxLength: 4 }) }
)
const pathArb: fc.Arbitrary<string> = fc.tuple(
  fc.boolean(),
  fc.array(fc.constantFrom('', '.', '..', 'srv', 'ci', 'cix', 'etc', 'a'), { maxLength: 4 }),
  fc.boolean()
).map(([abs, segs, trailing]) => `${abs ? '/' : ''}${segs.join('/')}${trailing ? '/' : ''}`)
const absPathArb: fc.Arbitrary<string> = pathArb.map((p) => p.startsWith('/') ? p : `/${p}`)
const numArb: fc.Arbitrary<number> = fc.oneof(
  fc.constantFrom(0, 1, -1, 2, 1.5, 1024, 4294967297, 1e21),
  fc.integer({ min: -3, max: 3 })
)
const globArb: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom('*', '**', '?', 'a*', '*b', '?b', 'a?', 'docker.io/library/*', 'docker.io/**', '/srv/**', '/srv/*', '[a]', 'a.b', '(x)', '😀', '?😀', 'a?', '***', 'x?y'),
  fc.string({ unit: fc.constantFrom('a', 'b', '/', '.', '*', '?', '😀'), minLength: 1, maxLength: 5 })
)
const VERSIONS = ['0.0', '1.0', '1.9', '1.10', '1.24', '1.25', '1.40', '1.41', '1.43', '1.56', '2.0', '10.0', '1.100', '9999.9999']
const NAMES = ['ci', 'alice', 'bob', 'anonymous', '__proto__']
const TENANTS: ReadonlyArray<string | null> = ['team-a', 'team-b', null]
const IDENTITY_GROUPS = ['dev', 'ops', 'ci']
const METHODS: readonly AuthMethod[] = ['anonymous', 'mtls', 'jwt', 'token', 'socket']
const QUERY_KEYS = ['networkmode', 'name', 'force', 'constructor', '__proto__']
const OPERATION_REFS = [...ALL_OPS, ...ALIASES.keys(), ...GROUPS, ...FAMILIES]

/** The operators the README's condition table allows on a value of this kind. */
function operatorsFor (kind: FactKind, path: boolean, inNot: boolean): Op[] {
  const ops: Op[] = []
  if (kind !== 'list') ops.push('is')
  if (kind !== 'boolean') ops.push('oneOf', 'noneOf')
  if (kind === 'list') ops.push('anyOf')
  if (kind === 'string' || kind === 'list') ops.push('empty', 'notEmpty', 'glob')
  if (path) ops.push('allUnder', 'anyOutside')
  if (kind === 'number') ops.push('min', 'max')
  // `present` and `not` inside `not` are load errors (the README does not say so; the loader does).
  if (!inNot) ops.push('present', 'not')
  return ops
}

function elemArb (kind: FactKind, path: boolean): fc.Arbitrary<string | number> {
  if (kind === 'number') return numArb
  return path ? fc.oneof(pathArb, strArb) : strArb
}

function condArb (op: Op, kind: FactKind, path: boolean): fc.Arbitrary<Cond> {
  switch (op) {
    case 'is':
      return (kind === 'boolean' ? fc.boolean() : kind === 'number' ? numArb : path ? pathArb : strArb).map((value) => ({ op, value }))
    case 'oneOf': case 'noneOf': case 'anyOf':
      return fc.array(elemArb(kind, path), { minLength: 1, maxLength: 4 }).map((values) => ({ op, values }))
    case 'empty': case 'notEmpty': case 'present':
      return fc.boolean().map((value) => ({ op, value }))
    case 'glob':
      return fc.array(globArb, { minLength: 1, maxLength: 3 }).map((patterns) => ({ op, patterns }))
    case 'allUnder': case 'anyOutside':
      return fc.array(absPathArb, { minLength: 1, maxLength: 3 }).map((paths) => ({ op, paths }))
    case 'min': case 'max':
      return numArb.map((value) => ({ op, value }))
    case 'not':
      return condsArb(kind, path, true).map((conditions) => ({ op, conditions }))
  }
}

function condsArb (kind: FactKind, path: boolean, inNot = false): fc.Arbitrary<Cond[]> {
  return fc.uniqueArray(fc.constantFrom(...operatorsFor(kind, path, inNot)), { minLength: 1, maxLength: 3 })
    .chain((ops) => fc.tuple(...ops.map((op) => condArb(op, kind, path))))
    .map((conds) => {
      // min above max is a load error ("could never match"): order the two bounds.
      const bound = (op: 'min' | 'max'): { op: 'min' | 'max', value: number } | undefined =>
        conds.find((c): c is { op: 'min' | 'max', value: number } => c.op === op)
      const min = bound('min')
      const max = bound('max')
      if (min === undefined || max === undefined || min.value <= max.value) return conds
      return conds.map((c) => c.op === 'min' ? { op: 'min' as const, value: max.value } : c.op === 'max' ? { op: 'max' as const, value: min.value } : c)
    })
}

// Every fact, and more often one of each kind (the path facts have the most operators).
const factNameArb: fc.Arbitrary<FactName> = fc.oneof(
  { weight: 2, arbitrary: fc.constantFrom(...FACT_NAMES) },
  { weight: 1, arbitrary: fc.constantFrom<FactName>('hostPaths', 'archivePath', 'privileged', 'image', 'memory', 'capAdd') }
)
const factRulesArb: fc.Arbitrary<FactRule[]> = fc.uniqueArray(factNameArb, { minLength: 1, maxLength: 3 })
  .chain((facts) => fc.tuple(...facts.map((fact) =>
    fc.tuple(condsArb(docKind(fact), DOC_PATH_FACTS.has(fact)), fc.boolean()).map(([conditions, bare]): FactRule => ({ fact, conditions, bare })))))

const queryRulesArb: fc.Arbitrary<QueryRule[]> = fc.uniqueArray(fc.constantFrom(...QUERY_KEYS), { minLength: 1, maxLength: 2 })
  .chain((keys) => fc.tuple(...keys.map((key) => condsArb('list', false).map((conditions): QueryRule => ({ key, conditions })))))

const identityRuleArb: fc.Arbitrary<IdentityRule> = fc.record({
  names: fc.uniqueArray(fc.constantFrom(...NAMES), { minLength: 1, maxLength: 2 }),
  tenants: fc.uniqueArray(fc.constantFrom(...TENANTS), { minLength: 1, maxLength: 2 }),
  groups: fc.uniqueArray(fc.constantFrom(...IDENTITY_GROUPS), { minLength: 1, maxLength: 2 }),
  methods: fc.uniqueArray(fc.constantFrom(...METHODS), { minLength: 1, maxLength: 2 })
}, { requiredKeys: [] })

const versionRangeArb = fc.record({ min: fc.constantFrom(...VERSIONS), max: fc.constantFrom(...VERSIONS) }, { requiredKeys: [] })
  .map((r) => r.min !== undefined && r.max !== undefined && !versionLe(r.min, r.max) ? { min: r.max, max: r.min } : r)

/** `arb` in about `percent`% of the values, else undefined (fc.option cannot go below one half). */
function sometimes<T> (percent: number, arb: fc.Arbitrary<T>): fc.Arbitrary<T | undefined> {
  return fc.oneof({ weight: 100 - percent, arbitrary: fc.constant(undefined) }, { weight: percent, arbitrary: arb })
}

// Sparse: every key ANDs, so a rule with all of them would almost never match a random request.
const matchArb: fc.Arbitrary<MatchRule> = fc.tuple(
  sometimes(35, fc.oneof(
    fc.uniqueArray(fc.constantFrom(...OPERATION_REFS), { minLength: 1, maxLength: 4 }),
    // A few short lists, so rules share them and the flow writer uses anchors.
    fc.constantFrom(['containers'], ['ContainerCreate'], ['exec', 'ContainerCreate'], ['ContainerGetArchive', 'images.read'])
  )),
  sometimes(30, identityRuleArb),
  sometimes(20, versionRangeArb),
  sometimes(20, queryRulesArb),
  sometimes(75, factRulesArb)
).map(([operations, identity, versions, query, facts]): MatchRule => ({
  ...(operations === undefined ? {} : { operations }),
  ...(identity === undefined ? {} : { identity }),
  ...(versions === undefined ? {} : { versions }),
  ...(query === undefined ? {} : { query }),
  ...(facts === undefined ? {} : { facts })
}))

const ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,8}$/
const reasonArb = fc.oneof(fc.constantFrom('no', 'not here', 'because: reasons', '# not a comment', 'yes'), fc.stringMatching(/^[a-z][a-z ]{0,8}[a-z]$/))

const ruleBodyArb = fc.record({
  action: fc.constantFrom('allow' as const, 'deny' as const),
  reason: reasonArb,
  allowTrue: fc.boolean(),
  mode: fc.constantFrom(undefined, 'enforce' as const, 'audit-only' as const),
  match: fc.option(matchArb, { nil: undefined })
})

const policyArb: fc.Arbitrary<Policy> = fc.record({
  name: fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._-]{0,8}$/),
  mode: fc.constantFrom(undefined, 'enforce' as const, 'audit-only' as const),
  // Short policies often, so that each condition gets to decide.
  bodies: fc.oneof(fc.array(ruleBodyArb, { minLength: 1, maxLength: 3 }), fc.array(ruleBodyArb, { maxLength: 8 }))
}).chain(({ name, mode, bodies }) =>
  fc.uniqueArray(fc.stringMatching(ID).filter((id) => id !== 'default-deny'), { minLength: bodies.length, maxLength: bodies.length })
    .map((ids): Policy => ({
      name,
      ...(mode === undefined ? {} : { mode }),
      rules: bodies.map((b, i): Rule => {
        // audit-only on an allow rule is a load error.
        const mode = b.action === 'allow' && b.mode === 'audit-only' ? undefined : b.mode
        return {
          id: ids[i]!,
          action: b.action,
          reason: b.action === 'allow' && b.allowTrue ? true : b.reason,
          ...(mode === undefined ? {} : { mode }),
          ...(b.match === undefined ? {} : { match: b.match })
        }
      })
    })))

function factValueArb (fact: FactName): fc.Arbitrary<FactValue> {
  const kind = docKind(fact)
  const path = DOC_PATH_FACTS.has(fact)
  if (kind === 'boolean') return fc.boolean()
  if (kind === 'number') return numArb
  if (kind === 'string') return path ? pathArb : strArb
  return fc.array(path ? pathArb : strArb, { maxLength: 4 })
}

const factsArb: fc.Arbitrary<RequestFacts> = fc.record(
  Object.fromEntries(FACT_NAMES.map((f) => [f, factValueArb(f)])) as Record<FactName, fc.Arbitrary<FactValue>>,
  { requiredKeys: [] }
) as fc.Arbitrary<RequestFacts>

const identityArb: fc.Arbitrary<Identity> = fc.record({
  name: fc.constantFrom(...NAMES),
  tenant: fc.constantFrom(...TENANTS),
  groups: fc.uniqueArray(fc.constantFrom(...IDENTITY_GROUPS), { maxLength: 3 }),
  method: fc.constantFrom(...METHODS)
})

const inputVersionArb: fc.Arbitrary<string | null> = fc.oneof(
  fc.constant(null),
  fc.constantFrom(...VERSIONS),
  fc.tuple(fc.nat(12), fc.nat(120)).map(([a, b]) => `${a}.${b}`)
)

// Object.fromEntries: a `__proto__` parameter is an own property, as the gateway's parsed query has.
const queryArb: fc.Arbitrary<Record<string, string[]>> = fc.uniqueArray(
  fc.tuple(fc.constantFrom(...QUERY_KEYS), fc.array(strArb, { minLength: 1, maxLength: 3 })),
  { selector: ([k]) => k, maxLength: 3 }
).map((pairs) => Object.fromEntries(pairs))

// Now and then an operation the route table does not have: only rules without `operations` apply.
const operationArb = fc.oneof({ weight: 9, arbitrary: fc.constantFrom(...ALL_OPS) }, { weight: 1, arbitrary: fc.constantFrom('SomethingNew', 'constructor') })

const inputArb: fc.Arbitrary<PolicyInput> = fc.record({
  identity: identityArb,
  operation: operationArb,
  version: inputVersionArb,
  query: queryArb,
  facts: factsArb
}).map((r) => makeInput(r.operation, r.facts, r))

function makeInput (operation: string, facts: RequestFacts, more: { identity?: Identity, version?: string | null, query?: Record<string, string[]> } = {}): PolicyInput {
  const route = routeTable.find((r) => r.operation === operation)
  return {
    identity: more.identity ?? { name: 'anonymous', tenant: null, groups: [], method: 'anonymous' },
    operation,
    method: route?.method ?? 'POST',
    path: route?.template ?? '/x',
    version: more.version === undefined ? '1.41' : more.version,
    params: {},
    query: more.query ?? {},
    body: undefined,
    facts,
    listener: 'unix:///run/dockward.sock'
  }
}

/** Where a policy's conditions look: `fact:<name>` or `query:<key>`. */
interface Probes { readonly strings: Set<string>, readonly numbers: Set<number> }

/** Values near a glob's edges: shortest and longer expansions, `*` across `/`, `?` as `/` or an astral character, `.` not a dot. */
function globProbes (pattern: string): string[] {
  const expand = (any: string, seg: string, one: string): string => pattern.replace(/\*\*|\*|\?/g, (m) => m === '**' ? any : m === '*' ? seg : one)
  const plain = expand('', '', 'q')
  return [plain, expand('a/b', 'ab', 'z'), expand('a/b', 'a/b', '/'), expand('', '', '😀'), plain.replaceAll('.', 'x'), plain + 'x', plain.slice(1)]
}

function pathProbes (prefix: string): string[] {
  const p = prefix.endsWith('/') ? prefix.slice(0, -1) : prefix
  return [prefix, `${p}/sub`, `${p}x`, `${p}/../etc`, `${p}/./a//`, '/', p.slice(0, -1), 'relative']
}

function collectProbes (conds: readonly Cond[], into: Probes): void {
  for (const c of conds) {
    switch (c.op) {
      case 'is':
        if (typeof c.value === 'number') into.numbers.add(c.value)
        else if (typeof c.value === 'string') into.strings.add(c.value)
        break
      case 'oneOf': case 'noneOf': case 'anyOf':
        for (const v of c.values) {
          if (typeof v === 'number') into.numbers.add(v)
          else into.strings.add(v)
        }
        break
      case 'glob': for (const g of c.patterns) for (const v of globProbes(g)) into.strings.add(v); break
      case 'allUnder': case 'anyOutside': for (const q of c.paths) for (const v of pathProbes(q)) into.strings.add(v); break
      case 'min': case 'max': for (const d of [-1, -0.5, 0, 0.5, 1]) into.numbers.add(c.value + d); break
      case 'not': collectProbes(c.conditions, into); break
      default:
    }
  }
}

function policyProbes (p: Policy): Map<string, Probes> {
  const out = new Map<string, Probes>()
  const at = (k: string): Probes => {
    let v = out.get(k)
    if (v === undefined) out.set(k, v = { strings: new Set(), numbers: new Set() })
    return v
  }
  for (const r of p.rules) {
    for (const f of r.match?.facts ?? []) collectProbes(f.conditions, at(`fact:${f.fact}`))
    for (const q of r.match?.query ?? []) collectProbes(q.conditions, at(`query:${q.key}`))
  }
  return out
}

/** Requests aimed at the policy: its operations, and fact values at the edges of its conditions. */
function inputArbFor (p: Policy): fc.Arbitrary<PolicyInput> {
  const probes = policyProbes(p)
  const ops = [...new Set(p.rules.flatMap((r) => (r.match?.operations ?? []).flatMap((ref) => [...refOperations(ref)])))]
  const strs = (k: string, fallback: fc.Arbitrary<string>): fc.Arbitrary<string> => {
    const s = [...probes.get(k)?.strings ?? []]
    return s.length === 0 ? fallback : fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...s) }, { weight: 1, arbitrary: fallback })
  }
  const model: Record<string, fc.Arbitrary<FactValue>> = {}
  for (const fact of FACT_NAMES) {
    const key = `fact:${fact}`
    if (!probes.has(key)) { model[fact] = sometimes(30, factValueArb(fact)); continue }
    const kind = docKind(fact)
    const nums = [...probes.get(key)!.numbers]
    const generic = DOC_PATH_FACTS.has(fact) ? pathArb : strArb
    const value: fc.Arbitrary<FactValue> = kind === 'boolean' ? fc.boolean()
      : kind === 'number' ? (nums.length === 0 ? numArb : fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...nums) }, { weight: 1, arbitrary: numArb }))
        : kind === 'string' ? strs(key, generic)
          : fc.array(strs(key, generic), { maxLength: 3 })
    model[fact] = sometimes(85, value)
  }
  const queryKeys = QUERY_KEYS.map((k) => fc.tuple(fc.constant(k), sometimes(probes.has(`query:${k}`) ? 80 : 20, fc.array(strs(`query:${k}`, strArb), { maxLength: 3 }))))
  return fc.record({
    identity: identityArb,
    operation: ops.length === 0 ? operationArb : fc.oneof(fc.constantFrom(...ops), operationArb),
    version: inputVersionArb,
    query: fc.tuple(...queryKeys).map((pairs) => Object.fromEntries(pairs.filter((kv): kv is [string, string[]] => kv[1] !== undefined))),
    facts: fc.record(model).map((f) => Object.fromEntries(Object.entries(f).filter(([, v]) => v !== undefined)) as RequestFacts)
  }).map((r) => makeInput(r.operation, r.facts, r))
}

// --- 1. the loader: a positioned ConfigError or a policy, nothing else ------------------------------

/** Long enough that only a hang (or a quadratic blow-up on bounded input) trips it. */
const HANG_MS = 5000

const SMOKE_INPUTS: readonly PolicyInput[] = [
  makeInput('ContainerCreate', { privileged: true, hostPaths: ['/srv/../etc'], image: 'docker.io/library/busybox:latest', memory: 5, capAdd: [] }),
  makeInput('SystemPing', {}, { version: null }),
  makeInput('SomethingNew', { archivePath: 'relative' }, { query: Object.fromEntries([['__proto__', ['x']], ['networkmode', ['host']]]) })
]

function assertPositioned (err: unknown, file: string, text: string | null): void {
  if (!(err instanceof ConfigError)) throw new assert.AssertionError({ message: `not a ConfigError: ${String(err)}\n${(err as Error | undefined)?.stack ?? ''}` })
  assert.ok(err.message.startsWith(`${file}:`), `no file prefix: ${err.message}`)
  const m = /^(\d+):(\d+): /.exec(err.message.slice(file.length + 1))
  if (m === null) {
    // The one error without a place in the file (policy-loader.ts documents it).
    assert.equal(text, null, `no line:col: ${err.message}`)
    assert.equal(err.message, `${file}: policy file is not UTF-8 text`)
    return
  }
  const line = Number(m[1])
  const col = Number(m[2])
  assert.ok(line >= 1 && col >= 1, `position ${line}:${col}`)
  if (text !== null) assert.ok(line <= text.split('\n').length, `line ${line} beyond the ${text.split('\n').length} lines: ${err.message}`)
}

/** Parse and compile text (and its bytes); on success decide a few requests. */
function checkLoad (source: string | Uint8Array, file = 'fuzz.yaml'): 'ok' | 'error' {
  const started = performance.now()
  let outcome: 'ok' | 'error' = 'ok'
  if (typeof source === 'string') {
    try {
      const doc = parsePolicyText(source, file)
      const ids = new Set([...doc.rules.map((r) => r.id), 'default-deny'])
      assert.equal(ids.size, doc.rules.length + 1, 'duplicate rule ids were accepted')
    } catch (err) {
      assertPositioned(err, file, source)
      outcome = 'error'
    }
  }
  const bytes = typeof source === 'string' ? Buffer.from(source, 'utf8') : Buffer.from(source)
  try {
    const policy = compilePolicySource(bytes, file)
    assert.ok(isUtf8(bytes), 'a file that is not UTF-8 was loaded')
    for (const input of SMOKE_INPUTS) {
      const d = policy.decide(input)
      assert.equal(typeof d.allow, 'boolean')
    }
  } catch (err) {
    // Lone surrogates become U+FFFD in the bytes, so the bytes may load where the string did not.
    assertPositioned(err, file, typeof source === 'string' ? bytes.toString('utf8') : null)
    outcome = 'error'
  }
  const ms = performance.now() - started
  assert.ok(ms < HANG_MS, `loading took ${ms.toFixed(0)} ms`)
  return outcome
}

const YAML_TOKENS = [
  'policy', 'version', 'rules', 'mode', 'id', 'allow', 'deny', 'match', 'facts', 'operations', 'identity', 'versions',
  'query', 'privileged', 'hostPaths', 'not', 'oneOf', 'is', 'present', 'min', 'max', ':', ': ', '\n', '\n  ', '\n    ',
  '- ', '[', ']', '{', '}', ',', '&a ', '*a', '<<: ', '!!js/function ', '!!binary ', '!!set ', '!!omap ', '!!str ',
  '!!int ', '!!float ', '!!timestamp ', '!<tag:yaml.org,2002:js/undefined> ', '%YAML 1.1\n---\n', '---\n', '...\n',
  '? ', '|\n', '>\n', '"', "'", '#', '~', 'null', 'true', '1', '1.40', '0x1', '0o7', '.nan', '.inf', '-.inf', '1e400',
  '2001-12-14', 'ContainerCreate', 'containers', 'audit-only', 'enforce', '\t', '\r', '\u0000', '\uFEFF', 'é', '😀',
  '@', '`', '%', '\\', '\\u0000', '__proto__', 'constructor'
]
const tokensText = fc.array(fc.constantFrom(...YAML_TOKENS), { maxLength: 60 }).map((t) => t.join(''))
const HEADER = 'policy: p\nversion: 1\nrules:\n'

// One `match:` of a rule with a wrong or odd value in a place the loader must check.
const VALUE_SNIPPETS = ['', '~', '1', '0', '-1.5', '.nan', '.inf', '1e400', '0x10', 'true', '"x"', "''", '/srv', 'a', '[]', '[a, 1, ~]', '[[a]]', '{}',
  '{ is }', '{ min }', '{ not }', '{ not: { present: false } }', '{ not: { not: { is: 1 } } }', '{ min: 5, max: 1 }', '{ oneOf: [] }',
  '{ glob: [""] }', '{ allUnder: [relative] }', '*a', '&a [x]', '!!binary aGk=', '!!set { a }', '!!omap [ a: 1 ]', '!!js/function "f"',
  '!!str 1.40', '!!float 1', '1.40', '9999.9999', '10000.0', '1.041', '"1.4"', 'audit-only', 'ContainerCreate', 'containers.', '{ a: 1, a: 2 }']
const OPERATOR_NAMES = ['is', 'oneOf', 'noneOf', 'anyOf', 'empty', 'notEmpty', 'glob', 'allUnder', 'anyOutside', 'min', 'max', 'present', 'not', 'in', 'oneof', '__proto__', 'constructor', '""']
const snippet = fc.constantFrom(...VALUE_SNIPPETS)
const matchFragment: fc.Arbitrary<string> = fc.oneof(
  fc.tuple(fc.constantFrom(...FACT_NAMES, 'privilegd', '__proto__'), fc.constantFrom(...OPERATOR_NAMES), snippet)
    .chain(([f, op, v]) => fc.constantFrom(`facts: { ${f}: { ${op}: ${v} } }`, `facts: { ${f}: ${v} }`, `facts: { ${f}: { ${op} } }`, `facts:\n        ${f}:\n          ${op}: ${v}`)),
  fc.tuple(fc.constantFrom('names', 'tenants', 'groups', 'methods', 'name'), snippet).map(([k, v]) => `identity: { ${k}: ${v} }`),
  fc.tuple(snippet, snippet).map(([a, b]) => `versions: { min: ${a}, max: ${b} }`),
  fc.tuple(fc.constantFrom('networkmode', '__proto__', ''), fc.constantFrom(...OPERATOR_NAMES), snippet).map(([k, op, v]) => `query: { ${k}: { ${op}: ${v} } }`),
  snippet.map((v) => `operations: ${v}`),
  // `{ min }`: a key whose value node is missing altogether.
  fc.tuple(fc.constantFrom('memory', 'privileged', 'image', 'hostPaths', 'capAdd'), fc.constantFrom(...OPERATOR_NAMES)).map(([f, op]) => `facts: { ${f}: { ${op} } }`)
)

test('property 1a: the loader on arbitrary text gives a policy or a positioned ConfigError', (t) => {
  const params = fuzzParams(400)
  const runs = params.numRuns ?? 400
  const started = performance.now()
  fc.assert(fc.property(fc.oneof(
    fc.string({ maxLength: 200 }),
    fc.string({ unit: 'binary', maxLength: 200 }),
    tokensText,
    tokensText.map((s) => HEADER + s),
    tokensText.map((s) => `${HEADER}  - id: r\n    deny: x\n    match:\n      ${s}`),
    fc.array(matchFragment, { minLength: 1, maxLength: 3 }).map((m) => `${HEADER}  - id: r\n    deny: x\n    match:\n      ${m.join('\n      ')}\n`)
  ), (text) => { checkLoad(text) }), { ...params, includeErrorInReport: true })
  const byteRuns = Math.ceil(runs / 4)
  fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => { checkLoad(bytes) }), { ...params, numRuns: byteRuns })
  // A valid policy with one byte sequence that is not UTF-8 in a comment: refused, not decoded with U+FFFD.
  const invalid = fc.constantFrom([0xff], [0xc3], [0xed, 0xa0, 0x80], [0xf8, 0x88, 0x80, 0x80, 0x80], [0xc0, 0xaf])
  fc.assert(fc.property(invalid, fc.nat(), (seq, at) => {
    const text = Buffer.from(`${HEADER}  - id: r\n    allow: true\n`)
    const cut = text.indexOf('\n', at % text.length)
    const bytes = Buffer.concat([text.subarray(0, cut), Buffer.from(' # '), Buffer.from(seq), text.subarray(cut)])
    assert.throws(() => compilePolicySource(bytes, 'f.yaml'), (err) => err instanceof ConfigError && err.message === 'f.yaml: policy file is not UTF-8 text')
  }), { ...params, numRuns: byteRuns })
  t.diagnostic(`${runs + 2 * byteRuns} runs in ${(performance.now() - started).toFixed(0)} ms`)
})

// Mutations of valid policies, applied to the YAML value before it is written.
type MutationKind = 'drop' | 'rename' | 'retype' | 'unknownFact' | 'unknownOp' | 'unknownOperator' | 'dupRule' | 'hugeList' | 'deep' | 'longString'
interface Mutation { readonly kind: MutationKind, readonly at: number, readonly pick: number, readonly junk: Plain, readonly name: string }

const KEY_JUNK = ['', '<<', '__proto__', 'constructor', 'toString', 'privilegd', 'Policy', 'rule', 'ids', 'operation', 'oneof', 'ONEOF', 'Not', 'x'.repeat(300), '1', 'true', 'null', '~', '? x', '- x', 'a: b', '#c', '&a', '*a', '!!js/function']
const UNKNOWN_OPS = ['ContainerCreat', 'containerCreate', 'ExecCreate', 'ImagePull', 'containers.', '.read', 'containers.*', '*', '', 'constructor', '__proto__', 'Containers', 'system', 'registry.read', 'toString']
const UNKNOWN_FACTS = ['privilegd', 'Privileged', 'hostpaths', '__proto__', 'constructor', 'toString', 'hasOwnProperty', '', 'x'.repeat(1000)]
const UNKNOWN_OPERATORS = ['in', 'oneof', 'equals', 'regex', 'constructor', '__proto__', 'Not', 'is ', '', 'valueOf']

const junkArb: fc.Arbitrary<Plain> = fc.oneof(
  fc.constantFrom<Plain>(null, true, false, 0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 1e400, '', 'x', '~', '1.40', '0x1', [], {}, [[[]]], { a: { b: 1 } }, 'x'.repeat(5000)),
  fc.string({ maxLength: 20 }),
  fc.jsonValue({ maxDepth: 3 }) as fc.Arbitrary<Plain>
)

const mutationArb: fc.Arbitrary<Mutation> = fc.record({
  kind: fc.constantFrom<MutationKind>('drop', 'rename', 'retype', 'unknownFact', 'unknownOp', 'unknownOperator', 'dupRule', 'hugeList', 'deep', 'longString'),
  at: fc.nat(),
  pick: fc.nat(),
  junk: junkArb,
  name: fc.oneof(fc.constantFrom(...KEY_JUNK, ...UNKNOWN_OPS, ...UNKNOWN_FACTS, ...UNKNOWN_OPERATORS), fc.string({ maxLength: 12 }))
})

interface Container { readonly node: Plain[] | { [k: string]: Plain }, readonly key: string | null }

function containers (v: Plain, key: string | null, out: Container[] = []): Container[] {
  if (Array.isArray(v)) {
    out.push({ node: v, key })
    for (const x of v) containers(x, key, out)
  } else if (v !== null && typeof v === 'object') {
    out.push({ node: v, key })
    for (const [k, x] of Object.entries(v)) containers(x, k, out)
  }
  return out
}

/** Replace or rename a mapping's entries keeping own properties (`__proto__` stays a key). */
function rebuild (obj: { [k: string]: Plain }, entries: Array<[string, Plain]>): void {
  for (const k of Object.keys(obj)) delete obj[k]
  for (const [k, v] of entries) Object.defineProperty(obj, k, { value: v, enumerable: true, writable: true, configurable: true })
}

function applyMutation (root: { [k: string]: Plain }, given: Mutation): void {
  // A copy: junk from fc.constantFrom is one shared object across runs, and inserting it where a
  // later mutation pushes into it made it contain itself (a cycle the 100,000-run pass found).
  const m = { ...given, junk: structuredClone(given.junk) }
  const all = containers(root, null)
  const pickFrom = <T>(xs: readonly T[]): T | undefined => xs.length === 0 ? undefined : xs[m.at % xs.length]
  const maps = all.filter((c) => !Array.isArray(c.node)) as Array<{ node: { [k: string]: Plain }, key: string | null }>
  const lists = all.filter((c) => Array.isArray(c.node)) as Array<{ node: Plain[], key: string | null }>
  switch (m.kind) {
    case 'drop': case 'rename': case 'retype': case 'deep': case 'longString': {
      const c = pickFrom(all)
      if (c === undefined) return
      if (Array.isArray(c.node)) {
        if (c.node.length === 0) { c.node.push(m.junk); return }
        const i = m.pick % c.node.length
        if (m.kind === 'drop' || m.kind === 'rename') c.node.splice(i, 1)
        else c.node[i] = mutateValue(c.node[i]!, m)
        return
      }
      const entries = Object.entries(c.node)
      if (entries.length === 0) { rebuild(c.node, [[m.name, m.junk]]); return }
      const i = m.pick % entries.length
      if (m.kind === 'drop') entries.splice(i, 1)
      else if (m.kind === 'rename') entries[i] = [m.name, entries[i]![1]]
      else entries[i] = [entries[i]![0], mutateValue(entries[i]![1], m)]
      rebuild(c.node, entries)
      return
    }
    case 'unknownFact': case 'unknownOperator': {
      const where = m.kind === 'unknownFact' ? maps.filter((c) => c.key === 'facts') : maps.filter((c) => c.key !== null && DOC_KIND.has(c.key))
      const c = pickFrom(where)
      if (c !== undefined) rebuild(c.node, [...Object.entries(c.node), [m.name, m.junk]])
      return
    }
    case 'unknownOp': {
      const c = pickFrom(lists.filter((l) => l.key === 'operations'))
      if (c !== undefined) c.node.splice(m.pick % (c.node.length + 1), 0, pickFrom(UNKNOWN_OPS)!)
      return
    }
    case 'dupRule': {
      const rules = root.rules
      if (Array.isArray(rules) && rules.length > 0) rules.push(structuredClone(rules[m.pick % rules.length]!))
      return
    }
    case 'hugeList': {
      const c = pickFrom(lists)
      if (c === undefined) return
      // Scalars only: a shared subtree would multiply every later mutation of it.
      const first = c.node[0] ?? m.junk
      const item = first !== null && typeof first === 'object' ? m.name : typeof first === 'string' ? first.slice(0, 50) : first
      const n = 100 + (m.pick % 1500)
      c.node.push(...Array.from({ length: n }, (_, i) => i % 2 === 0 ? item : `${m.name.slice(0, 20)}${i}`))
    }
  }
}

function mutateValue (v: Plain, m: Mutation): Plain {
  if (m.kind === 'deep') {
    let out = v
    for (let i = 0; i < 1 + (m.pick % 300); i++) out = i % 2 === 0 ? [out] : { x: out }
    return out
  }
  if (m.kind === 'longString') {
    // Bounded: up to 30k characters, whatever the string repeated.
    const base = typeof v === 'string' && v !== '' ? v : m.name === '' ? 'x' : m.name
    const length = 1000 + (m.pick % 30000)
    return base.repeat(Math.ceil(length / base.length)).slice(0, length)
  }
  return m.junk
}

interface TextEdit { readonly kind: 'insert' | 'delete' | 'dupLine' | 'keyOnly', readonly at: number, readonly len: number, readonly token: string }
const textEditArb: fc.Arbitrary<TextEdit> = fc.record({
  kind: fc.constantFrom('insert' as const, 'delete' as const, 'dupLine' as const, 'keyOnly' as const),
  at: fc.nat(),
  len: fc.nat(40),
  token: fc.constantFrom(...YAML_TOKENS)
})

function applyTextEdit (text: string, e: TextEdit): string {
  const at = text.length === 0 ? 0 : e.at % text.length
  if (e.kind === 'insert') return text.slice(0, at) + e.token + text.slice(at)
  if (e.kind === 'delete') return text.slice(0, at) + text.slice(at + e.len)
  if (e.kind === 'keyOnly') {
    // `{"min": 1}` → `{"min"}`: a key whose value node is missing altogether (null, not a null scalar).
    const values = [...text.matchAll(/: ?("[^"\n]*"|-?[0-9.e+]+|true|false|null)(?=[,}])/g)]
    const v = values[e.at % Math.max(1, values.length)]
    return v === undefined ? text : text.slice(0, v.index) + text.slice(v.index + v[0].length)
  }
  const lines = text.split('\n')
  const i = e.at % lines.length
  lines.splice(i, 0, lines[i]!)
  return lines.join('\n')
}

const SHIPPED_PLAIN: readonly Plain[] = ['default', 'read-only', 'admin'].map((n) => parseYaml(readFileSync(resolvePolicyRef(n), 'utf8')) as Plain)

test('property 1b: the loader on mutated valid policies gives a policy or a positioned ConfigError', (t) => {
  const params = fuzzParams(120)
  const runs = params.numRuns ?? 120
  const started = performance.now()
  let errors = 0
  fc.assert(fc.property(
    fc.oneof(fc.constantFrom(...SHIPPED_PLAIN), policyArb.map((p) => toPlain(policyY(p, false, false)))),
    fc.array(mutationArb, { minLength: 1, maxLength: 4 }),
    fc.constantFrom('block' as const, 'json' as const),
    fc.array(textEditArb, { maxLength: 3 }),
    (base, mutations, style, edits) => {
      const doc = structuredClone(base) as { [k: string]: Plain }
      for (const m of mutations) applyMutation(doc, m)
      let text = style === 'json' ? JSON.stringify(doc) : stringifyYaml(doc)
      for (const e of edits) text = applyTextEdit(text, e)
      if (checkLoad(text) === 'error') errors++
    }), { ...params, includeErrorInReport: true })
  t.diagnostic(`${runs} runs (${errors} load errors) in ${(performance.now() - started).toFixed(0)} ms`)
})

// Each documented load error, put into a valid policy: refused, naming the key, at the line that has it.
type RejectKind = 'unknownFact' | 'unknownOp' | 'wrongOperator' | 'bareList' | 'dupId' | 'denyNoReason' | 'invertedVersions' | 'badVersion'
  | 'unknownRuleKey' | 'unknownMatchKey' | 'unknownIdentityKey' | 'unknownMethod' | 'auditAllow' | 'bothActions' | 'formatVersion' | 'unknownTopKey' | 'dupKey'
interface Reject { readonly kind: RejectKind, readonly i: number, readonly j: number, readonly name: string, readonly fact: FactName, readonly op: Op }
interface Expected { readonly key: string, readonly token: string, readonly dupLine?: string }

const NOT_OPERATIONS = ['ContainerCreat', 'containerCreate', 'ExecCreate', 'ImagePull', 'containers.', 'containers.*', 'Containers', 'registry.read', 'toString', 'constructor', '__proto__']
const BAD_VERSIONS = ['1.x', 'v1.41', '1.041', '01.4', '1', '1.2.3', '-1.0', '1.', '.5', '10000.0']
const ALL_OPERATORS: readonly Op[] = ['is', 'oneOf', 'noneOf', 'anyOf', 'empty', 'notEmpty', 'glob', 'allUnder', 'anyOutside', 'min', 'max', 'present', 'not']

const rejectArb: fc.Arbitrary<Reject> = fc.record({
  kind: fc.constantFrom<RejectKind>('unknownFact', 'unknownOp', 'wrongOperator', 'bareList', 'dupId', 'denyNoReason', 'invertedVersions', 'badVersion',
    'unknownRuleKey', 'unknownMatchKey', 'unknownIdentityKey', 'unknownMethod', 'auditAllow', 'bothActions', 'formatVersion', 'unknownTopKey', 'dupKey'),
  i: fc.nat(),
  j: fc.nat(),
  name: fc.constantFrom('privilegd', 'Privileged', 'hostpaths', 'toString', 'constructor', 'imag', 'ids', 'Match', 'when', 'description'),
  fact: fc.constantFrom(...FACT_NAMES),
  op: fc.constantFrom(...ALL_OPERATORS)
})

function setKey (obj: { [k: string]: Plain }, key: string, value: Plain): void {
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true })
}

/** Puts one documented error into rule `r.i` of `doc` (which has at least one rule); what the error must name. */
function applyReject (doc: { [k: string]: Plain }, r: Reject): Expected {
  const rules = doc.rules as Array<{ [k: string]: Plain }>
  const i = r.i % rules.length
  const rule = rules[i]!
  const at = `rules[${i}]`
  const match = (): { [k: string]: Plain } => (rule.match ??= {}) as { [k: string]: Plain }
  const sub = (key: string): { [k: string]: Plain } => {
    const m = match()
    return (m[key] ??= {}) as { [k: string]: Plain }
  }
  switch (r.kind) {
    case 'unknownFact':
      setKey(sub('facts'), r.name, true)
      return { key: `${at}.match.facts.${r.name}`, token: r.name }
    case 'unknownOp': {
      const name = NOT_OPERATIONS[r.j % NOT_OPERATIONS.length]!
      assert.equal(refOperations(name).size, 0)
      const ops = (match().operations ??= []) as Plain[]
      ops.push(name)
      return { key: `${at}.match.operations[${ops.length - 1}]`, token: name }
    }
    case 'wrongOperator': {
      const kind = docKind(r.fact)
      const allowed = operatorsFor(kind, DOC_PATH_FACTS.has(r.fact), false)
      const wrong = ALL_OPERATORS.filter((o) => !allowed.includes(o))
      if (wrong.length === 0) return applyReject(doc, { ...r, kind: 'unknownFact' })
      const op = wrong[r.j % wrong.length]!
      setKey(sub('facts'), r.fact, { [op]: ['x'] })
      return { key: `${at}.match.facts.${r.fact}.${op}`, token: op }
    }
    case 'bareList': {
      const lists = FACT_NAMES.filter((f) => docKind(f) === 'list')
      const fact = lists[r.j % lists.length]!
      setKey(sub('facts'), fact, 'x')
      return { key: `${at}.match.facts.${fact}`, token: fact }
    }
    case 'dupId': {
      if (rules.length < 2) return applyReject(doc, { ...r, kind: 'unknownRuleKey' })
      const later = 1 + (r.j % (rules.length - 1))
      const earlier = r.i % later
      const id = rules[earlier]!.id as string
      rules[later]!.id = id
      return { key: `rules[${later}].id`, token: id }
    }
    case 'denyNoReason': {
      delete rule.allow
      rule.deny = ([' ', '', null, true, 1] as Plain[])[r.j % 5]!
      delete rule.mode
      return { key: `${at}.deny`, token: 'deny' }
    }
    case 'invertedVersions': {
      const a = VERSIONS[r.j % VERSIONS.length]!
      const b = VERSIONS.find((v) => !versionLe(a, v))
      if (b === undefined) return applyReject(doc, { ...r, kind: 'badVersion' })
      match().versions = { min: a, max: b }
      return { key: `${at}.match.versions.max`, token: b }
    }
    case 'badVersion': {
      const v = BAD_VERSIONS[r.j % BAD_VERSIONS.length]!
      match().versions = { min: v }
      return { key: `${at}.match.versions.min`, token: v }
    }
    case 'unknownRuleKey':
      setKey(rule, r.name, 1)
      return { key: `${at}.${r.name}`, token: r.name }
    case 'unknownMatchKey':
      setKey(match(), r.name, 1)
      return { key: `${at}.match.${r.name}`, token: r.name }
    case 'unknownIdentityKey':
      setKey(sub('identity'), r.name, ['x'])
      return { key: `${at}.match.identity.${r.name}`, token: r.name }
    case 'unknownMethod':
      sub('identity').methods = ['password']
      return { key: `${at}.match.identity.methods[0]`, token: 'password' }
    case 'auditAllow':
      delete rule.deny
      rule.allow = true
      rule.mode = 'audit-only'
      return { key: `${at}.mode`, token: 'audit-only' }
    case 'bothActions': {
      // The second of the two is the one refused.
      const second = Object.hasOwn(rule, 'allow') ? 'deny' : 'allow'
      setKey(rule, second, second === 'deny' ? 'no' : true)
      return { key: `${at}.${second}`, token: second }
    }
    case 'formatVersion': {
      const v = ([2, 0, -1, '1', 'one', 1.5, true] as Plain[])[r.j % 7]!
      doc.version = v
      return { key: 'version', token: 'version' }
    }
    case 'unknownTopKey':
      setKey(doc, r.name, 1)
      return { key: r.name, token: r.name }
    case 'dupKey':
      return { key: 'invalid YAML', token: 'id', dupLine: `${at}` }
  }
}

test('property 1c: every documented load error is refused, naming the key at its line', (t) => {
  const params = fuzzParams(300)
  const runs = params.numRuns ?? 300
  const started = performance.now()
  fc.assert(fc.property(policyArb.filter((p) => p.rules.length > 0), rejectArb, (policy, reject) => {
    const doc = toPlain(policyY(policy, false, false)) as { [k: string]: Plain }
    const want = applyReject(doc, reject)
    let text = stringifyYaml(doc)
    if (want.dupLine !== undefined) {
      // Repeat the rule's `id:` line: a duplicate key.
      const lines = text.split('\n')
      const rule = Number(/\d+/.exec(want.dupLine)![0])
      const idLines = lines.flatMap((l, n) => /^ {2}- id: /.test(l) ? [n] : [])
      const n = idLines[rule]!
      lines.splice(n + 1, 0, lines[n]!.replace('- id:', '  id:'))
      text = lines.join('\n')
    }
    let err: unknown = null
    try { parsePolicyText(text, 'bad.yaml') } catch (e) { err = e }
    assert.ok(err instanceof ConfigError, `accepted (${reject.kind}):\n${text}`)
    assertPositioned(err, 'bad.yaml', text)
    const m = /^bad\.yaml:(\d+):(\d+): (.*)$/s.exec(err.message)!
    assert.ok(m[3]!.startsWith(`${want.key}: `), `${reject.kind}: expected key ${want.key}, got: ${err.message}\n${text}`)
    // The key's line, or the first line of its value (a block list starts on the next line).
    const lines = text.split('\n').slice(Math.max(0, Number(m[1]) - 2), Number(m[1]))
    assert.ok(lines.some((l) => l.includes(want.token)), `${reject.kind}: line ${m[1]} is ${JSON.stringify(lines.at(-1))}, not the one with ${want.token}: ${err.message}\n${text}`)
  }), { ...params, includeErrorInReport: true })
  t.diagnostic(`${runs} runs in ${(performance.now() - started).toFixed(0)} ms`)
})

// --- 2. compiled closures against the reference evaluator ----------------------------------------

function sameDecision (got: Decision, want: RefDecision, policy: Policy, input: PolicyInput, text: string): void {
  const gotView = { allow: got.allow, wouldDeny: got.wouldDeny, ruleId: got.ruleId, reason: want.reason === null ? null : got.reason, trail: got.trail.map((h) => ({ ...h })) }
  assert.deepEqual(gotView, want, `decision differs from the reference\npolicy:\n${text}\ninput: ${JSON.stringify({ ...input, query: Object.entries(input.query) })}`)
  const ids = new Set([...policy.rules.map((r) => r.id), 'default-deny'])
  assert.ok(ids.has(got.ruleId), `ruleId ${got.ruleId} is not a rule of the policy`)
}

test('property 2: compiled policies decide as the reference evaluator of the README', (t) => {
  const params = fuzzParams(300)
  const runs = params.numRuns ?? 300
  const started = performance.now()
  let decisions = 0
  let allows = 0
  fc.assert(fc.property(
    policyArb.chain((policy) => fc.tuple(
      fc.constant(policy),
      fc.array(fc.oneof({ weight: 4, arbitrary: inputArbFor(policy) }, { weight: 1, arbitrary: inputArb }), { minLength: 1, maxLength: 30, size: 'max' })
    )),
    fc.constantFrom('flow' as const, 'block' as const),
    fc.boolean(),
    ([policy, inputs], style, rawVersions) => {
      const text = style === 'flow' ? emitFlow(policyY(policy, true, rawVersions)) + '\n' : stringifyYaml(toPlain(policyY(policy, false, false)))
      const bytes = Buffer.from(text, 'utf8')
      const compiled = compilePolicySource(bytes, 'gen.yaml')
      assert.equal(compiled.digest, createHash('sha256').update(bytes).digest('hex'))
      assert.equal(compiled.ruleCount, policy.rules.length)
      for (const input of inputs) {
        const got = compiled.decide(input)
        assert.equal(got.policyDigest, compiled.digest)
        const want = refDecide(policy, input)
        sameDecision(got, want, policy, input, text)
        decisions++
        if (got.allow) allows++
      }
    }), { ...params, includeErrorInReport: true })
  t.diagnostic(`${runs} policies, ${decisions} decisions (${allows} allowed) in ${(performance.now() - started).toFixed(0)} ms`)
})

test('property 2 (examples): reference semantics the generators reach only by chance', () => {
  const p = (rules: string): ReturnType<typeof compilePolicySource> => compilePolicySource(Buffer.from(`policy: t\nversion: 1\nrules:\n${rules}`), 't.yaml')
  const deny = (facts: string): ReturnType<typeof compilePolicySource> => p(`  - id: d\n    deny: x\n    match: { facts: { ${facts} } }\n  - id: ok\n    allow: true\n`)
  const create = (facts: RequestFacts): PolicyInput => makeInput('ContainerCreate', facts)
  // `?` is one character but not `/`; `**` crosses `/`; `*` does not.
  assert.equal(deny('image: { glob: [\'a?\'] }').decide(create({ image: 'ab' })).ruleId, 'd')
  assert.equal(deny('image: { glob: [\'a?\'] }').decide(create({ image: 'a/' })).ruleId, 'ok')
  assert.equal(deny('image: { glob: [\'a/**\'] }').decide(create({ image: 'a/b/c' })).ruleId, 'd')
  assert.equal(deny('image: { glob: [\'a/*\'] }').decide(create({ image: 'a/b/c' })).ruleId, 'ok')
  // Paths compare by whole segments after cleaning.
  assert.equal(deny('hostPaths: { anyOutside: [/srv/ci] }').decide(create({ hostPaths: ['/srv/ci/../../etc'] })).ruleId, 'd')
  assert.equal(deny('hostPaths: { anyOutside: [/srv/ci] }').decide(create({ hostPaths: ['/srv/cix'] })).ruleId, 'd')
  assert.equal(deny('hostPaths: { anyOutside: [/srv/ci] }').decide(create({ hostPaths: ['/srv/ci/a'] })).ruleId, 'ok')
  // Versions: 1.40 unquoted stays 1.40; a request without a version is the newest.
  const v = p('  - id: old\n    allow: true\n    match: { versions: { max: 1.40 } }\n')
  assert.equal(v.decide(makeInput('SystemPing', {}, { version: '1.40' })).ruleId, 'old')
  assert.equal(v.decide(makeInput('SystemPing', {}, { version: '1.41' })).ruleId, 'default-deny')
  assert.equal(v.decide(makeInput('SystemPing', {}, { version: null })).ruleId, 'default-deny')
  // `tenants: [~]` is "no tenant".
  const tn = p('  - id: none\n    allow: true\n    match: { identity: { tenants: [~] } }\n')
  assert.equal(tn.decide(makeInput('SystemPing', {})).ruleId, 'none')
  assert.equal(tn.decide(makeInput('SystemPing', {}, { identity: { name: 'a', tenant: 'team-a', groups: [], method: 'mtls' } })).ruleId, 'default-deny')
})

// --- 3 and 4. the shipped default policy against its documented intent ----------------------------

const defaultPolicy = loadPolicy('default')

/** The groups `allow-developer-work` names: system.read, registry, containers, exec, images, build, volumes, networks. */
function developerOperation (op: string): boolean {
  const g = DOC_GROUP.get(op) ?? ''
  return ['system.read', 'registry', 'exec', 'build'].includes(g) || /^(containers|images|volumes|networks)\./.test(g)
}

const ALLOWED_NET_OPTIONS = ['com.docker.network.driver.mtu', 'com.docker.network.bridge.enable_icc', 'com.docker.network.bridge.enable_ip_masquerade', 'com.docker.network.container_iface_prefix']

type Query = Readonly<Record<string, readonly string[]>>
const nonEmpty = (l: readonly string[] | undefined): boolean => l !== undefined && l.length > 0
const outside = (v: string | undefined, ok: readonly string[]): boolean => v !== undefined && !ok.includes(v)

/**
 * Every way to the host the default policy means to close, in the policy's order, written from
 * its README paragraph and the comments of default.yaml (not from its conditions).
 */
const DEFAULT_DENIALS: ReadonlyArray<readonly [string, (f: RequestFacts, op: string, q: Query) => boolean]> = [
  ['deny-privileged', (f) => f.privileged === true],
  ['deny-host-paths', (f) => nonEmpty(f.hostPaths)],
  ['deny-volume-mounts', (f) => (f.volumeMounts ?? []).some((m) => m !== 'tmpfs')],
  ['deny-volume-drivers', (f) => (f.volumeDrivers ?? []).some((d) => d !== '' && d !== 'local')],
  ['deny-capabilities', (f) => nonEmpty(f.capAdd)],
  ['deny-devices', (f) => nonEmpty(f.devices)],
  ['deny-device-requests', (f) => nonEmpty(f.deviceRequests)],
  ['deny-device-cgroup-rules', (f) => nonEmpty(f.deviceCgroupRules)],
  ['deny-build-host-network', (_f, op, q) => op === 'ImageBuild' && (q.networkmode ?? []).includes('host')],
  ['deny-host-namespaces', (f) => nonEmpty(f.hostNamespaces)],
  ['deny-unconfined', (f) => nonEmpty(f.unconfined)],
  ['deny-sysctls', (f) => nonEmpty(f.sysctls)],
  ['deny-cgroup-parent', (f) => outside(f.cgroupParent, [''])],
  ['deny-runtime', (f) => outside(f.runtime, ['', 'runc'])],
  ['deny-log-driver', (f) => outside(f.logDriver, ['', 'json-file', 'local', 'journald', 'none'])],
  ['deny-remote-build-context', (f) => outside(f.remoteContext, ['', 'client-session'])],
  ['deny-import-url', (f) => outside(f.importSource, ['', '-'])],
  ['deny-network-driver', (f) => outside(f.networkDriver, ['', 'bridge'])],
  ['deny-network-options', (f) => (f.networkOptions ?? []).some((o) => !o.includes('=') || !ALLOWED_NET_OPTIONS.includes(o.slice(0, o.indexOf('='))))],
  ['deny-plugins', (_f, op) => (DOC_GROUP.get(op) ?? '').startsWith('plugins.')],
  ['deny-swarm', (_f, op) => /^(swarm$|nodes\.|services\.|tasks\.|secrets\.|configs\.)/.test(DOC_GROUP.get(op) ?? '')]
]

/** What the default policy should decide: the first way to the host, or allow-developer-work. */
function defaultIntent (input: PolicyInput): { allow: boolean, ruleId: string } {
  for (const [ruleId, holds] of DEFAULT_DENIALS) if (holds(input.facts, input.operation, input.query)) return { allow: false, ruleId }
  return developerOperation(input.operation) ? { allow: true, ruleId: 'allow-developer-work' } : { allow: false, ruleId: 'default-deny' }
}

// Facts each operation carries, from the README's catalog (the † operations carry the reached-container set).
const CREATE_FACTS: readonly FactName[] = ['image', 'user', 'privileged', 'hostPaths', 'volumeMounts', 'namedVolumes', 'volumeDrivers', 'volumesFrom', 'capAdd', 'capDrop', 'devices', 'deviceRequests', 'deviceCgroupRules', 'pidMode', 'ipcMode', 'utsMode', 'networkMode', 'usernsMode', 'cgroupnsMode', 'hostNamespaces', 'containerNamespaces', 'securityOpt', 'unconfined', 'sysctls', 'cgroupParent', 'runtime', 'portHostIps', 'hostPorts', 'publishAllPorts', 'memory', 'memorySwap', 'nanoCpus', 'cpuShares', 'cpuQuota', 'pidsLimit', 'shmSize', 'oomKillDisable', 'oomScoreAdj', 'ulimits', 'logDriver', 'extraHosts', 'reachedContainers']
const REACHED: readonly FactName[] = ['privileged', 'hostPaths', 'volumeMounts', 'hostNamespaces', 'capAdd', 'devices', 'deviceRequests', 'deviceCgroupRules', 'unconfined', 'reachedContainers']
const SERVICE_FACTS: readonly FactName[] = ['image', 'user', 'hostPaths', 'volumeMounts', 'namedVolumes', 'volumeDrivers', 'capAdd', 'capDrop', 'hostNamespaces', 'unconfined', 'sysctls', 'runtime', 'portHostIps', 'hostPorts', 'memory', 'nanoCpus', 'pidsLimit', 'ulimits', 'logDriver', 'extraHosts']
const PLUGIN_FACTS: readonly FactName[] = ['image', 'hostPaths', 'capAdd', 'devices', 'hostNamespaces', 'pluginPrivileges']
const CARRIES: Readonly<Record<string, readonly FactName[]>> = {
  ContainerCreate: CREATE_FACTS,
  ContainerUpdate: ['devices', 'deviceRequests', 'deviceCgroupRules', 'cgroupParent', 'memory', 'memorySwap', 'nanoCpus', 'cpuShares', 'cpuQuota', 'pidsLimit', 'oomKillDisable', 'ulimits'],
  ContainerExec: [...REACHED, 'user'],
  ExecStart: REACHED,
  ContainerAttach: REACHED,
  ContainerAttachWebsocket: REACHED,
  ContainerArchive: REACHED,
  ContainerArchiveInfo: REACHED,
  PutContainerArchive: [...REACHED, 'archivePath'],
  ContainerExport: REACHED,
  VolumeCreate: ['hostPaths', 'volumeMounts', 'volumeDrivers'],
  ImageBuild: ['tags', 'networkMode', 'hostNamespaces', 'containerNamespaces', 'securityOpt', 'cgroupParent', 'memory', 'memorySwap', 'cpuShares', 'cpuQuota', 'shmSize', 'ulimits', 'extraHosts', 'remoteContext', 'buildArgs', 'buildKit', 'reachedContainers'],
  ImageCreate: ['image', 'tags', 'user', 'importSource'],
  ImageCommit: ['tags', 'user'],
  ImageTag: ['tags'],
  NetworkConnect: ['sysctls'],
  NetworkCreate: ['networkDriver', 'networkOptions'],
  ServiceCreate: SERVICE_FACTS,
  ServiceUpdate: SERVICE_FACTS,
  PluginPull: PLUGIN_FACTS,
  PluginUpgrade: PLUGIN_FACTS,
  PluginSet: ['hostPaths', 'devices'],
  SecretCreate: ['secretDriver', 'templatingDriver'],
  ConfigCreate: ['secretDriver', 'templatingDriver']
}

const l = <T>(arb: fc.Arbitrary<T>, minLength = 0): fc.Arbitrary<T[]> => fc.array(arb, { minLength, maxLength: 3 })
const mixedList = (safe: readonly string[], bad: readonly string[]): fc.Arbitrary<string[]> =>
  fc.tuple(l(fc.constantFrom(...safe)), l(fc.constantFrom(...bad), 1)).chain(([s, b]) => fc.shuffledSubarray([...s, ...b], { minLength: s.length + b.length }))
const hostPathArb = fc.constantFrom('/', '/etc', '/srv/ci', '/var/run/docker.sock', '/proc', '/home/u/.ssh', '')

/** Values of the facts with a way to the host: [safe, dangerous]. */
const ESCAPES: Readonly<Partial<Record<FactName, readonly [fc.Arbitrary<unknown>, fc.Arbitrary<unknown>]>>> = {
  privileged: [fc.constant(false), fc.constant(true)],
  hostPaths: [fc.constant([]), l(hostPathArb, 1)],
  volumeMounts: [l(fc.constant('tmpfs')), mixedList(['tmpfs'], ['nfs', 'ext4', 'xfs', '', 'TMPFS', 'tmpfs ', 'bind'])],
  volumeDrivers: [l(fc.constantFrom('', 'local')), mixedList(['', 'local'], ['rexray', 'Local', 'local ', 'nfs', 'convoy'])],
  capAdd: [fc.constant([]), l(fc.constantFrom('CAP_SYS_ADMIN', 'ALL', 'CAP_NET_ADMIN', 'CAP_CHOWN', ''), 1)],
  devices: [fc.constant([]), l(fc.constantFrom('/dev/sda', '/dev/mem', 'ALL', 'nvidia.com/gpu=all'), 1)],
  deviceRequests: [fc.constant([]), l(fc.constantFrom('default', 'nvidia'), 1)],
  deviceCgroupRules: [fc.constant([]), l(fc.constantFrom('a *:* rwm', 'c 1:3 mr'), 1)],
  hostNamespaces: [fc.constant([]), fc.uniqueArray(fc.constantFrom('pid', 'ipc', 'uts', 'network', 'userns', 'cgroupns'), { minLength: 1 })],
  unconfined: [fc.constant([]), fc.uniqueArray(fc.constantFrom('seccomp', 'apparmor', 'label', 'systempaths', 'cgroups'), { minLength: 1 })],
  sysctls: [fc.constant([]), l(fc.constantFrom('net.ipv4.ip_forward', 'kernel.msgmax'), 1)],
  cgroupParent: [fc.constant(''), fc.constantFrom('/', 'system.slice', 'x', ' ')],
  runtime: [fc.constantFrom('', 'runc'), fc.constantFrom('runsc', 'kata', 'nvidia', 'RUNC', 'runc ', 'io.containerd.runc.v2', ' ')],
  logDriver: [fc.constantFrom('', 'json-file', 'local', 'journald', 'none'), fc.constantFrom('syslog', 'gelf', 'fluentd', 'splunk', 'awslogs', 'JSON-FILE', 'json-file ', 'etwlogs')],
  remoteContext: [fc.constantFrom('', 'client-session'), fc.constantFrom('https://x/y.git', 'git://a/b', 'http://169.254.169.254/', 'client-session ', ' ', 'CLIENT-SESSION', '-')],
  importSource: [fc.constantFrom('', '-'), fc.constantFrom('http://x/y.tar', 'https://a', 'file:///etc/passwd', '--', '- ')],
  networkDriver: [fc.constantFrom('', 'bridge'), fc.constantFrom('macvlan', 'ipvlan', 'overlay', 'host', 'null', 'Bridge', 'bridge ')],
  networkOptions: [
    l(fc.tuple(fc.constantFrom(...ALLOWED_NET_OPTIONS), fc.constantFrom('1500', 'true', 'false', 'eth', '')).map(([n, v]) => `${n}=${v}`)),
    mixedList(['com.docker.network.driver.mtu=1500'], ['com.docker.network.bridge.name=docker0', 'com.docker.network.bridge.host_binding_ipv4=0.0.0.0', 'com.docker.network.bridge.gateway_mode_ipv4=routed', 'com.docker.network.driver.mtu', 'com.docker.network.driver.mtux=1', 'COM.DOCKER.NETWORK.DRIVER.MTU=1'])
  ]
}

/** Facts that give nothing of the host, with values as the extractor makes them. */
const HARMLESS: Readonly<Partial<Record<FactName, fc.Arbitrary<unknown>>>> = {
  image: fc.constantFrom('docker.io/library/busybox:latest', 'ghcr.io/a/b:1', 'sha256:abc'),
  user: fc.constantFrom('', 'root', '1000:1000'),
  tags: l(fc.constantFrom('docker.io/library/a:latest', 'r.example/x:1')),
  namedVolumes: l(fc.constantFrom('data', 'cache')),
  volumesFrom: l(fc.constantFrom('web', 'db')),
  capDrop: l(fc.constantFrom('ALL', 'CAP_NET_RAW')),
  pidMode: fc.constantFrom('', 'container:web'),
  ipcMode: fc.constantFrom('', 'private', 'shareable', 'container:web'),
  utsMode: fc.constant(''),
  networkMode: fc.constantFrom('', 'bridge', 'default', 'none', 'container:web', 'my-net'),
  usernsMode: fc.constant(''),
  cgroupnsMode: fc.constantFrom('', 'private'),
  containerNamespaces: l(fc.constantFrom('web', 'db')),
  securityOpt: l(fc.constantFrom('no-new-privileges=true', 'label=level:s0:c100')),
  portHostIps: l(fc.constantFrom('0.0.0.0', '127.0.0.1', '::')),
  hostPorts: l(fc.constantFrom('', '8080', '80')),
  publishAllPorts: fc.boolean(),
  memory: fc.constantFrom(0, 1 << 20, 4294967297),
  memorySwap: fc.constantFrom(0, -1),
  nanoCpus: fc.constantFrom(0, 1e9),
  cpuShares: fc.constantFrom(0, 512),
  cpuQuota: fc.constantFrom(0, 50000),
  pidsLimit: fc.constantFrom(0, 100, -1),
  shmSize: fc.constantFrom(0, 67108864),
  oomKillDisable: fc.boolean(),
  oomScoreAdj: fc.constantFrom(0, 500, -500),
  ulimits: l(fc.constantFrom('nofile', 'nproc')),
  extraHosts: l(fc.constantFrom('db:10.0.0.2', 'host.docker.internal:host-gateway')),
  buildArgs: l(fc.constantFrom('HTTP_PROXY', 'VERSION')),
  buildKit: fc.boolean(),
  reachedContainers: l(fc.constantFrom('web', 'db')),
  archivePath: fc.constantFrom('/', '/tmp', '/app/../etc'),
  pluginPrivileges: l(fc.constantFrom('network', 'mount', 'capabilities')),
  secretDriver: fc.constantFrom(''),
  templatingDriver: fc.constantFrom('')
}

const buildQueryArb: [fc.Arbitrary<Record<string, string[]>>, fc.Arbitrary<Record<string, string[]>>] = [
  fc.constantFrom({}, { networkmode: ['bridge'] }, { networkmode: ['default'] }, { networkmode: ['none'] }, { networkmode: ['container:web'] }, { networkmode: ['HOST'] }),
  fc.constantFrom({ networkmode: ['host'] }, { networkmode: ['bridge', 'host'] }, { networkmode: ['host', 'host'] })
]

function escapeFactsOf (op: string): FactName[] {
  return (CARRIES[op] ?? []).filter((f) => ESCAPES[f] !== undefined)
}

/** Each escape the operation can carry, by name; the build's host-network query counts as one. */
function escapeSlotsOf (op: string): string[] {
  return [...escapeFactsOf(op), ...(op === 'ImageBuild' ? ['query'] : [])]
}

/**
 * A request of `op` with every fact it carries; `dangerous` says which escape slots get a value
 * with a way to the host, all others a safe one.
 */
function requestArb (op: string, dangerous: (slots: string[]) => fc.Arbitrary<ReadonlySet<string>>): fc.Arbitrary<{ input: PolicyInput, bad: ReadonlySet<string> }> {
  const slots = escapeSlotsOf(op)
  return dangerous(slots).chain((bad) => {
    const model: Record<string, fc.Arbitrary<unknown>> = {}
    for (const f of CARRIES[op] ?? []) {
      const escape = ESCAPES[f]
      model[f] = escape !== undefined ? escape[bad.has(f) ? 1 : 0] : HARMLESS[f] ?? fc.constant(undefined)
    }
    return fc.record({
      facts: fc.record(model),
      query: op === 'ImageBuild' ? buildQueryArb[bad.has('query') ? 1 : 0] : fc.constant({}),
      identity: identityArb,
      version: inputVersionArb
    }).map((r) => ({ input: makeInput(op, r.facts as RequestFacts, { query: r.query, identity: r.identity, version: r.version }), bad }))
  })
}

const anyOpArb = fc.oneof(
  { weight: 4, arbitrary: fc.constant('ContainerCreate') },
  { weight: 4, arbitrary: fc.constantFrom(...Object.keys(CARRIES)) },
  { weight: 2, arbitrary: fc.constantFrom(...ALL_OPS) }
)

const noDanger = (): fc.Arbitrary<ReadonlySet<string>> => fc.constant(new Set<string>())
const oneDanger = (slots: string[]): fc.Arbitrary<ReadonlySet<string>> => slots.length === 0 ? noDanger() : fc.constantFrom(...slots).map((s) => new Set([s]))
const someDanger = (slots: string[]): fc.Arbitrary<ReadonlySet<string>> => fc.subarray(slots).map((s) => new Set(s))

function checkDefault (input: PolicyInput): Decision {
  const got = defaultPolicy.decide(input)
  const want = defaultIntent(input)
  assert.deepEqual({ allow: got.allow, ruleId: got.ruleId }, want, `default policy vs its intent for ${input.operation} ${JSON.stringify(input.facts)} query ${JSON.stringify(input.query)}`)
  return got
}

test('property 3: the default policy allows a request exactly when it has no way to the host', (t) => {
  const params = fuzzParams(1500)
  const runs = params.numRuns ?? 1500
  const started = performance.now()
  let allowed = 0
  fc.assert(fc.property(
    anyOpArb.chain((op) => fc.oneof(requestArb(op, noDanger), requestArb(op, oneDanger), requestArb(op, someDanger))),
    ({ input }) => { if (checkDefault(input).allow) allowed++ }
  ), { ...params, includeErrorInReport: true })
  t.diagnostic(`${runs} runs (${allowed} allowed) in ${(performance.now() - started).toFixed(0)} ms`)
})

/** X plus the escapes of Y: lists joined, `privileged` ORed, a string replaced by Y's (dangerous) one. */
function addDanger (x: PolicyInput, y: PolicyInput, slots: ReadonlySet<string>): PolicyInput {
  const facts: Record<string, unknown> = { ...x.facts }
  for (const s of slots) {
    if (s === 'query') continue
    const a = (x.facts as Record<string, unknown>)[s]
    const b = (y.facts as Record<string, unknown>)[s]
    facts[s] = Array.isArray(b) ? [...(Array.isArray(a) ? a as unknown[] : []), ...b] : typeof b === 'boolean' ? a === true || b : b
  }
  const query = slots.has('query') ? { ...x.query, networkmode: [...(x.query.networkmode ?? []), ...(y.query.networkmode ?? [])] } : x.query
  return { ...x, facts: facts as RequestFacts, query }
}

test('property 4: the default policy is monotone: more ways to the host never turn a denial into an allow', (t) => {
  const params = fuzzParams(1500)
  const runs = params.numRuns ?? 1500
  const started = performance.now()
  let deniedBefore = 0
  const opsWithEscapes = Object.keys(CARRIES).filter((op) => escapeSlotsOf(op).length > 0)
  fc.assert(fc.property(
    fc.constantFrom(...opsWithEscapes).chain((op) => fc.tuple(
      fc.oneof(requestArb(op, noDanger), requestArb(op, someDanger)),
      requestArb(op, (slots) => fc.subarray(slots, { minLength: 1 }).map((s) => new Set(s)))
    )),
    ([x, y]) => {
      const before = checkDefault(x.input)
      const after = checkDefault(addDanger(x.input, y.input, y.bad))
      if (!before.allow) deniedBefore++
      assert.equal(after.allow, false, `adding ${[...y.bad].join(', ')} left ${x.input.operation} allowed`)
    }), { ...params, includeErrorInReport: true })
  t.diagnostic(`${runs} runs (${deniedBefore} denied before the addition) in ${(performance.now() - started).toFixed(0)} ms`)
})
