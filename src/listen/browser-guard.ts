import type { IncomingMessage } from 'node:http'
import { CrossSiteRequestError } from '../core/errors.ts'
import { isLoopback, type ListenAddress } from './listen-address.ts'

/**
 * Keeps web pages away from the engine. Browsers can reach a TCP listener (a page's fetch or
 * websocket to 127.0.0.1:2375, or DNS rebinding a name of the attacker's to 127.0.0.1), and the
 * Docker API is root on the host. Docker clients send no `Origin`; browsers always do on
 * cross-origin requests and websockets. On a loopback listener the `Host` must name loopback too,
 * which a rebound name cannot. Unix sockets are out of a browser's reach and are not checked.
 *
 * Returns a check for the listener, or null when none applies.
 */
export function browserGuard (address: ListenAddress): ((req: IncomingMessage) => CrossSiteRequestError | null) | null {
  if (address.kind !== 'tcp') return null
  const checkHost = isLoopback(address.host)
  return function checkRequest (req: IncomingMessage): CrossSiteRequestError | null {
    if (req.headers.origin !== undefined) {
      return new CrossSiteRequestError('dockward refuses requests sent by web browsers (Origin header)')
    }
    const host = req.headers.host
    if (checkHost && host !== undefined && !isLoopbackHostHeader(host)) {
      return new CrossSiteRequestError(`dockward listens on loopback and refuses requests for host ${JSON.stringify(host)}`)
    }
    return null
  }
}

function isLoopbackHostHeader (host: string): boolean {
  const name = host.startsWith('[') ? host.slice(1, host.indexOf(']')) : host.replace(/:\d*$/, '')
  const lower = name.toLowerCase()
  return isLoopback(lower) || lower.endsWith('.localhost')
}
