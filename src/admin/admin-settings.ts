import { ConfigError } from '../core/errors.ts'
import { objectWithKeys } from '../identify/fixed-identity.ts'
import { parseSha256 } from '../identify/static-token.ts'
import { isLoopback, parseListenUrl, type ListenAddress } from '../listen/listen-address.ts'
import type { TlsSettings } from '../listen/tls-settings.ts'
import type { UpstreamAddress } from '../forward/upstream.ts'

/** The `admin` section as written (config file or `--admin-listen`), before checks. */
export interface AdminInput {
  /** tcp://HOST:PORT, tls://HOST:PORT (with `tls`) or unix:///PATH[?mode=0660&group=G]. */
  listen?: string
  tls?: TlsSettings
  mode?: string
  group?: string
  owner?: string
  /** SHA-256 of the bearer token that `POST /reload` (and, off loopback, every read) requires. */
  tokenSha256?: string
  /** A file holding the token itself (a mounted secret); re-read on reload. */
  tokenFile?: string
  /** Serve a non-loopback tcp:// admin listener without TLS and a token. */
  allowUnauthenticatedTcp?: boolean
}

/** The admin listener as dockward runs it. */
export interface AdminConfig {
  readonly address: ListenAddress
  readonly tokenSha256: string | null
  readonly tokenFile: string | null
  /**
   * Reads (`/metrics`, `/policy`) need the token too. True for listeners off loopback; `/healthz`
   * and `/readyz` stay open for probes, and `/reload` always needs the token.
   */
  readonly protectReads: boolean
}

export const ADMIN_KEYS = ['listen', 'tls', 'mode', 'group', 'owner', 'tokenSha256', 'tokenFile', 'allowUnauthenticatedTcp']

/**
 * Reads the config file's `admin` mapping (`tls` is parsed by the caller, which knows the file's
 * folder); errors name the key under `where`.
 *
 * @example parseAdminSettings({ listen: 'tcp://127.0.0.1:9323', tokenFile: '/run/secrets/admin-token' }, 'admin')
 */
export function parseAdminSettings (raw: unknown, where: string): AdminInput {
  const obj = objectWithKeys(raw, where, ADMIN_KEYS)
  const out: AdminInput = {}
  const str = (key: 'listen' | 'mode' | 'group' | 'owner' | 'tokenFile'): void => {
    const v = obj[key]
    if (v === undefined || v === null) return
    if ((key === 'group' || key === 'owner') && typeof v === 'number') { out[key] = String(v); return }
    if (typeof v !== 'string' || v === '') throw new ConfigError(`${where}.${key}: expected a non-empty string`)
    out[key] = v
  }
  str('listen')
  str('mode')
  str('group')
  str('owner')
  str('tokenFile')
  if (obj.tokenSha256 !== undefined) out.tokenSha256 = parseSha256(obj.tokenSha256, `${where}.tokenSha256`)
  if (obj.allowUnauthenticatedTcp !== undefined) {
    if (typeof obj.allowUnauthenticatedTcp !== 'boolean') throw new ConfigError(`${where}.allowUnauthenticatedTcp: expected true or false`)
    out.allowUnauthenticatedTcp = obj.allowUnauthenticatedTcp
  }
  return out
}

/**
 * The admin listener, checked against the proxied ones: never the same address as a listener or
 * the upstream, and off loopback only as `tls://` with a token (or client certificates), or with
 * `allowUnauthenticatedTcp`, the way `listen` treats the proxied API. Returns null when no admin
 * address is set (the default: off).
 *
 * @example resolveAdmin({ listen: 'tcp://127.0.0.1:9323' }, config.listen, config.upstream) // { address: { kind: 'tcp', … }, protectReads: false, … }
 */
export function resolveAdmin (input: AdminInput, taken: ReadonlyArray<ListenAddress>, upstream: UpstreamAddress): AdminConfig | null {
  if (input.listen === undefined) {
    if (Object.keys(input).length > 0) throw new ConfigError('admin: listen is missing (tcp://127.0.0.1:9323, tls://HOST:PORT or unix:///PATH)')
    return null
  }
  const address = parseListenUrl(input.listen, { tls: input.tls, mode: input.mode, group: input.group, owner: input.owner })
  if (input.tokenSha256 !== undefined && input.tokenFile !== undefined) throw new ConfigError('admin: tokenSha256 and tokenFile exclude each other')
  const hasToken = input.tokenSha256 !== undefined || input.tokenFile !== undefined
  const clientCerts = address.kind === 'tcp' && address.tls?.clientCa !== undefined
  const offLoopback = address.kind === 'tcp' && !isLoopback(address.host)
  if (offLoopback && !(address.tls !== undefined && (hasToken || clientCerts)) && input.allowUnauthenticatedTcp !== true) {
    throw new ConfigError(
      `admin.listen: ${address.url} is not a loopback address and is not tls:// with a token (tokenSha256 or tokenFile) ` +
      'or client certificates (tls.clientCa): anyone who reaches it reads the metrics and the policy. Use a loopback ' +
      'address, a unix socket or tls:// with a token, or set admin.allowUnauthenticatedTcp: true ' +
      '(--admin-allow-unauthenticated-tcp) to do it anyway. POST /reload always needs the token.'
    )
  }
  // The admin listener never shares an address with the proxied API or the engine.
  const engine: ListenAddress = upstream.kind === 'unix'
    ? { kind: 'unix', path: upstream.socketPath, url: upstream.url, mode: 0, group: null, owner: null }
    : { kind: 'tcp', host: upstream.host, port: upstream.port, url: upstream.url }
  for (const other of [...taken, engine]) {
    if (sameAddress(address, other)) throw new ConfigError(`admin.listen: ${address.url} is also ${other.url}; the admin listener needs an address of its own`)
  }
  return Object.freeze({
    address,
    tokenSha256: input.tokenSha256 ?? null,
    tokenFile: input.tokenFile ?? null,
    protectReads: offLoopback && hasToken
  })
}

function sameAddress (a: ListenAddress, b: ListenAddress): boolean {
  if (a.kind === 'unix' || b.kind === 'unix') return a.kind === 'unix' && b.kind === 'unix' && a.path === b.path
  // Port 0 picks a free port: two of them never collide. A wildcard host collides with every host.
  if (a.port === 0 || a.port !== b.port) return false
  const wildcard = (h: string): boolean => h === '0.0.0.0' || h === '::' || h === ''
  return a.host === b.host || wildcard(a.host) || wildcard(b.host)
}
