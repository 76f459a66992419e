import { readdirSync, readFileSync } from 'node:fs'
import { dirname, isAbsolute, join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { isMap, isScalar, isSeq, type Node } from 'yaml'
import { ConfigError, GatewayError, RouteNotFoundError } from '../core/errors.ts'
import type { CompiledPolicy } from '../decide/policy-compiler.ts'
import { combineEngines } from '../decide/combined-engine.ts'
import type { OpaEngine } from '../decide/opa/opa-engine.ts'
import { opaInput, opaInputText } from '../decide/opa/opa-input.ts'
import { DEFAULT_OPA_ENTRYPOINT, resolveOpaSettings, type OpaSettingsInput } from '../decide/opa/opa-settings.ts'
import { createOpaStore } from '../decide/opa/opa-store.ts'
import type { Decision, PolicyEngine, PolicyInput } from '../decide/policy-input.ts'
import { describeOpa } from '../decide/policy-setup.ts'
import { POLICY_ENGINE_OPTIONS, policyEngineFlags } from './serve-args.ts'
import { compilePolicySource, loadPolicy, readPolicySource, SHIPPED_POLICIES } from '../decide/policy-loader.ts'
import { entries, factKinds, listItems, readYaml, scalarText, type YamlFile } from '../decide/policy-schema.ts'
import { anonymousIdentity, authMethods, type AuthMethod, type Identity } from '../identify/identity.ts'
import { bodyKindOf } from '../inspect/canonical-body.ts'
import { checkContentType } from '../inspect/content-type.ts'
import { offlineLookup } from '../inspect/request-facts-extract.ts'
import { inspectRequest } from '../inspect/inspect-request.ts'
import { policyHeaders } from '../inspect/policy-headers.ts'
import type { FactName, FactValue, RequestFacts } from '../inspect/request-facts.ts'
import { checkApiVersion } from '../route/api-version.ts'
import { parseRequestTarget } from '../route/request-target.ts'
import { createRouteMatcher } from '../route/route-matcher.ts'
import { routeTable } from '../route/route-table.ts'

/** Where command output goes; `process.stdout`/`process.stderr` or a test's buffers. */
export interface CommandIo {
  readonly stdout: { write: (text: string) => unknown }
  readonly stderr: { write: (text: string) => unknown }
}

export const POLICY_USAGE = `Usage: dockward policy <command>

Commands:
  check FILE...      Validate policies (files or shipped names: ${SHIPPED_POLICIES.join(', ')})
                     and print each one's name, rule count and sha256. OPA policies
                     (.tar.gz bundles, .wasm) are loaded the way serve loads them:
                     --entrypoint EP (default: ${DEFAULT_OPA_ENTRYPOINT}), --data FILE for a .wasm
  test DIR           Run the tables of expected decisions in DIR/*.yaml
  show REF           Print a policy's source: a file, a shipped name, or a generated one
                     (socket-proxy-env, socket-proxy-env-granular: from this environment)
  explain [options]  Decide one request the way the gateway would, and show why

Options of explain:
  --policy REF       Policy file or shipped name (default: default)
  --policy-engine E  builtin (default), opa, or both, as in serve
  --opa-bundle FILE, --opa-wasm FILE, --opa-data FILE, --opa-entrypoint EP
                     The OPA policy, as in serve (--json then also prints its input document)
  --method M         HTTP method (default: GET)
  --path P           Request target as sent, e.g. /v1.41/containers/create?name=x (required)
  --body FILE        Request body (JSON) from a file
  --header 'N: V'    A request header, repeatable (Content-Type is checked like the gateway does)
  --identity SPEC    name=NAME,tenant=TENANT,groups=A|B,method=METHOD (default: anonymous)
  --listener URL     Listener the request came in on (default: tcp://127.0.0.1:2375)
  --json             Print the decision, policy input and facts as JSON

Exit status: 0 success (explain: whatever the decision), 1 a policy or test failed,
2 wrong usage.
`

const DEFAULT_LISTENER = 'tcp://127.0.0.1:2375'
const matchRoute = createRouteMatcher(routeTable)

/**
 * `dockward policy …`: check, test and explain policies. Returns the exit status.
 *
 * @example await runPolicyCommand(['check', 'policies/default.yaml'], process) // prints "ok: default (22 rules, sha256 …)", returns 0
 */
export async function runPolicyCommand (argv: readonly string[], io: CommandIo): Promise<number> {
  const [command, ...rest] = argv
  try {
    switch (command) {
      case 'check': return check(rest, io)
      case 'test': return await testDir(rest, io)
      case 'explain': return await explain(rest, io)
      case 'show': return show(rest, io)
      case 'help': case '--help': case '-h':
        io.stdout.write(POLICY_USAGE)
        return 0
      case undefined:
        throw new UsageError('missing command')
      default:
        throw new UsageError(`unknown policy command ${JSON.stringify(command)}`)
    }
  } catch (err) {
    if (err instanceof UsageError) {
      io.stderr.write(`dockward policy: ${err.message}\n\n${POLICY_USAGE}`)
      return 2
    }
    throw err
  }
}

class UsageError extends Error {}

function check (argv: readonly string[], io: CommandIo): number {
  let parsed
  try {
    parsed = parseArgs({ args: [...argv], strict: true, allowPositionals: true, options: { entrypoint: { type: 'string' }, data: { type: 'string' } } })
  } catch (err) {
    throw new UsageError((err as Error).message)
  }
  const args = parsed.positionals
  const { entrypoint, data } = parsed.values
  if (args.length === 0) throw new UsageError('check needs at least one policy file')
  let failed = 0
  for (const ref of args) {
    try {
      if (/\.(tar\.gz|tgz|wasm)$/.test(ref)) {
        const opa = loadOpa({ ...(/\.wasm$/.test(ref) ? { wasm: ref } : { bundle: ref }), ...(data === undefined ? {} : { data }), ...(entrypoint === undefined ? {} : { entrypoint }) }, 'check')
        io.stdout.write(`ok: OPA policy ${describeOpa(opa)}; entrypoints: ${opa.entrypoints.join(', ')}\n`)
        continue
      }
      const p = loadPolicy(ref)
      io.stdout.write(`ok: ${p.name} (${p.ruleCount} ${p.ruleCount === 1 ? 'rule' : 'rules'}, sha256 ${p.digest})\n`)
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err
      failed++
      io.stderr.write(`${err.message}\n`)
    }
  }
  return failed === 0 ? 0 : 1
}

/** An OPA policy from command-line settings, loaded as serve loads it. */
function loadOpa (input: OpaSettingsInput, where: string): OpaEngine {
  return createOpaStore(resolveOpaSettings(input, where)).current()
}

/** Prints the source a reference loads, so a generated policy can be read, copied and edited. */
function show (args: readonly string[], io: CommandIo): number {
  if (args.length !== 1) throw new UsageError('show needs exactly one policy')
  try {
    const source = readPolicySource(args[0]!)
    // Loads it too: what is shown is what the gateway would enforce, or the error it would stop on.
    compilePolicySource(source.bytes, source.label)
    for (const w of source.warnings) io.stderr.write(`warning: ${w}\n`)
    io.stdout.write(source.bytes.toString('utf8'))
    return 0
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err
    io.stderr.write(`${err.message}\n`)
    return 1
  }
}

// --- building the policy input the way the gateway does ------------------------------------------

/** A request as a client sends it, before routing and inspection. */
export interface RawRequest {
  readonly method: string
  /** The request target: path with optional `/vX.Y` prefix and `?query`. */
  readonly target: string
  readonly body?: Buffer | undefined
  /** Request headers as flat [name, value, …] pairs: Content-Type is checked; OPA policies see them as input.Headers. */
  readonly headers?: readonly string[]
  readonly identity?: Identity
  readonly listener?: string
  /** Facts to set over the inspected ones (for what inspection cannot know offline). */
  readonly facts?: Partial<RequestFacts>
}

/**
 * The PolicyInput the gateway would decide on for this request: the target is parsed and routed
 * like a live request, then the body and query are inspected with an offline engine lookup
 * (named volumes are unknown; set their facts in `facts`). Refusals the gateway makes before
 * deciding (bad target, unknown route, old API version, unreadable body) throw their GatewayError.
 *
 * @example await buildPolicyInput({ method: 'POST', target: '/v1.41/containers/create', body: Buffer.from('{"Image":"busybox"}') })
 */
export async function buildPolicyInput (req: RawRequest): Promise<PolicyInput> {
  const target = parseRequestTarget(req.target)
  checkApiVersion(target.version)
  const method = req.method.toUpperCase()
  const route = matchRoute(method, target.path)
  if (route === null) throw new RouteNotFoundError()
  checkContentType(req.headers ?? [], method, bodyKindOf(route.operation))
  const inspected = await inspectRequest({ operation: route.operation, version: target.version, params: route.params, rawQuery: target.query, body: req.body }, offlineLookup)
  return {
    identity: req.identity ?? anonymousIdentity,
    operation: route.operation,
    method,
    path: target.path,
    version: target.version,
    params: route.params,
    query: inspected.query,
    body: inspected.body,
    facts: req.facts === undefined ? inspected.facts : { ...inspected.facts, ...req.facts },
    listener: req.listener ?? DEFAULT_LISTENER,
    headers: policyHeaders(req.headers ?? [])
  }
}

/** How a refusal before the policy reads (`404 page not found`), or null for anything else. */
function requestError (err: unknown): string | null {
  return err instanceof GatewayError ? `${err.status} ${err.message}` : null
}

// --- explain -------------------------------------------------------------------------------------

async function explain (args: readonly string[], io: CommandIo): Promise<number> {
  let v
  try {
    v = parseArgs({
      args: [...args],
      strict: true,
      allowPositionals: false,
      options: {
        policy: { type: 'string' },
        ...POLICY_ENGINE_OPTIONS,
        method: { type: 'string', default: 'GET' },
        path: { type: 'string' },
        body: { type: 'string' },
        header: { type: 'string', multiple: true },
        identity: { type: 'string' },
        listener: { type: 'string', default: DEFAULT_LISTENER },
        json: { type: 'boolean', default: false }
      }
    }).values
  } catch (err) {
    throw new UsageError((err as Error).message)
  }
  if (v.path === undefined) throw new UsageError('explain needs --path')
  const identity = v.identity === undefined ? anonymousIdentity : parseIdentitySpec(v.identity)
  const headers: string[] = []
  for (const h of v.header ?? []) {
    const colon = h.indexOf(':')
    if (colon <= 0) throw new UsageError(`--header ${JSON.stringify(h)}: expected "Name: value"`)
    headers.push(h.slice(0, colon).trim(), h.slice(colon + 1).trim())
  }

  let engineFlags
  try {
    engineFlags = policyEngineFlags(v)
  } catch (err) {
    throw new UsageError((err as Error).message)
  }
  const opaFlags = engineFlags.opa
  const kind = engineFlags.policyEngine ?? (opaFlags === undefined ? 'builtin' : 'opa')
  if (kind !== 'builtin' && opaFlags === undefined) throw new UsageError(`--policy-engine ${kind} needs --opa-bundle or --opa-wasm`)
  if (kind === 'opa' && v.policy !== undefined) throw new UsageError('--policy is not used with --policy-engine opa; use --policy-engine both')

  let policy: Explained
  let body: Buffer | undefined
  try {
    const builtin = kind === 'opa' ? null : loadPolicy(v.policy ?? 'default')
    const opa = opaFlags === undefined || kind === 'builtin' ? null : loadOpa(opaFlags, 'explain')
    policy = builtin !== null && opa !== null
      ? { engine: combineEngines(builtin, opa), builtin, opa }
      : { engine: (builtin ?? opa)!, builtin, opa }
    body = v.body === undefined ? undefined : readBodyFile(v.body)
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err
    io.stderr.write(`${err.message}\n`)
    return 1
  }
  let input: PolicyInput
  try {
    input = await buildPolicyInput({ method: v.method, target: v.path, body, headers, identity, listener: v.listener })
  } catch (err) {
    const message = requestError(err)
    if (message === null) throw err
    io.stderr.write(`dockward would refuse this request before deciding: ${message}\n`)
    return 1
  }
  const decision = policy.engine.decide(input)
  io.stdout.write(v.json ? `${JSON.stringify(explainJson(policy, input, decision), null, 2)}\n` : explainText(policy, input, decision))
  return 0
}

/** The engines explain decides with: the one to ask, and the built-in and OPA policies in it. */
interface Explained {
  readonly engine: PolicyEngine
  readonly builtin: CompiledPolicy | null
  readonly opa: OpaEngine | null
}

function parseIdentitySpec (spec: string): Identity {
  const out: { name: string, tenant: string | null, groups: string[], method: AuthMethod } = { name: 'anonymous', tenant: null, groups: [], method: 'anonymous' }
  for (const part of spec.split(',')) {
    if (part === '') continue
    const eq = part.indexOf('=')
    const key = eq === -1 ? part : part.slice(0, eq)
    const value = eq === -1 ? '' : part.slice(eq + 1)
    switch (key) {
      case 'name': out.name = value; break
      case 'tenant': out.tenant = value === '' || value === '-' ? null : value; break
      case 'groups': out.groups = value.split('|').filter((g) => g !== ''); break
      case 'method':
        if (!(authMethods as readonly string[]).includes(value)) throw new UsageError(`--identity: unknown method "${value}" (${authMethods.join(', ')})`)
        out.method = value as AuthMethod
        break
      default: throw new UsageError(`--identity: unknown key "${key}" (name, tenant, groups, method)`)
    }
  }
  return out
}

function readBodyFile (file: string): Buffer {
  try {
    return readFileSync(file)
  } catch (err) {
    throw new ConfigError(`${file}: cannot read body file (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`)
  }
}

function explainJson (policy: Explained, input: PolicyInput, decision: Decision): unknown {
  const { builtin, opa } = policy
  return {
    decision,
    ...(builtin === null ? {} : { policy: { name: builtin.name, digest: builtin.digest, mode: builtin.mode } }),
    ...(opa === null ? {} : { opa: { file: opa.name, entrypoint: opa.entrypoint, abiVersion: opa.abiVersion, revision: opa.revision, digest: opa.digest }, opaInput: JSON.parse(opaInputText(opaInput(input))) as unknown }),
    input
  }
}

function explainText ({ builtin, opa }: Explained, input: PolicyInput, d: Decision): string {
  const id = input.identity
  const lines = [
    `decision  ${d.allow ? 'allow' : 'deny'}${d.wouldDeny ? ' (would deny: audit-only)' : ''} by ${d.ruleId}`,
    `reason    ${d.reason}`,
    ...(d.details === undefined ? [] : [`details   ${JSON.stringify(d.details)}`]),
    ...(builtin === null ? [] : [`policy    ${builtin.name}${builtin.mode === 'audit-only' ? ' (audit-only)' : ''}, sha256 ${builtin.digest}`]),
    ...(opa === null ? [] : [`opa       ${describeOpa(opa)}`]),
    `request   ${input.method} ${input.path} → ${input.operation}, API ${input.version ?? 'newest (no version prefix)'}`,
    `identity  ${id.name} (${id.method}), tenant ${id.tenant ?? 'none'}, groups ${id.groups.length === 0 ? 'none' : id.groups.join(', ')}`,
    'trail'
  ]
  if (d.trail.length === 0) lines.push('  (no rule matched)')
  for (const [i, hit] of d.trail.entries()) lines.push(`  ${i + 1}. ${hit.ruleId}: ${hit.action}, ${hit.mode}: ${hit.reason}`)
  // Catalog order (as in policies/README.md), not extraction order.
  const factNames = (Object.keys(factKinds) as FactName[]).filter((n) => input.facts[n] !== undefined)
  lines.push(factNames.length === 0 ? 'facts     (none for this operation)' : 'facts')
  const width = Math.max(0, ...factNames.map((n) => n.length))
  for (const name of factNames) lines.push(`  ${name.padEnd(width)}  ${formatFact(input.facts[name])}`)
  const queryNames = Object.keys(input.query)
  if (queryNames.length > 0) {
    lines.push('query')
    const qWidth = Math.max(...queryNames.map((n) => n.length))
    for (const name of queryNames) lines.push(`  ${name.padEnd(qWidth)}  ${JSON.stringify(input.query[name])}`)
  }
  return lines.join('\n') + '\n'
}

function formatFact (v: FactValue | undefined): string {
  return JSON.stringify(v ?? null)
}

// --- test ----------------------------------------------------------------------------------------

interface TestCase {
  readonly name: string
  readonly request: RawRequest
  readonly expect: { readonly decision: 'allow' | 'deny', readonly rule?: string, readonly wouldDeny?: boolean }
}

async function testDir (args: readonly string[], io: CommandIo): Promise<number> {
  if (args.length !== 1) throw new UsageError('test needs exactly one directory')
  const dir = args[0]!
  let files: string[]
  try {
    files = readdirSync(dir).filter((f) => f.endsWith('.yaml') || f.endsWith('.yml')).sort()
  } catch (err) {
    io.stderr.write(`${dir}: cannot read test directory (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})\n`)
    return 1
  }
  if (files.length === 0) {
    io.stderr.write(`${dir}: no test files (*.yaml, *.yml)\n`)
    return 1
  }
  let passed = 0
  let failed = 0
  const policies = new Map<string, CompiledPolicy>()
  for (const name of files) {
    const file = join(dir, name)
    let policy: CompiledPolicy
    let cases: TestCase[]
    try {
      const parsed = parseTestFile(readFileSync(file, 'utf8'), file)
      cases = parsed.cases
      const cached = policies.get(parsed.policy)
      policy = cached ?? loadPolicy(parsed.policy)
      policies.set(parsed.policy, policy)
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err
      io.stdout.write(`FAIL  ${err.message}\n`)
      failed++
      continue
    }
    for (const c of cases) {
      const problem = await runCase(policy, c)
      if (problem === null) {
        passed++
        io.stdout.write(`ok    ${name}: ${c.name}\n`)
      } else {
        failed++
        io.stdout.write(`FAIL  ${name}: ${c.name}: ${problem}\n`)
      }
    }
  }
  io.stdout.write(`\n${passed} passed, ${failed} failed\n`)
  return failed === 0 ? 0 : 1
}

/** Null when the case holds, else what went wrong. */
async function runCase (policy: CompiledPolicy, c: TestCase): Promise<string | null> {
  let input: PolicyInput
  try {
    input = await buildPolicyInput(c.request)
  } catch (err) {
    const message = requestError(err)
    if (message === null) throw err
    return `the gateway would refuse the request before deciding: ${message}`
  }
  const d = policy.decide(input)
  const got = `${d.allow ? 'allow' : 'deny'} by ${d.ruleId}${d.wouldDeny ? ' (wouldDeny)' : ''}`
  const want = c.expect
  const wrong = (d.allow ? 'allow' : 'deny') !== want.decision ||
    (want.rule !== undefined && want.rule !== d.ruleId) ||
    (want.wouldDeny !== undefined && want.wouldDeny !== d.wouldDeny)
  if (!wrong) return null
  const expected = `${want.decision}${want.rule === undefined ? '' : ` by ${want.rule}`}${want.wouldDeny === undefined ? '' : ` (wouldDeny ${String(want.wouldDeny)})`}`
  return `expected ${expected}, got ${got}: ${d.reason}`
}

/**
 * Reads one `policy test` file: `{ policy, cases: [{ name, request, expect }] }`. Relative
 * policy and body file paths are relative to the test file, so a test folder can move.
 */
function parseTestFile (text: string, file: string): { policy: string, cases: TestCase[] } {
  const y: YamlFile = readYaml(text, file)
  const base = dirname(file)
  const local = (p: string): string => isAbsolute(p) ? p : resolve(base, p)
  let policy: string | undefined
  let cases: TestCase[] | undefined
  for (const e of entries(y, y.root, '(top level)', 'a mapping with policy and cases')) {
    if (e.key === 'policy') {
      const ref = scalarText(y, e.value, 'policy', 'a policy file or shipped name')
      policy = (SHIPPED_POLICIES as readonly string[]).includes(ref) ? ref : local(ref)
    } else if (e.key === 'cases') {
      if (!isSeq(e.value)) y.fail(e.at, 'cases', 'expected a list of cases')
      cases = listItems(y, e.value, 'cases').map((n, i) => parseCase(y, n, `cases[${i}]`, local))
    } else {
      y.fail(e.keyNode, e.key, 'unknown key (policy, cases)')
    }
  }
  if (policy === undefined) y.fail(y.root, 'policy', 'missing: name the policy under test')
  if (cases === undefined) y.fail(y.root, 'cases', 'missing: expected a list of cases')
  return { policy, cases }
}

function parseCase (y: YamlFile, node: Node | null, path: string, local: (p: string) => string): TestCase {
  let name: string | undefined
  let request: RawRequest | undefined
  let expect: TestCase['expect'] | undefined
  for (const e of entries(y, node, path, 'a case: name, request, expect')) {
    const key = `${path}.${e.key}`
    if (e.key === 'name') name = scalarText(y, e.value, key)
    else if (e.key === 'request') request = parseRequest(y, e.value, key, local)
    else if (e.key === 'expect') expect = parseExpect(y, e.value, key)
    else y.fail(e.keyNode, key, 'unknown key (name, request, expect)')
  }
  if (name === undefined) y.fail(node, `${path}.name`, 'missing')
  if (request === undefined) y.fail(node, `${path}.request`, 'missing')
  if (expect === undefined) y.fail(node, `${path}.expect`, 'missing')
  return { name, request, expect }
}

function parseRequest (y: YamlFile, node: Node | null, path: string, local: (p: string) => string): RawRequest {
  let method: string | undefined
  let target: string | undefined
  const query: string[] = []
  let body: Buffer | undefined
  let identity: Identity | undefined
  let facts: Partial<RequestFacts> | undefined
  let listener: string | undefined
  const headers: string[] = []
  for (const e of entries(y, node, path, 'a request: method, path, query, headers, body or bodyFile, identity, facts')) {
    const key = `${path}.${e.key}`
    switch (e.key) {
      case 'method': method = scalarText(y, e.value, key, 'an HTTP method'); break
      case 'path': target = scalarText(y, e.value, key, 'a request path'); break
      case 'listener': listener = scalarText(y, e.value, key, 'a listener URL'); break
      case 'query':
        for (const q of entries(y, e.value, key, 'a mapping of parameter names to a value or a list of values')) {
          for (const [i, v] of listItems(y, q.value, `${key}.${q.key}`).entries()) {
            query.push(`${encodeURIComponent(q.key)}=${encodeURIComponent(scalarText(y, v, `${key}.${q.key}[${i}]`))}`)
          }
        }
        break
      case 'body':
        if (body !== undefined) y.fail(e.keyNode, key, 'give body or bodyFile, not both')
        // A string is the body's exact text; a mapping or list is sent as JSON.
        body = isScalar(e.value) && typeof e.value.value === 'string'
          ? Buffer.from(e.value.value)
          : Buffer.from(JSON.stringify(e.value?.toJSON() ?? null))
        break
      case 'bodyFile': {
        if (body !== undefined) y.fail(e.keyNode, key, 'give body or bodyFile, not both')
        const p = local(scalarText(y, e.value, key, 'a file path'))
        try {
          body = readFileSync(p)
        } catch (err) {
          y.fail(e.at, key, `cannot read ${p} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`)
        }
        break
      }
      case 'headers':
        for (const h of entries(y, e.value, key, 'a mapping of header names to values')) headers.push(h.key, scalarText(y, h.value, `${key}.${h.key}`))
        break
      case 'identity': identity = parseIdentity(y, e.value, key); break
      case 'facts': facts = parseFacts(y, e.value, key); break
      default: y.fail(e.keyNode, key, 'unknown key (method, path, query, headers, body, bodyFile, identity, facts, listener)')
    }
  }
  if (method === undefined) y.fail(node, `${path}.method`, 'missing')
  if (target === undefined) y.fail(node, `${path}.path`, 'missing')
  if (query.length > 0) target += (target.includes('?') ? '&' : '?') + query.join('&')
  const out: { -readonly [K in keyof RawRequest]: RawRequest[K] } = { method, target }
  if (body !== undefined) out.body = body
  if (headers.length > 0) out.headers = headers
  if (identity !== undefined) out.identity = identity
  if (facts !== undefined) out.facts = facts
  if (listener !== undefined) out.listener = listener
  return out
}

function parseIdentity (y: YamlFile, node: Node | null, path: string): Identity {
  const out: { name: string, tenant: string | null, groups: string[], method: AuthMethod } = { name: 'anonymous', tenant: null, groups: [], method: 'anonymous' }
  for (const e of entries(y, node, path, 'a mapping of name, tenant, groups, method')) {
    const key = `${path}.${e.key}`
    switch (e.key) {
      case 'name': out.name = scalarText(y, e.value, key); break
      case 'tenant': out.tenant = isScalar(e.value) && e.value.value === null ? null : scalarText(y, e.value, key); break
      case 'groups': out.groups = listItems(y, e.value, key).map((n, i) => scalarText(y, n, `${key}[${i}]`)); break
      case 'method': {
        const m = scalarText(y, e.value, key)
        if (!(authMethods as readonly string[]).includes(m)) y.fail(e.at, key, `unknown method "${m}" (${authMethods.join(', ')})`)
        out.method = m as AuthMethod
        break
      }
      default: y.fail(e.keyNode, key, 'unknown key (name, tenant, groups, method)')
    }
  }
  return out
}

function parseFacts (y: YamlFile, node: Node | null, path: string): Partial<RequestFacts> {
  const out: Record<string, FactValue> = {}
  for (const e of entries(y, node, path, 'a mapping of fact names to values')) {
    const key = `${path}.${e.key}`
    if (!Object.hasOwn(factKinds, e.key)) y.fail(e.keyNode, key, 'unknown fact (see policies/README.md)')
    const kind = factKinds[e.key as FactName]
    const v = e.value
    if (kind === 'list') {
      if (!isSeq(v)) y.fail(e.at, key, 'expected a list of strings')
      out[e.key] = listItems(y, v, key).map((n, i) => scalarText(y, n, `${key}[${i}]`))
    } else if (kind === 'boolean') {
      if (!isScalar(v) || typeof v.value !== 'boolean') y.fail(e.at, key, 'expected true or false')
      out[e.key] = (v as { value: boolean }).value
    } else if (kind === 'number') {
      if (!isScalar(v) || typeof v.value !== 'number') y.fail(e.at, key, 'expected a number')
      out[e.key] = (v as { value: number }).value
    } else {
      if (isMap(v) || isSeq(v)) y.fail(e.at, key, 'expected a string')
      out[e.key] = scalarText(y, v, key)
    }
  }
  return out as Partial<RequestFacts>
}

function parseExpect (y: YamlFile, node: Node | null, path: string): TestCase['expect'] {
  let decision: 'allow' | 'deny' | undefined
  const out: { rule?: string, wouldDeny?: boolean } = {}
  for (const e of entries(y, node, path, 'a mapping of decision, rule, wouldDeny')) {
    const key = `${path}.${e.key}`
    if (e.key === 'decision') {
      const d = scalarText(y, e.value, key, 'allow or deny')
      if (d !== 'allow' && d !== 'deny') y.fail(e.at, key, `expected allow or deny, not "${d}"`)
      decision = d as 'allow' | 'deny'
    } else if (e.key === 'rule') {
      out.rule = scalarText(y, e.value, key, 'a rule id')
    } else if (e.key === 'wouldDeny') {
      if (!isScalar(e.value) || typeof e.value.value !== 'boolean') y.fail(e.at, key, 'expected true or false')
      out.wouldDeny = (e.value as { value: boolean }).value
    } else {
      y.fail(e.keyNode, key, 'unknown key (decision, rule, wouldDeny)')
    }
  }
  if (decision === undefined) y.fail(node, `${path}.decision`, 'missing: allow or deny')
  return { decision, ...out }
}
