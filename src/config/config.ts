import { ConfigError } from '../core/errors.ts'
import { resolveOpaSettings, type OpaSettings, type OpaSettingsInput, type PolicyEngineKind } from '../decide/opa/opa-settings.ts'
import type { Identity } from '../identify/identity.ts'
import type { ResolvedJwtSettings } from '../identify/jwt-authenticator.ts'
import type { MtlsSettings } from '../identify/mtls-authenticator.ts'
import { UNLIMITED, type RateLimitSettings } from '../identify/rate-limiter.ts'
import type { TokenEntry } from '../identify/static-token.ts'
import { isLoopback, parseListenUrl, type ListenAddress, type ListenSettings } from '../listen/listen-address.ts'
import { parseUpstreamUrl, type UpstreamAddress } from '../forward/upstream.ts'
import type { TenancySettings } from '../tenancy/tenancy-settings.ts'
import { SOCKET_PROXY_POLICIES } from '../decide/socket-proxy-policy.ts'
import { resolveAdmin, type AdminConfig, type AdminInput } from '../admin/admin-settings.ts'
import { resolveAudit, type AuditConfig, type AuditInput } from '../observe/audit-settings.ts'

/** Authentication methods a listener can require, in the order it tries them. */
export type ListenerMethod = 'mtls' | 'jwt' | 'token'
export const LISTENER_METHODS: readonly ListenerMethod[] = ['mtls', 'jwt', 'token']

/** A listen entry in its object form (YAML), before defaults. */
export interface ListenEntryInput extends ListenSettings {
  url: string
  /** Methods tried in order (mtls, jwt, token). */
  authentication?: ListenerMethod[]
  /** Let requests without any credential in as `anonymous`. Default: only when no method is set. */
  anonymous?: boolean
  /** A per-tenant socket: every caller on this unix socket is this identity. */
  identity?: Identity
}

/** How one listener identifies callers (see identify/authenticate.ts). */
export interface ListenerAuthConfig {
  readonly methods: readonly ListenerMethod[]
  readonly anonymous: boolean
  readonly identity: Identity | null
}

/** A listen address with its authentication. */
export type ListenerConfig = ListenAddress & { readonly auth: ListenerAuthConfig }

/** The `authentication` section: settings shared by every listener that uses a method. */
export interface AuthenticationInput {
  mtls?: MtlsSettings
  jwt?: ResolvedJwtSettings
  tokens?: TokenEntry[]
}

/** Settings as written in a config file or on the command line, before defaults. */
export interface ConfigInput {
  listen?: Array<string | ListenEntryInput>
  authentication?: AuthenticationInput
  rateLimits?: RateLimitSettings
  upstream?: string
  dangerouslyAllowUnauthenticatedTcp?: boolean
  /** A shipped policy name (`default`, `read-only`, `admin`) or a policy file path. */
  policy?: string
  /** Which engines decide: `builtin` (default), `opa`, or `both` (both must allow). */
  policyEngine?: PolicyEngineKind
  /** The OPA policy, for `policyEngine: opa` or `both`. */
  opa?: OpaSettingsInput
  limits?: Partial<Limits>
  /** Many tenants on one engine (see src/tenancy/). */
  tenancy?: TenancySettings
  /** Audit log destination and fail-closed mode. */
  audit?: AuditInput
  /** The admin listener (metrics, health, reload); off unless set. */
  admin?: AdminInput
}

/** Server limits. Times in milliseconds. Streams themselves never time out. */
export interface Limits {
  /** Largest request header block. Go's server (the engine) allows 1 MiB; registry auth headers can be large. */
  maxHeaderSize: number
  /** Time a client has to send its complete request headers. */
  headersTimeout: number
  /** How long an idle keep-alive client connection stays open between requests. */
  keepAliveTimeout: number
  /** Cap on the body of an upgrade request (exec start's JSON), which dockward reads before forwarding. */
  upgradeBodyLimit: number
  /** Cap on a JSON body dockward inspects (container create, …); larger ones get 413, never pass uninspected. */
  maxBodySize: number
  /**
   * On SIGTERM or SIGINT, how long requests and streams in flight may go on before they are cut.
   * Below Docker's own 10 s stop timeout, so `docker stop` sees a clean exit rather than a SIGKILL.
   */
  shutdownTimeout: number
  /**
   * How long the engine may take to start its answer once a request is sent in full (504 after).
   * Streams are not limited once they started; a stop or restart gets its own `t` on top.
   */
  upstreamResponseTimeout: number
}

/** The validated configuration dockward runs with. */
export interface Config {
  readonly listen: readonly ListenerConfig[]
  readonly authentication: Readonly<AuthenticationInput>
  readonly rateLimits: RateLimitSettings
  readonly upstream: UpstreamAddress
  readonly dangerouslyAllowUnauthenticatedTcp: boolean
  readonly policy: string
  readonly policyEngine: PolicyEngineKind
  /** Set exactly when policyEngine is `opa` or `both`. */
  readonly opa: OpaSettings | null
  readonly limits: Readonly<Limits>
  /** Null: one tenant, the engine as it is. */
  readonly tenancy: TenancySettings | null,
  readonly audit: AuditConfig
  /** null: no admin listener. */
  readonly admin: AdminConfig | null
}

export const DEFAULT_LISTEN = 'tcp://127.0.0.1:2375'
export const DEFAULT_UPSTREAM = 'unix:///var/run/docker.sock'
export const DEFAULT_LIMITS: Readonly<Limits> = Object.freeze({
  maxHeaderSize: 1024 * 1024,
  headersTimeout: 60_000,
  keepAliveTimeout: 60_000,
  upgradeBodyLimit: 1024 * 1024,
  maxBodySize: 4 * 1024 * 1024,
  shutdownTimeout: 8_000,
  // Generous: prunes, commits and deletes of large objects answer only when done.
  upstreamResponseTimeout: 600_000
})

/** The policy `dockward serve` enforces when none is named. */
export const DEFAULT_POLICY = 'default'

/**
 * Merges the file's settings with the command line's (flags win, a repeated `--listen` replaces
 * the file's list), applies defaults and checks what only makes sense as a whole.
 */
export function resolveConfig (file: ConfigInput, flags: ConfigInput, env: NodeJS.ProcessEnv): Config {
  const listenInput = flags.listen ?? file.listen ?? [DEFAULT_LISTEN]
  if (listenInput.length === 0) throw new ConfigError('listen: at least one address is needed')
  const authentication = file.authentication ?? {}
  const listen = listenInput.map((entry, i) => listener(entry, i, authentication))

  const policy = flags.policy ?? file.policy ?? DEFAULT_POLICY
  // docker-socket-proxy users name the engine's socket with SOCKET_PATH; in that mode it counts,
  // after the flag and the file, before DOCKER_HOST.
  const socketPath = Object.hasOwn(SOCKET_PROXY_POLICIES, policy) ? nonEmpty(env.SOCKET_PATH) : undefined
  const upstreamUrl = flags.upstream ?? file.upstream ?? (socketPath === undefined ? undefined : `unix://${socketPath}`) ?? nonEmpty(env.DOCKER_HOST) ?? DEFAULT_UPSTREAM
  const upstream = parseUpstreamUrl(upstreamUrl)
  const dangerous = flags.dangerouslyAllowUnauthenticatedTcp ?? file.dangerouslyAllowUnauthenticatedTcp ?? false
  const limits = { ...DEFAULT_LIMITS, ...file.limits, ...flags.limits }
  const { policyEngine, opa } = resolvePolicyEngine(file, flags)

  const seen = new Set<string>()
  for (const l of listen) {
    const key = l.kind === 'unix' ? `unix:${l.path}` : `tcp:${l.host}:${l.port}`
    if (seen.has(key)) throw new ConfigError(`listen: ${l.url} is listed twice`)
    seen.add(key)
    // Anyone who reaches a TCP port without TLS and authentication owns the engine, and through
    // it the host. Off loopback a listener needs TLS and a required method (bearer tokens over
    // plain TCP could be read off the wire), or the loud flag.
    const secured = l.kind === 'tcp' && l.tls !== undefined && l.auth.methods.length > 0 && !l.auth.anonymous
    if (l.kind === 'tcp' && !isLoopback(l.host) && !secured && !dangerous) {
      throw new ConfigError(
        `listen: ${l.url} is not a loopback address and does not require authentication over TLS: ` +
        'anyone who can reach it controls the Docker engine and the host. Use a tls:// listener with ' +
        'authentication (and anonymous: false), or pass --dangerously-allow-unauthenticated-tcp ' +
        '(config: dangerouslyAllowUnauthenticatedTcp: true) to do it anyway.'
      )
    }
    if ((l.kind === 'unix' && upstream.kind === 'unix' && l.path === upstream.socketPath) ||
        (l.kind === 'tcp' && upstream.kind === 'tcp' && l.host === upstream.host && l.port === upstream.port)) {
      throw new ConfigError(`listen: ${l.url} is the upstream itself (${upstream.url}); check DOCKER_HOST`)
    }
  }
  return Object.freeze({
    listen,
    authentication: Object.freeze({ ...authentication }),
    rateLimits: file.rateLimits ?? UNLIMITED,
    upstream,
    dangerouslyAllowUnauthenticatedTcp: dangerous,
    policy,
    policyEngine,
    opa,
    limits: Object.freeze(limits),
    tenancy: file.tenancy ?? null,
    audit: resolveAudit(file.audit ?? {}, flags.audit ?? {}),
    // A --admin-listen on the command line replaces the file's address and keeps its other settings.
    admin: resolveAdmin({ ...file.admin, ...flags.admin }, listen, upstream)
  })
}

/**
 * The engine choice and the OPA settings, checked together so that no setting is silently
 * unused: `opa` settings need `policyEngine: opa` or `both`, those need the settings, and a
 * built-in `policy` with `policyEngine: opa` would not be enforced. A flag naming the OPA
 * policy (`--opa-bundle`, `--opa-wasm`) replaces the file's source as a whole.
 */
function resolvePolicyEngine (file: ConfigInput, flags: ConfigInput): { policyEngine: PolicyEngineKind, opa: OpaSettings | null } {
  const policyEngine = flags.policyEngine ?? file.policyEngine ?? 'builtin'
  let input = file.opa
  if (flags.opa !== undefined) {
    const base: OpaSettingsInput = { ...file.opa }
    if (flags.opa.bundle !== undefined || flags.opa.wasm !== undefined) {
      delete base.bundle
      delete base.wasm
      delete base.data
    }
    input = { ...base, ...flags.opa }
  }
  if (policyEngine === 'builtin') {
    if (input !== undefined) {
      throw new ConfigError('opa: an OPA policy is configured but policyEngine is builtin, so it would not be enforced; set policyEngine: opa (OPA decides alone) or both (the built-in policy and OPA must both allow)')
    }
    return { policyEngine, opa: null }
  }
  if (input === undefined) throw new ConfigError(`policyEngine: ${policyEngine} needs an OPA policy (opa.bundle, or opa.wasm; --opa-bundle or --opa-wasm)`)
  if (policyEngine === 'opa' && (flags.policy ?? file.policy) !== undefined) {
    throw new ConfigError('policy: with policyEngine opa the built-in policy is not enforced; remove policy, or set policyEngine: both')
  }
  return { policyEngine, opa: resolveOpaSettings(input, 'opa') }
}

function listener (entry: string | ListenEntryInput, i: number, authentication: AuthenticationInput): ListenerConfig {
  if (typeof entry === 'string') {
    const address = parseListenUrl(entry)
    return Object.freeze({ ...address, auth: Object.freeze({ methods: [], anonymous: true, identity: null }) })
  }
  const where = `listen[${i}]`
  const address = parseListenUrl(entry.url, entry)
  const methods = entry.authentication ?? []
  const identity = entry.identity ?? null
  if (new Set(methods).size !== methods.length) throw new ConfigError(`${where}.authentication: a method is listed twice`)
  for (const m of methods) {
    if (m === 'mtls' && (address.kind !== 'tcp' || address.tls?.clientCa === undefined)) {
      throw new ConfigError(`${where}.authentication: mtls needs a tls:// listener with tls.clientCa`)
    }
    if (m === 'jwt' && authentication.jwt === undefined) throw new ConfigError(`${where}.authentication: jwt needs the authentication.jwt settings`)
    if (m === 'token' && (authentication.tokens ?? []).length === 0) throw new ConfigError(`${where}.authentication: token needs at least one entry in authentication.tokens`)
  }
  if (address.kind === 'tcp' && address.tls?.clientCa !== undefined && !methods.includes('mtls')) {
    throw new ConfigError(`${where}: tls.clientCa is set but mtls is not in authentication, so client certificates would be asked for and ignored`)
  }
  if (identity !== null) {
    // A fixed identity is protected only by who can open the socket file.
    if (address.kind === 'unix' && (address.mode & 0o007) !== 0) {
      throw new ConfigError(`${where}.mode: a socket with a fixed identity must not be open to other users (mode ${address.mode.toString(8).padStart(4, '0')}); use 0660 or 0600 and a group`)
    }
    if (address.kind !== 'unix') throw new ConfigError(`${where}.identity: a fixed identity is for unix sockets only, whose file mode and group decide who may connect`)
    if (methods.length > 0) throw new ConfigError(`${where}: identity and authentication exclude each other`)
    if (entry.anonymous === true) throw new ConfigError(`${where}: identity and anonymous exclude each other`)
  }
  const anonymous = entry.anonymous ?? (methods.length === 0 && identity === null)
  return Object.freeze({ ...address, auth: Object.freeze({ methods: Object.freeze([...methods]), anonymous, identity }) })
}

function nonEmpty (v: string | undefined): string | undefined {
  return v === undefined || v === '' ? undefined : v
}
