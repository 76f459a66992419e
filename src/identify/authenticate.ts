import type { IncomingMessage } from 'node:http'
import { AuthenticationError } from '../core/errors.ts'
import type { Authenticator } from './authenticator.ts'
import { anonymousIdentity, type Identity } from './identity.ts'

/** How one listener identifies its callers. */
export interface ListenerAuth {
  /** Tried in order; the first that identifies the caller wins. */
  readonly authenticators: readonly Authenticator[]
  /** Whether a request that carries no credential at all is let in as `anonymous`. */
  readonly allowAnonymous: boolean
}

/**
 * The identify step. Each method in turn: one that finds no credential of its kind passes to the
 * next; one that finds an invalid credential ends the chain with a 401 (a bad token is never
 * retried as anonymous). No credential at all is `anonymous` where the listener allows it, else
 * 401. The client only ever sees "authentication required"; `onRejected` gets the reason for the
 * operational log.
 *
 * @example await identify(req, { authenticators: [mtls, jwt], allowAnonymous: false }, log) // { name: 'ci-runner-7', method: 'mtls', … }
 */
export async function identify (req: IncomingMessage, auth: ListenerAuth, onRejected: (method: string, reason: string) => void): Promise<Identity> {
  for (const authenticator of auth.authenticators) {
    const outcome = await authenticator.authenticate(req)
    if (outcome.kind === 'identified') return outcome.identity
    if (outcome.kind === 'rejected') {
      onRejected(authenticator.method, outcome.reason)
      throw new AuthenticationError()
    }
  }
  // A credential no method took (a Basic header, a token of a kind this listener does not
  // accept) is a failed login, not an anonymous caller.
  if (hasAuthorization(req)) {
    onRejected('none', 'an Authorization header that no method of this listener accepts')
    throw new AuthenticationError()
  }
  if (auth.allowAnonymous) return anonymousIdentity
  onRejected('none', `no credential (tried: ${auth.authenticators.map((a) => a.method).join(', ') || 'nothing'})`)
  throw new AuthenticationError()
}

function hasAuthorization (req: IncomingMessage): boolean {
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    if (req.rawHeaders[i]!.length === 13 && req.rawHeaders[i]!.toLowerCase() === 'authorization') return true
  }
  return false
}
