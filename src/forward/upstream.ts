import http from 'node:http'
import { ConfigError } from '../core/errors.ts'
import { EnginePool } from './engine-pool.ts'

/** Where the engine listens: a unix socket (the default) or a plain TCP address. */
export type UpstreamAddress =
  | { readonly kind: 'unix', readonly socketPath: string, readonly url: string }
  | { readonly kind: 'tcp', readonly host: string, readonly port: number, readonly url: string }

/**
 * Parses an upstream URL in the forms `DOCKER_HOST` takes: `unix:///path` or `tcp://host:port`
 * (`http://` is read as `tcp://`). TLS to the engine is not supported yet and is refused.
 */
export function parseUpstreamUrl (value: string): UpstreamAddress {
  let url: URL
  try {
    url = new URL(value)
  } catch {
    throw new ConfigError(`upstream ${JSON.stringify(value)} is not a URL (expected unix:///path or tcp://host:port)`)
  }
  if (url.protocol === 'unix:') {
    if (url.host !== '' || url.pathname === '' || url.pathname === '/') {
      throw new ConfigError(`upstream ${JSON.stringify(value)}: expected unix:///absolute/path`)
    }
    return { kind: 'unix', socketPath: decodeURIComponent(url.pathname), url: value }
  }
  if (url.protocol === 'tcp:' || url.protocol === 'http:') {
    const port = url.port === '' ? 2375 : Number(url.port)
    if (url.hostname === '' || (url.pathname !== '' && url.pathname !== '/')) {
      throw new ConfigError(`upstream ${JSON.stringify(value)}: expected tcp://host:port`)
    }
    return { kind: 'tcp', host: url.hostname.replace(/^\[|\]$/g, ''), port, url: value }
  }
  throw new ConfigError(`upstream ${JSON.stringify(value)}: unsupported scheme ${url.protocol} (use unix:// or tcp://)`)
}

/** The engine connection pool and the request options every forwarded request starts from. */
export interface Upstream {
  readonly address: UpstreamAddress
  /** Keep-alive connections for forwarded requests (engine-pool.ts). */
  readonly pool: EnginePool
  /** Pooled keep-alive agent for dockward's own lookups (engine-query.ts). */
  readonly agent: http.Agent
  /** Connection options for http.request: socketPath, or host and port. */
  readonly connect: Readonly<{ socketPath: string } | { host: string, port: number }>
  close: () => void
}

export function createUpstream (address: UpstreamAddress): Upstream {
  // LIFO keeps the hottest connections busy and lets the rest idle out; no socket timeout, because
  // events, logs -f and stats responses may be quiet for hours.
  const agent = new http.Agent({ keepAlive: true, maxFreeSockets: 256, scheduling: 'lifo' })
  const connect = address.kind === 'unix'
    ? { socketPath: address.socketPath }
    : { host: address.host, port: address.port }
  // Idle connections and answer heads as generous as the agent's: the engine is the only peer.
  const pool = new EnginePool(address, { maxIdle: 256, maxHeadBytes: 1024 * 1024 })
  return { address, pool, agent, connect, close: () => { agent.destroy(); pool.close() } }
}
