import type { IncomingMessage } from 'node:http'
import type { Identity, AuthMethod } from './identity.ts'

/**
 * What one authentication method makes of a request. `absent`: no credential of this method's kind
 * (the chain tries the next method); `rejected`: one that is not valid (401; the reason only goes
 * to the log).
 */
export type AuthOutcome =
  | { readonly kind: 'identified', readonly identity: Identity }
  | { readonly kind: 'absent' }
  | { readonly kind: 'rejected', readonly reason: string }

/** One way of proving who a caller is (mTLS, JWT, token, a socket's fixed identity). */
export interface Authenticator {
  readonly method: AuthMethod
  authenticate: (req: IncomingMessage) => AuthOutcome | Promise<AuthOutcome>
  /** Re-reads key material now (SIGHUP). */
  reload?: () => void
  close?: () => void
}

/** Two Authorization headers: a value no token can be, unlike a string. */
export const AMBIGUOUS: unique symbol = Symbol('two Authorization headers')

/**
 * `Authorization: Bearer <x>` from rawHeaders (scheme case-insensitive), null when none,
 * AMBIGUOUS for two Authorization headers. `Bearer` with nothing after it gives ''.
 *
 * @example bearerToken(req) // 'dwt_…' for "Authorization: Bearer dwt_…"
 */
export function bearerToken (req: IncomingMessage): string | null | typeof AMBIGUOUS {
  // rawHeaders, not req.headers: Node keeps only the first of duplicate Authorization headers there,
  // and a proxy in front may honour the other one.
  let value: string | null = null
  for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) {
    if ((req.rawHeaders[i] as string).toLowerCase() !== 'authorization') continue
    if (value !== null) return AMBIGUOUS
    value = req.rawHeaders[i + 1] as string
  }
  if (value === null) return null
  const m = /^bearer(?:[ \t]+(.*))?$/i.exec(value.trim())
  if (m === null) return null
  return (m[1] ?? '').trim()
}

/**
 * Three base64url parts separated by dots (the signature may be empty, so unsigned JWTs still go
 * to the JWT authenticator, which refuses them).
 *
 * @example looksLikeJwt('eyJhbGciOi.eyJzdWIiOi.c2ln') // true
 */
export function looksLikeJwt (token: string): boolean {
  return /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/.test(token)
}
