import { parseArgs } from 'node:util'
import { ConfigError } from '../core/errors.ts'
import type { ConfigInput } from '../config/config.ts'
import { POLICY_ENGINE_KINDS, type OpaSettingsInput, type PolicyEngineKind } from '../decide/opa/opa-settings.ts'

export interface ServeArgs {
  readonly configFile: string | undefined
  readonly flags: ConfigInput
}

export const SERVE_USAGE = `Usage: dockward serve [options]

Options:
  --listen URL        Address to accept clients on, repeatable: tcp://HOST:PORT or
                      unix:///PATH[?mode=0660&group=docker&owner=alice]. Default: tcp://127.0.0.1:2375
  --upstream URL      The engine: unix:///PATH or tcp://HOST:PORT.
                      Default: $DOCKER_HOST, else unix:///var/run/docker.sock
  --policy NAME|FILE  Policy to enforce: a shipped one (default, read-only, admin) or a
                      policy file. Default: default. SIGHUP or a change to the file reloads it.
  --policy-engine E   builtin (default), opa, or both (the built-in policy and OPA must both allow)
  --opa-bundle FILE   OPA policy: a bundle from "opa build -t wasm -e ENTRYPOINT" (.tar.gz)
  --opa-wasm FILE     OPA policy: a bare policy.wasm instead of a bundle
  --opa-data FILE     Data (JSON or YAML) for --opa-wasm
  --opa-entrypoint EP The entrypoint to evaluate. Default: docker/authz/allow
  --config FILE       YAML config file with the same settings; flags override it
  --audit-destination stdout|none|FILE
                      Where audit records go, one JSON line each. Default: stdout
  --audit-fail-closed Refuse requests (503) while the audit log cannot be written
  --admin-listen URL  Admin API (/metrics, /healthz, /readyz, /policy, POST /reload):
                      tcp://127.0.0.1:PORT or unix:///PATH. Default: off
  --admin-allow-unauthenticated-tcp
                      Allow a non-loopback tcp:// admin address without TLS and a token
  --dangerously-allow-unauthenticated-tcp
                      Allow a non-loopback TCP listener without TLS or authentication.
                      Anyone who reaches it controls the engine and the host.
  -h, --help          Show this help
`

/** The flags that choose policy engines and name an OPA policy, shared by `serve` and `policy explain`. */
export const POLICY_ENGINE_OPTIONS = {
  'policy-engine': { type: 'string' },
  'opa-bundle': { type: 'string' },
  'opa-wasm': { type: 'string' },
  'opa-data': { type: 'string' },
  'opa-entrypoint': { type: 'string' }
} as const

type PolicyEngineFlagValues = { readonly [K in keyof typeof POLICY_ENGINE_OPTIONS]?: string | undefined }

/**
 * `--policy-engine` (checked) and the `--opa-*` flags, in the config file's shape.
 *
 * @example policyEngineFlags({ 'opa-bundle': 'a.tar.gz' }) // { opa: { bundle: 'a.tar.gz' } }
 */
export function policyEngineFlags (v: PolicyEngineFlagValues): { policyEngine?: PolicyEngineKind, opa?: OpaSettingsInput } {
  const out: { policyEngine?: PolicyEngineKind, opa?: OpaSettingsInput } = {}
  const engine = v['policy-engine']
  if (engine !== undefined) {
    if (!POLICY_ENGINE_KINDS.includes(engine as PolicyEngineKind)) throw new ConfigError(`--policy-engine: expected one of ${POLICY_ENGINE_KINDS.join(', ')}, not ${JSON.stringify(engine)}`)
    out.policyEngine = engine as PolicyEngineKind
  }
  const opa: OpaSettingsInput = {}
  if (v['opa-bundle'] !== undefined) opa.bundle = v['opa-bundle']
  if (v['opa-wasm'] !== undefined) opa.wasm = v['opa-wasm']
  if (v['opa-data'] !== undefined) opa.data = v['opa-data']
  if (v['opa-entrypoint'] !== undefined) opa.entrypoint = v['opa-entrypoint']
  if (Object.keys(opa).length > 0) out.opa = opa
  return out
}

/** Parses `dockward serve` flags into the same shape as the config file. */
export function parseServeArgs (argv: readonly string[]): ServeArgs | 'help' {
  let parsed
  try {
    parsed = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        listen: { type: 'string', multiple: true },
        upstream: { type: 'string' },
        config: { type: 'string' },
        policy: { type: 'string' },
        ...POLICY_ENGINE_OPTIONS,
        'dangerously-allow-unauthenticated-tcp': { type: 'boolean' },
        'audit-destination': { type: 'string' },
        'audit-fail-closed': { type: 'boolean' },
        'admin-listen': { type: 'string' },
        'admin-allow-unauthenticated-tcp': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' }
      }
    })
  } catch (err) {
    throw new ConfigError(`${(err as Error).message}\n\n${SERVE_USAGE}`)
  }
  const v = parsed.values
  if (v.help === true) return 'help'
  const flags: ConfigInput = {}
  if (v.listen !== undefined) flags.listen = v.listen
  if (v.upstream !== undefined) flags.upstream = v.upstream
  if (v.policy !== undefined) flags.policy = v.policy
  Object.assign(flags, policyEngineFlags(v))
  if (v['dangerously-allow-unauthenticated-tcp'] === true) flags.dangerouslyAllowUnauthenticatedTcp = true
  if (v['audit-destination'] !== undefined) (flags.audit ??= {}).destination = v['audit-destination']
  if (v['audit-fail-closed'] === true) (flags.audit ??= {}).failClosed = true
  if (v['admin-listen'] !== undefined) (flags.admin ??= {}).listen = v['admin-listen']
  if (v['admin-allow-unauthenticated-tcp'] === true) (flags.admin ??= {}).allowUnauthenticatedTcp = true
  return { configFile: v.config, flags }
}
