/** How a caller proved who it is: a listener's own `anonymous` or fixed `socket` identity, or a credential. */
export type AuthMethod = 'anonymous' | 'mtls' | 'jwt' | 'token' | 'socket'

const authMethodSet: { readonly [M in AuthMethod]: true } = { anonymous: true, mtls: true, jwt: true, token: true, socket: true }
/** Every AuthMethod, for checking the names configs and policies give. */
export const authMethods = Object.keys(authMethodSet) as readonly AuthMethod[]

/**
 * Who sent a request, as policy rules and audit records see it. Built by the identify stage from a
 * verified credential or the listener's fixed identity; never from anything the client merely claims.
 */
export interface Identity {
  /** Stable name: certificate subject, token subject, socket owner, or `anonymous`. */
  readonly name: string
  /** The tenant the caller acts for, or null when it acts for none (operators, anonymous). */
  readonly tenant: string | null
  readonly groups: readonly string[]
  readonly method: AuthMethod
}

export const anonymousIdentity: Identity = Object.freeze({
  name: 'anonymous',
  tenant: null,
  groups: Object.freeze([]) as readonly string[],
  method: 'anonymous'
})
