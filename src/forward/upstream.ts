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
  /** Keep-alive connections for forwarded requests and dockward's own lookups (engine-pool.ts). */
  readonly pool: EnginePool
  /** Connection options for http.request (hijacks, the engine ping): socketPath, or host and port. */
  readonly connect: Readonly<{ socketPath: string } | { host: string, port: number }>
  close: () => void
}

export function createUpstream (address: UpstreamAddress): Upstream {
  const connect = address.kind === 'unix'
    ? { socketPath: address.socketPath }
    : { host: address.host, port: address.port }
  // No socket timeout: events, logs -f and stats answers may be quiet for hours. Heads up to 1 MiB:
  // the engine is the only peer.
  const pool = new EnginePool(address, { maxIdle: 256, maxHeadBytes: 1024 * 1024 })
  return { address, pool, connect, close: () => pool.close() }
}
