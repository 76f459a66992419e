import type { ServerResponse } from 'node:http'
import type { Duplex } from 'node:stream'
import type { GatewayError } from './errors.ts'
import { STATUS_CODES } from 'node:http'

/** Writes dockward's own answer in the engine's error format on an HTTP response. */
export function sendError (res: ServerResponse, err: GatewayError): void {
  if (res.headersSent) {
    // Too late for a status: cut the connection so the client sees a broken stream, not a short one.
    res.destroy(err)
    return
  }
  const body = err.toBody()
  res.writeHead(err.status, {
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(body)
  })
  res.end(body)
}

/**
 * The same answer written on a raw socket (upgrade requests and client errors, where Node no longer
 * owns the connection). The connection is closed afterwards: the rest of the request's bytes were
 * not read, so nothing after them can be parsed safely.
 */
export function sendErrorOnSocket (socket: Duplex, err: GatewayError): void {
  if (socket.destroyed) return
  const body = err.toBody()
  socket.end(
    `HTTP/1.1 ${err.status} ${STATUS_CODES[err.status] ?? 'Error'}\r\n` +
    'Content-Type: application/json\r\n' +
    `Content-Length: ${Buffer.byteLength(body)}\r\n` +
    'Connection: close\r\n\r\n' + body
  )
}
