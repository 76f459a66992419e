/**
 * Header handling for the forwarded request and response. Node joins duplicate headers in
 * `req.headers`; BuildKit sends some several times (X-Docker-Expose-Session-Grpc-Method), so
 * everything here works on `rawHeaders`, keeping order, case and duplicates.
 */

// RFC 9110 §7.6.1 hop-by-hop fields, plus Expect: dockward answers `100-continue` itself.
const HOP_BY_HOP = new Set([
  'connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade',
  'proxy-authorization', 'proxy-authenticate', 'expect'
])

// Credentials for dockward itself: the engine has no use for them, and they must not reach its
// logs or a plugin. (Registry credentials travel in X-Registry-Auth, which passes.)
const DOCKWARD_ONLY = new Set(['authorization'])

// Never removed because a Connection header names them: dropping a request's Content-Length would
// send its body unframed, and the engine would read it as a second request. Requests whose
// Connection header names them are refused before this (request-framing.ts).
const FRAMING = new Set(['content-length', 'host'])

/** Options for `endToEndHeaders`. */
export interface HeaderFilterOptions {
  /** Keep `Upgrade` and a `Connection: Upgrade` for a request that may switch protocols. */
  readonly upgrade?: string | undefined
}

/**
 * Returns `rawHeaders` without hop-by-hop fields and without the fields the `Connection` header
 * names, as the flat [name, value, ...] list that http.request and writeHead accept.
 */
export function endToEndHeaders (raw: readonly string[], options?: HeaderFilterOptions): string[] {
  let named: Set<string> | null = null
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i]!.length === 10 && raw[i]!.toLowerCase() === 'connection') {
      for (const token of raw[i + 1]!.split(',')) {
        const t = token.trim().toLowerCase()
        if (t !== '' && t !== 'close' && t !== 'keep-alive' && t !== 'upgrade' && !FRAMING.has(t)) (named ??= new Set()).add(t)
      }
    }
  }
  const out: string[] = []
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!
    const lower = name.toLowerCase()
    if (HOP_BY_HOP.has(lower) || DOCKWARD_ONLY.has(lower) || named?.has(lower) === true) continue
    out.push(name, raw[i + 1]!)
  }
  if (options?.upgrade !== undefined) out.push('Connection', 'Upgrade', 'Upgrade', options.upgrade)
  return out
}

/** Names a Connection header lists that must never be treated as hop-by-hop, or null. */
export function connectionNamesFraming (raw: readonly string[]): string | null {
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i]!.length !== 10 || raw[i]!.toLowerCase() !== 'connection') continue
    for (const token of raw[i + 1]!.split(',')) {
      const t = token.trim().toLowerCase()
      if (FRAMING.has(t)) return t
    }
  }
  return null
}

/**
 * For a body dockward read itself: drops the client's Content-Length from `headers` and, when
 * `length` is not null, states the length of exactly the bytes that will be sent.
 */
export function withContentLength (headers: readonly string[], length: number | null): string[] {
  const out: string[] = []
  for (let i = 0; i < headers.length; i += 2) {
    if (headers[i]!.toLowerCase() !== 'content-length') out.push(headers[i]!, headers[i + 1]!)
  }
  if (length !== null) out.push('Content-Length', String(length))
  return out
}

/** `headers` with every Content-Type replaced by one of dockward's own. */
export function withContentType (headers: readonly string[], type: string): string[] {
  const out: string[] = []
  for (let i = 0; i < headers.length; i += 2) {
    if (headers[i]!.toLowerCase() !== 'content-type') out.push(headers[i]!, headers[i + 1]!)
  }
  out.push('Content-Type', type)
  return out
}

/**
 * `headers` with a Host header: an HTTP/1.0 client may send none, and dockward speaks HTTP/1.1 to
 * the engine, which refuses a request without one ("missing required Host header").
 */
export function withHost (headers: string[]): string[] {
  if (rawHeader(headers, 'host') === undefined) headers.push('Host', 'docker')
  return headers
}

/** The value of the first header with this (lower-case) name, or undefined. */
export function rawHeader (raw: readonly string[], lowerName: string): string | undefined {
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i]!.length === lowerName.length && raw[i]!.toLowerCase() === lowerName) return raw[i + 1]
  }
  return undefined
}
