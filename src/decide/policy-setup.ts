import { combineEngines } from './combined-engine.ts'
import type { OpaEngine } from './opa/opa-engine.ts'
import type { OpaSettings, PolicyEngineKind } from './opa/opa-settings.ts'
import { createOpaStore } from './opa/opa-store.ts'
import type { PolicyEngine } from './policy-input.ts'
import { createPolicyStore } from './policy-store.ts'
import type { ReloadingStore, ReloadResult } from './reloading-store.ts'

/** What `dockward serve` enforces: which engines, the built-in policy, the OPA settings. */
export interface PolicySetupSettings {
  readonly engine: PolicyEngineKind
  /** The built-in policy (used with `builtin` and `both`). */
  readonly policy: string
  /** Required with `opa` and `both`. */
  readonly opa: OpaSettings | null
}

/** The engines in force, as one PolicySource for the gateway. */
export interface PolicySetup {
  /** The engine deciding the next request; a reload swaps it. */
  current: () => PolicyEngine
  /** Reloads every engine's files (SIGHUP); each keeps its policy when its reload fails. One result per engine. */
  reload: () => ReloadResult[]
  /** Watches every engine's files; returns the function that stops watching. */
  watch: () => () => void
  /** One log line per engine: what is in force. */
  describe: () => string[]
}

/**
 * Loads the configured engines (throwing a ConfigError when one does not load) and combines
 * them: `both` asks the built-in policy first, then OPA (combined-engine.ts). Reload results and
 * OPA evaluation errors go to `log`; `onReload` also gets every reload's result (metrics).
 *
 * @example const setup = createPolicySetup({ engine: 'both', policy: 'default', opa }, log); setup.current().decide(input)
 */
export function createPolicySetup (settings: PolicySetupSettings, log: (message: string) => void, onReload?: (result: ReloadResult) => void): PolicySetup {
  const builtin = settings.engine === 'opa'
    ? null
    : createPolicyStore(settings.policy, {
      onReload: (r) => {
        if (r.ok) log(`policy reloaded: ${settings.policy} (sha256 ${r.digest})`)
        else log(`policy reload failed, keeping the policy in force: ${r.error.message}`)
        onReload?.(r)
      }
    })
  // How a generated policy (socket-proxy-env) read its variables, said once at start-up.
  for (const w of builtin?.warnings ?? []) log(`warning: ${w}`)
  let opa: ReloadingStore<OpaEngine> | null = null
  if (settings.engine !== 'builtin') {
    if (settings.opa === null) throw new Error(`policyEngine ${settings.engine} needs the opa settings`)
    opa = createOpaStore(settings.opa, {
      onReload: (r) => {
        if (r.ok) log(`OPA policy reloaded: ${describeOpa(opa!.current())}`)
        else log(`OPA policy reload failed, keeping the policy in force: ${r.error.message}`)
        onReload?.(r)
      },
      onError: log
    })
  }
  const stores: Array<ReloadingStore<PolicyEngine>> = [builtin, opa].filter((s) => s !== null)

  let current: () => PolicyEngine
  if (builtin !== null && opa !== null) {
    // One combined engine per pair of policies in force, not one per request.
    let pair: { a: PolicyEngine, b: PolicyEngine, both: PolicyEngine } | null = null
    current = () => {
      const a = builtin.current()
      const b = opa.current()
      if (pair === null || pair.a !== a || pair.b !== b) pair = { a, b, both: combineEngines(a, b) }
      return pair.both
    }
  } else {
    current = stores[0]!.current
  }

  return {
    current,
    reload: () => stores.map((s) => s.reload()),
    watch: () => {
      const stops = stores.map((s) => s.watch())
      return () => { for (const stop of stops) stop() }
    },
    describe: () => {
      const lines: string[] = []
      if (builtin !== null) lines.push(`policy ${settings.policy} (sha256 ${builtin.current().digest})`)
      if (opa !== null) lines.push(`OPA policy ${describeOpa(opa.current())}`)
      if (builtin !== null && opa !== null) lines.push('policy engines: the built-in policy, then OPA; both must allow')
      return lines
    }
  }
}

/**
 * How logs and `policy check` name a loaded OPA policy.
 *
 * @example describeOpa(engine) // '/etc/dockward/authz.tar.gz (entrypoint docker/authz/allow, ABI 1.2, sha256 …)'
 */
export function describeOpa (e: OpaEngine): string {
  return `${e.name} (entrypoint ${e.entrypoint}, ABI ${e.abiVersion}${e.revision === null ? '' : `, revision ${e.revision}`}, sha256 ${e.digest})`
}
