import { ConfigError } from '../core/errors.ts'
import { isLoopback, parseListenUrl, type ListenAddress, type UnixSocketSettings } from '../listen/listen-address.ts'
import { parseUpstreamUrl, type UpstreamAddress } from '../forward/upstream.ts'

/** Settings as written in a config file or on the command line, before defaults. */
export interface ConfigInput {
  listen?: Array<string | ({ url: string } & UnixSocketSettings)>
  upstream?: string
  dangerouslyAllowUnauthenticatedTcp?: boolean
  /** A shipped policy name (`default`, `read-only`, `admin`) or a policy file path. */
  policy?: string
  limits?: Partial<Limits>
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
}

/** The validated configuration dockward runs with. */
export interface Config {
  readonly listen: readonly ListenAddress[]
  readonly upstream: UpstreamAddress
  readonly dangerouslyAllowUnauthenticatedTcp: boolean
  readonly policy: string
  readonly limits: Readonly<Limits>
}

export const DEFAULT_LISTEN = 'tcp://127.0.0.1:2375'
export const DEFAULT_UPSTREAM = 'unix:///var/run/docker.sock'
export const DEFAULT_LIMITS: Readonly<Limits> = Object.freeze({
  maxHeaderSize: 1024 * 1024,
  headersTimeout: 60_000,
  keepAliveTimeout: 60_000,
  upgradeBodyLimit: 1024 * 1024,
  maxBodySize: 4 * 1024 * 1024
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
  const listen = listenInput.map((entry) => typeof entry === 'string' ? parseListenUrl(entry) : parseListenUrl(entry.url, entry))

  const upstreamUrl = flags.upstream ?? file.upstream ?? nonEmpty(env.DOCKER_HOST) ?? DEFAULT_UPSTREAM
  const upstream = parseUpstreamUrl(upstreamUrl)
  const dangerous = flags.dangerouslyAllowUnauthenticatedTcp ?? file.dangerouslyAllowUnauthenticatedTcp ?? false
  const limits = { ...DEFAULT_LIMITS, ...file.limits, ...flags.limits }
  const policy = flags.policy ?? file.policy ?? DEFAULT_POLICY

  const seen = new Set<string>()
  for (const l of listen) {
    const key = l.kind === 'unix' ? `unix:${l.path}` : `tcp:${l.host}:${l.port}`
    if (seen.has(key)) throw new ConfigError(`listen: ${l.url} is listed twice`)
    seen.add(key)
    // Anyone who reaches a TCP port without TLS and authentication owns the engine, and through it
    // the host. Later versions add both; until then only loopback is allowed without the loud flag.
    if (l.kind === 'tcp' && !isLoopback(l.host) && !dangerous) {
      throw new ConfigError(
        `listen: ${l.url} is not a loopback address, and dockward has no TLS or authentication on it: ` +
        'anyone who can reach it controls the Docker engine and the host. Pass ' +
        '--dangerously-allow-unauthenticated-tcp (config: dangerouslyAllowUnauthenticatedTcp: true) to do it anyway.'
      )
    }
    if ((l.kind === 'unix' && upstream.kind === 'unix' && l.path === upstream.socketPath) ||
        (l.kind === 'tcp' && upstream.kind === 'tcp' && l.host === upstream.host && l.port === upstream.port)) {
      throw new ConfigError(`listen: ${l.url} is the upstream itself (${upstream.url}); check DOCKER_HOST`)
    }
  }
  return Object.freeze({ listen, upstream, dangerouslyAllowUnauthenticatedTcp: dangerous, policy, limits: Object.freeze(limits) })
}

function nonEmpty (v: string | undefined): string | undefined {
  return v === undefined || v === '' ? undefined : v
}
