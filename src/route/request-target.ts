import { AmbiguousPathError, BadRequestTargetError, InvalidApiVersionError } from '../core/errors.ts'

/** A request target reduced to what the engine will route on. */
export interface RequestTarget {
  /** Percent-decoded path without the version prefix, e.g. `/containers/abc/json`. */
  readonly path: string
  /** `MAJOR.MINOR` from a `/vMAJOR.MINOR` prefix, or null when the request has none. */
  readonly version: string | null
  /** The raw query string after `?` (without it), '' when absent. Forwarded unchanged. */
  readonly query: string
}

// Characters allowed raw in a path (RFC 3986 pchar plus '/'). Everything else must be
// percent-encoded by a client, and the engine decodes it before routing.
const RAW_PATH_OK = /^[A-Za-z0-9\-._~!$&'()*+,;=:@/%]*$/
// Decoded characters that change how a path routes or is cleaned: a decoded '/' or '.' would make
// segments the raw form does not show; '%' means double encoding; '\\' is a separator on Windows
// engines; '?' and '#' split URLs; control characters end strings in C and logs.
// eslint-disable-next-line no-control-regex
const FORBIDDEN_DECODED = /[/.%\\?#\x00-\x1f\x7f]/
// The engine's router takes any `/v[0-9.]+` first segment as a version (moby api/server/server.go
// versionMatcher); only the plain form is unambiguous.
const VERSION_LIKE = /^v[0-9.]+$/
const PLAIN_VERSION = /^v(0|[1-9][0-9]{0,3})\.(0|[1-9][0-9]{0,3})$/

/**
 * Parses an origin-form request target and refuses every form on which dockward and the engine
 * could disagree. The engine (gorilla/mux) routes on the percent-decoded path and answers 301 or
 * 404 to unclean ones; dockward decides on the decoded path, so it only accepts paths whose
 * decoded form has the same segments as the raw form.
 *
 * @example parseRequestTarget('/v1.41/containers/json?all=1')
 * // { path: '/containers/json', version: '1.41', query: 'all=1' }
 */
export function parseRequestTarget (url: string): RequestTarget {
  if (url.charCodeAt(0) !== 0x2f /* / */) {
    throw new BadRequestTargetError(url === '*'
      ? 'asterisk-form request target is not accepted'
      : 'request target must be a path (absolute-form and authority-form are not accepted)')
  }
  const q = url.indexOf('?')
  const rawPath = q === -1 ? url : url.slice(0, q)
  const query = q === -1 ? '' : url.slice(q + 1)
  if (query.includes('#')) throw new BadRequestTargetError('request target must not contain a fragment')
  if (!RAW_PATH_OK.test(rawPath)) {
    throw new AmbiguousPathError('request path contains characters that must be percent-encoded')
  }
  const path = rawPath.includes('%') ? decodePath(rawPath) : rawPath
  checkSegments(path)

  const second = path.indexOf('/', 1)
  const first = second === -1 ? path.slice(1) : path.slice(1, second)
  if (VERSION_LIKE.test(first)) {
    const m = PLAIN_VERSION.exec(first)
    if (m === null) throw new InvalidApiVersionError(`invalid API version prefix ${JSON.stringify(first)}: expected /vMAJOR.MINOR`)
    return { path: second === -1 ? '/' : path.slice(second), version: `${m[1]}.${m[2]}`, query }
  }
  return { path, version: null, query }
}

function decodePath (raw: string): string {
  let out = ''
  let last = 0
  for (let i = raw.indexOf('%'); i !== -1; i = raw.indexOf('%', last)) {
    const hex = raw.slice(i + 1, i + 3)
    if (!/^[0-9A-Fa-f]{2}$/.test(hex)) throw new AmbiguousPathError('request path has a malformed percent-encoding')
    const code = Number.parseInt(hex, 16)
    // Non-ASCII bytes would need UTF-8 reassembly; no Engine API name uses them, so refuse.
    if (code >= 0x80) throw new AmbiguousPathError('request path has a percent-encoded non-ASCII byte')
    const ch = String.fromCharCode(code)
    if (FORBIDDEN_DECODED.test(ch)) {
      throw new AmbiguousPathError(`request path has an encoded ${describe(ch)}, which the engine would decode before routing`)
    }
    out += raw.slice(last, i) + ch
    last = i + 3
  }
  return out + raw.slice(last)
}

function checkSegments (path: string): void {
  if (path.includes('//')) throw new AmbiguousPathError('request path has an empty segment (//)')
  // Dot segments: the engine would clean and redirect them; dockward does not guess the result.
  for (let i = 0; i < path.length; i++) {
    if (path.charCodeAt(i) !== 0x2e /* . */ || path.charCodeAt(i - 1) !== 0x2f) continue
    const end = path.indexOf('/', i)
    const seg = end === -1 ? path.slice(i) : path.slice(i, end)
    if (seg === '.' || seg === '..') throw new AmbiguousPathError('request path has a dot segment (. or ..)')
  }
}

function describe (ch: string): string {
  switch (ch) {
    case '/': return 'slash (%2F)'
    case '.': return 'dot (%2E)'
    case '%': return 'percent sign (%25, double encoding)'
    case '\\': return 'backslash (%5C)'
    case '\0': return 'NUL byte (%00)'
    default: return `character 0x${ch.charCodeAt(0).toString(16).padStart(2, '0')}`
  }
}
