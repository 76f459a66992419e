import net from 'node:net'
import { ConfigError } from '../core/errors.ts'
import type { TlsSettings } from './tls-settings.ts'

/**
 * One address dockward accepts clients on. A TLS listener (`tls://HOST:PORT`) is a TCP one with
 * `tls` set: everything that holds for TCP (the browser guard, the loopback rule) holds for it.
 */
export type ListenAddress =
  | {
    readonly kind: 'tcp'
    readonly host: string
    readonly port: number
    readonly url: string
    /** Present for `tls://` listeners only. */
    readonly tls?: TlsSettings
  }
  | {
    readonly kind: 'unix'
    readonly path: string
    readonly url: string
    /** File mode of the socket, e.g. 0o660. */
    readonly mode: number
    /** Group that owns the socket (name or numeric id), or null to keep the process's group. */
    readonly group: string | null
    /** User that owns the socket (name or numeric id), or null to keep the process's user. */
    readonly owner: string | null
  }

export const DEFAULT_SOCKET_MODE = 0o660

/** Settings a unix listener may carry besides its path (from the YAML object form or the URL query). */
export interface UnixSocketSettings { mode?: string | undefined, group?: string | undefined, owner?: string | undefined }

/** Everything a listen entry may carry besides its URL: socket settings, or the files of a `tls://` listener. */
export interface ListenSettings extends UnixSocketSettings { tls?: TlsSettings | undefined }

/**
 * Parses `tcp://HOST:PORT`, `tls://HOST:PORT` (needs `settings.tls`) or `unix:///PATH`
 * (optionally `?mode=0660&group=docker&owner=alice`).
 *
 * @example parseListenUrl('tls://0.0.0.0:2376', { tls: { cert: 'server.pem', key: 'server-key.pem', clientCa: 'ca.pem' } })
 */
export function parseListenUrl (value: string, settings: ListenSettings = {}): ListenAddress {
  let url: URL
  try {
    url = new URL(value)
  } catch {
    throw new ConfigError(`listen address ${JSON.stringify(value)} is not a URL (expected tcp://HOST:PORT, tls://HOST:PORT or unix:///PATH)`)
  }
  if (url.protocol === 'tcp:' || url.protocol === 'tls:') {
    const scheme = url.protocol.slice(0, -1)
    if (url.port === '' || url.pathname.replace(/^\/$/, '') !== '' || url.search !== '') {
      throw new ConfigError(`listen address ${JSON.stringify(value)}: expected ${scheme}://HOST:PORT`)
    }
    const host = url.hostname.replace(/^\[|\]$/g, '')
    // File mode, group and owner are a unix socket's; on a port they would be silently ignored.
    for (const key of ['mode', 'group', 'owner'] as const) {
      if (settings[key] !== undefined) throw new ConfigError(`listen address ${JSON.stringify(value)}: ${key} is for unix:// sockets`)
    }
    if (scheme === 'tcp') {
      // The scheme says whether a port speaks TLS, so a listener can never be plain by mistake.
      if (settings.tls !== undefined) throw new ConfigError(`listen address ${JSON.stringify(value)}: has tls settings; write a TLS listener as tls://HOST:PORT`)
      return { kind: 'tcp', host, port: Number(url.port), url: value }
    }
    if (settings.tls === undefined) {
      throw new ConfigError(`listen address ${JSON.stringify(value)}: a tls:// listener needs tls settings (cert, key, and clientCa to verify client certificates)`)
    }
    return { kind: 'tcp', host, port: Number(url.port), url: value, tls: settings.tls }
  }
  if (url.protocol === 'unix:') {
    if (settings.tls !== undefined) throw new ConfigError(`listen address ${JSON.stringify(value)}: tls settings are for tls:// listeners`)
    if (url.host !== '' || url.pathname === '' || url.pathname === '/') {
      throw new ConfigError(`listen address ${JSON.stringify(value)}: expected unix:///absolute/path`)
    }
    for (const key of url.searchParams.keys()) {
      if (key !== 'mode' && key !== 'group' && key !== 'owner') throw new ConfigError(`listen address ${JSON.stringify(value)}: unknown setting ${JSON.stringify(key)} (mode, group, owner)`)
    }
    const modeText = settings.mode ?? url.searchParams.get('mode') ?? undefined
    const group = settings.group ?? url.searchParams.get('group') ?? null
    const owner = settings.owner ?? url.searchParams.get('owner') ?? null
    return {
      kind: 'unix',
      path: decodeURIComponent(url.pathname),
      url: value.replace(/\?.*$/, ''),
      mode: modeText === undefined ? DEFAULT_SOCKET_MODE : parseMode(modeText),
      group: group === '' ? null : group,
      owner: owner === '' ? null : owner
    }
  }
  throw new ConfigError(`listen address ${JSON.stringify(value)}: unsupported scheme ${url.protocol} (use tcp://, tls:// or unix://)`)
}

export function parseMode (text: string): number {
  if (!/^0?[0-7]{3}$/.test(text)) throw new ConfigError(`socket mode ${JSON.stringify(text)}: expected an octal mode such as "0660"`)
  const mode = Number.parseInt(text, 8)
  // The owner must be able to use its own socket; anything else is a typo.
  if ((mode & 0o600) !== 0o600) throw new ConfigError(`socket mode ${text}: the owner needs read and write (0600 at least)`)
  return mode
}

/** True for addresses only this machine can reach: 127.0.0.0/8, ::1 and `localhost`. */
export function isLoopback (host: string): boolean {
  if (host === 'localhost') return true
  if (net.isIPv4(host)) return host.startsWith('127.')
  if (net.isIPv6(host)) {
    const h = host.toLowerCase()
    return h === '::1' || h === '0:0:0:0:0:0:0:1' || /^::ffff:127\./.test(h)
  }
  return false
}
