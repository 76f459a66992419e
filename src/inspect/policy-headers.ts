import { HTTP_TOKEN } from '../core/http-syntax.ts'

/**
 * Request headers as a policy may see them: the map the engine hands its AuthZ plugins (moby
 * pkg/authorization/authz.go `headers()`: Go-canonical names, the last value of a repeated
 * header, no `Authorization`, `X-Registry-Auth`, `X-Registry-Config`), which is what
 * opa-docker-authz policies read as `input.Headers`. dockward also leaves out other credentials
 * (`Proxy-Authorization`, `Cookie`) and `Host`, which Go's server moves out of the header map.
 */

// Lower-case names; compared after lower-casing.
const WITHHELD = new Set(['authorization', 'proxy-authorization', 'cookie', 'x-registry-auth', 'x-registry-config', 'host'])

/**
 * The policy view of `rawHeaders` (`[name, value, name, value, …]` as Node gives them).
 *
 * @example policyHeaders(['content-type', 'application/json', 'authorization', 'Bearer x']) // { 'Content-Type': 'application/json' }
 */
export function policyHeaders (rawHeaders: readonly string[]): Record<string, string> {
  const out = Object.create(null) as Record<string, string>
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!
    if (WITHHELD.has(name.toLowerCase())) continue
    out[canonicalHeaderKey(name)] = rawHeaders[i + 1]!
  }
  return out
}

/**
 * Go's `textproto.CanonicalMIMEHeaderKey`: the first letter and every letter after a `-` upper
 * case, the rest lower case; a name with a space or a non-token byte is left as it is.
 *
 * @example canonicalHeaderKey('x-docker-expose-session-uuid') // 'X-Docker-Expose-Session-Uuid'
 */
export function canonicalHeaderKey (name: string): string {
  if (!HTTP_TOKEN.test(name)) return name
  let out = ''
  let upper = true
  for (const c of name) {
    out += upper ? c.toUpperCase() : c.toLowerCase()
    upper = c === '-'
  }
  return out
}
