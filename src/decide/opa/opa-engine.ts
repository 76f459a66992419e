import { createRequire } from 'node:module'
import type { LoadedPolicy } from '@open-policy-agent/opa-wasm'
import { ConfigError } from '../../core/errors.ts'
import type { Decision, PolicyEngine, PolicyInput, RuleHit } from '../policy-input.ts'
import type { OpaBundle } from './opa-bundle.ts'
import { opaInput, opaInputText } from './opa-input.ts'

/** A loaded OPA policy: the PolicyEngine contract plus what `policy check` and logs show. */
export interface OpaEngine extends PolicyEngine {
  readonly entrypoint: string
  /** Every entrypoint the module was built with. */
  readonly entrypoints: readonly string[]
  /** The module's OPA wasm ABI, `1.1` or `1.2`. */
  readonly abiVersion: string
  readonly revision: string | null
}

export interface OpaEngineOptions {
  readonly entrypoint: string
  /** Cap on the policy's WebAssembly memory, in bytes. */
  readonly maxMemory: number
  /** The operational log, for evaluation errors (the denial itself carries them too). */
  readonly onError?: (message: string) => void
}

// The SDK's ESM entry exports only the async loadPolicy although its types name loadPolicySync;
// the CommonJS entry has both. Loading synchronously keeps reload() synchronous, like the
// built-in store's (Node compiles modules of any size synchronously).
const { loadPolicySync } = createRequire(import.meta.url)('@open-policy-agent/opa-wasm') as typeof import('@open-policy-agent/opa-wasm')

/** ruleId of a denial caused by the policy failing rather than deciding. */
export const OPA_ERROR_RULE = 'opa-error'
/** opa-docker-authz's message for a `false` decision. */
const REJECTED = 'request rejected by administrative policy'
const PAGE = 64 * 1024
const encoder = new TextEncoder()
// The SDK's default initial size; an OPA-built module asks for less.
const INITIAL_PAGES = 5

// What the SDK calls on every module (@open-policy-agent/opa-wasm src/opa.js), and per ABI minor
// version: 1.1 evaluates through an eval context, 1.2 through one opa_eval call.
const BASE_EXPORTS = ['opa_wasm_abi_version', 'opa_wasm_abi_minor_version', 'builtins', 'entrypoints', 'opa_malloc', 'opa_json_parse', 'opa_json_dump', 'opa_heap_ptr_get', 'opa_heap_ptr_set']
const V11_EXPORTS = ['opa_eval_ctx_new', 'opa_eval_ctx_set_input', 'opa_eval_ctx_set_data', 'opa_eval_ctx_set_entrypoint', 'eval', 'opa_eval_ctx_get_result']
const V12_EXPORTS = ['opa_eval']

/**
 * Loads a compiled Rego policy with @open-policy-agent/opa-wasm and decides per request on the
 * OPA input document (opa-input.ts). Loading checks everything it can up front (a valid module,
 * the ABI the SDK speaks, the entrypoint), throwing a ConfigError. Per request nothing throws:
 * a trap, an abort, a failed built-in or a result that is neither a boolean nor an object with
 * a boolean `allow` denies as `opa-error`, with the error in the reason and the log. After any
 * such failure the module is instantiated afresh, so no state half-written by an interrupted
 * evaluation reaches the next request.
 *
 * Evaluation is synchronous and cannot be interrupted: a policy that loops long blocks the
 * gateway. Memory is capped by `maxMemory` (past it the evaluation fails and denies).
 *
 * @example createOpaEngine(bundle, { entrypoint: 'docker/authz/allow', maxMemory: 256 * 2 ** 20 }).decide(input).allow
 */
export function createOpaEngine (bundle: OpaBundle, options: OpaEngineOptions): OpaEngine {
  const { label, digest } = bundle
  const { entrypoint } = options
  const fail = (message: string): never => { throw new ConfigError(`${label}: ${message}`) }

  let module: WebAssembly.Module
  try {
    module = new WebAssembly.Module(bundle.wasm)
  } catch (err) {
    return fail(`policy.wasm is not a valid WebAssembly module (${describeError(err)})`)
  }
  const exported = new Set(WebAssembly.Module.exports(module).map((e) => e.name))
  const missing = (names: readonly string[]): string[] => names.filter((n) => !exported.has(n))
  if (missing(BASE_EXPORTS).length > 0) {
    fail(`not an OPA policy module: it lacks ${missing(BASE_EXPORTS).join(', ')} (build it with "opa build -t wasm", OPA v0.30 or later)`)
  }
  if (!WebAssembly.Module.imports(module).some((i) => i.module === 'env' && i.name === 'memory' && i.kind === 'memory')) {
    fail('not an OPA policy module: it does not import env.memory')
  }
  const memory = { initial: INITIAL_PAGES, maximum: Math.max(INITIAL_PAGES, Math.floor(options.maxMemory / PAGE)) }

  const instantiate = (): LoadedPolicy => {
    const p = loadPolicySync(module, { ...memory })
    p.setData(bundle.data)
    return p
  }
  let policy: LoadedPolicy
  try {
    policy = instantiate()
  } catch (err) {
    return fail(`the policy could not be loaded (${describeError(err)})`)
  }
  const minor: unknown = policy.minorVersion
  if (typeof minor !== 'number' || minor < 1) fail(`unsupported OPA wasm ABI version 1.${String(minor)}`)
  const needed = (minor as number) >= 2 ? V12_EXPORTS : V11_EXPORTS
  if (missing(needed).length > 0) fail(`declares OPA wasm ABI 1.${String(minor)} but lacks ${missing(needed).join(', ')}`)

  const table: unknown = policy.entrypoints
  const entrypoints = typeof table === 'object' && table !== null ? Object.keys(table) : []
  if (!Object.hasOwn(table as object, entrypoint)) {
    fail(`entrypoint ${JSON.stringify(entrypoint)} is not in this policy (it has ${entrypoints.length === 0 ? 'none' : entrypoints.join(', ')}); build with "opa build -t wasm -e ${entrypoint}"`)
  }
  const entrypointId = (table as Record<string, number>)[entrypoint]!
  // The SDK sends a string entrypoint through a lookup on every call; the id is what it looks up.
  if (!Number.isSafeInteger(entrypointId)) fail(`entrypoint ${JSON.stringify(entrypoint)} has no numeric id`)

  const decision = (allow: boolean, ruleId: string, reason: string, details?: Record<string, unknown>): Decision => {
    const hit: RuleHit = { ruleId, action: allow ? 'allow' : 'deny', mode: 'enforce', reason }
    const d: Decision = { allow, wouldDeny: false, ruleId, reason, trail: [hit], policyDigest: digest }
    return details === undefined ? d : { ...d, details }
  }

  const failed = (input: PolicyInput, message: string): Decision => {
    options.onError?.(`OPA policy ${label} (${entrypoint}) failed on ${input.operation} ${input.method} ${input.path}, denied: ${message}`)
    return decision(false, OPA_ERROR_RULE, `the OPA policy failed, so the request is denied: ${message}`, { error: message })
  }

  /** The decision a result set stands for, or the reason it stands for none. */
  const interpret = (rs: unknown): Decision | string => {
    if (!Array.isArray(rs)) return `the result set is ${typeOf(rs)}, not an array`
    // Undefined: no rule produced a value. opa-docker-authz denies, without an error.
    if (rs.length === 0) return decision(false, entrypoint, `${REJECTED} (the decision is undefined for this request)`)
    if (rs.length > 1) return `the entrypoint produced ${rs.length} results; expected one`
    const first: unknown = rs[0]
    if (typeof first !== 'object' || first === null || !Object.hasOwn(first, 'result')) return 'the result set has no "result"'
    const result = (first as { result: unknown }).result
    if (typeof result === 'boolean') return result ? decision(true, entrypoint, `allowed by ${entrypoint}`) : decision(false, entrypoint, REJECTED)
    if (typeof result !== 'object' || result === null || Array.isArray(result)) {
      return `unexpected result type ${typeOf(result)}: expected true, false, or an object with a boolean "allow"`
    }
    return objectDecision(result as Record<string, unknown>)
  }

  const objectDecision = (result: Record<string, unknown>): Decision | string => {
    const { allow, reason, ruleId } = result
    if (typeof allow !== 'boolean') return `the result's "allow" is ${typeOf(allow)}, not a boolean`
    if (reason !== undefined && typeof reason !== 'string') return `the result's "reason" is ${typeOf(reason)}, not a string`
    if (ruleId !== undefined && (typeof ruleId !== 'string' || !/^[\x21-\x7e]{1,128}$/.test(ruleId))) {
      return 'the result\'s "ruleId" must be 1 to 128 visible ASCII characters'
    }
    // fromEntries defines own properties: a `__proto__` key stays data.
    const extra = Object.entries(result).filter(([key]) => key !== 'allow' && key !== 'reason' && key !== 'ruleId')
    return decision(allow, ruleId ?? entrypoint, reason ?? (allow ? `allowed by ${entrypoint}` : REJECTED), extra.length > 0 ? Object.fromEntries(extra) : undefined)
  }

  let broken: string | null = null
  return Object.freeze({
    name: label,
    digest,
    entrypoint,
    entrypoints: Object.freeze(entrypoints),
    abiVersion: `1.${String(minor)}`,
    revision: bundle.revision,
    decide (input: PolicyInput): Decision {
      if (broken !== null) return failed(input, broken)
      let rs: unknown
      try {
        // Text, not an object: the SDK would JSON.stringify it, rounding int64 body numbers.
        rs = policy.evaluate(encoder.encode(opaInputText(opaInput(input))).buffer, entrypointId)
      } catch (err) {
        const message = describeError(err)
        try {
          policy = instantiate()
        } catch (again) {
          // Cannot happen with a module that loaded once, short of memory; deny from now on.
          broken = `the policy could not be re-instantiated after an error (${describeError(again)})`
        }
        return failed(input, message)
      }
      const d = interpret(rs)
      return typeof d === 'string' ? failed(input, d) : d
    }
  })
}

/** The SDK throws strings (opa_abort, bad entrypoints), plain objects (missing built-ins) and Errors (traps). */
function describeError (err: unknown): string {
  if (typeof err === 'string') return err
  if (err instanceof Error) return err instanceof WebAssembly.RuntimeError ? `wasm trap: ${err.message}` : `${err.name}: ${err.message}`
  if (typeof err === 'object' && err !== null && typeof (err as { message?: unknown }).message === 'string') return (err as { message: string }).message
  return String(err)
}

function typeOf (v: unknown): string {
  if (v === null) return 'null'
  if (Array.isArray(v)) return 'an array'
  return typeof v === 'object' ? 'an object' : `a ${typeof v}`
}
