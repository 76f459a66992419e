import http, { type IncomingMessage } from 'node:http'
import type { Duplex } from 'node:stream'
import type { Socket } from 'node:net'
import {
  BadFramingError, BodyTooLargeError, LengthRequiredError, UpstreamProtocolError, UpstreamUnavailableError, toGatewayError, type GatewayError
} from '../core/errors.ts'
import type { UpgradeProtocol } from '../route/hijack-routes.ts'
import { endToEndHeaders, rawHeader, withContentLength, withHost } from './hop-headers.ts'
import { checkConnectionHeader } from './request-framing.ts'
import { sendErrorOnSocket } from '../core/error-response.ts'
import type { Upstream } from './upstream.ts'

/** What happened to one upgrade request, for audit and metrics. */
export interface HijackOutcome {
  readonly status: number
  /** `hijacked`: bytes were relayed both ways until both sides closed; `http`: the engine answered normally. */
  readonly kind: 'hijacked' | 'http' | 'failed'
  readonly bytesFromClient: number
  /** Stream bytes, or for `http` the answer's body bytes. */
  readonly bytesToClient: number
  readonly end: 'complete' | 'client-closed' | 'upstream-closed' | 'error'
  readonly error?: Error
}

export interface UpgradeRequest {
  readonly req: IncomingMessage
  /** The request target sent to the engine: the checked path with the canonical query. */
  readonly path: string
  readonly socket: Duplex
  /** Bytes Node read past the request headers: the start of the body, maybe more. */
  readonly head: Buffer
  /** The protocol to ask the engine for, or null to forward the request as an ordinary exchange. */
  readonly protocol: UpgradeProtocol | null
  /**
   * The client used the pre-Upgrade form of attach/exec start (no Upgrade headers). The engine is
   * asked with `Upgrade: tcp`; the 101 is turned back into the `200 OK` raw-stream head the engine
   * writes for that form (moby api/server/router/container/exec.go).
   */
  readonly legacy: boolean
  /** Cap on a body that must be read before forwarding. */
  readonly bodyLimit: number
  /** Turns the body as read into the bytes to send (canonical JSON); throws a GatewayError to refuse. */
  readonly rewriteBody: (body: Buffer) => Buffer
  /** Time the client has to send that body. */
  readonly bodyTimeout: number
  /** Hands the socket back to the HTTP server when the exchange stayed HTTP, with unread bytes. */
  readonly resumeHttp: (socket: Duplex, unread: Buffer) => void
  /** The engine switched protocols and its head was relayed: the stream is open (audit, metrics). */
  readonly onSwitched?: () => void
}

/**
 * Relays an upgrade request (attach, exec start, /session, /grpc). Node hands over the socket right
 * after the headers and never reads the body, so the body (exec start's JSON) is read here, up to
 * `bodyLimit`, by Content-Length. If the engine switches protocols, its 101 head is relayed as sent
 * and then bytes flow both ways untouched, with half-close carried over: `echo ok | docker run -i`
 * ends the client's write side first and still expects the output. If the engine answers with an
 * ordinary response, it is relayed and the connection goes back to the HTTP parser.
 */
export function relayUpgrade (u: UpgradeRequest, upstream: Upstream, done: (outcome: HijackOutcome) => void): void {
  const { req, socket } = u
  let finished = false
  const finish = (o: HijackOutcome): void => { if (!finished) { finished = true; done(o) } }
  const fail = (err: GatewayError): void => {
    sendErrorOnSocket(socket, err)
    finish({ status: err.status, kind: 'failed', bytesFromClient: 0, bytesToClient: 0, end: 'error', error: err })
  }
  // Node removed its own listeners before handing the socket over; an error now would crash.
  socket.on('error', () => socket.destroy())
  try {
    checkConnectionHeader(req.rawHeaders)
  } catch (err) {
    fail(toGatewayError(err))
    return
  }

  let length = 0
  if (rawHeader(req.rawHeaders, 'transfer-encoding') !== undefined) {
    fail(new LengthRequiredError('an upgrade request must carry its body with a Content-Length'))
    return
  }
  const cl = rawHeader(req.rawHeaders, 'content-length')
  if (cl !== undefined) {
    if (!/^[0-9]{1,15}$/.test(cl.trim())) { fail(new BadFramingError('invalid Content-Length')); return }
    length = Number(cl.trim())
  }
  if (length > u.bodyLimit) { fail(new BodyTooLargeError(u.bodyLimit)); return }

  readExactly(socket, u.head, length, u.bodyTimeout, (body, unread) => {
    if (body === null) {
      // The client closed or stalled before its body was complete; nothing was forwarded.
      socket.destroy()
      finish({ status: 0, kind: 'failed', bytesFromClient: 0, bytesToClient: 0, end: 'client-closed' })
      return
    }
    sendUpstream(body, unread)
  })

  function sendUpstream (raw: Buffer, unread: Buffer): void {
    let upReq: http.ClientRequest
    let body: Buffer
    try {
      body = u.rewriteBody(raw)
      upReq = openUpstream(body)
    } catch (err) {
      fail(toGatewayError(err))
      return
    }
    continueUpstream(upReq, body, unread)
  }

  function openUpstream (body: Buffer): http.ClientRequest {
    return http.request({
      ...upstream.connect,
      // A connection of its own: it becomes the hijacked stream or is closed after the answer.
      agent: false,
      method: req.method,
      path: u.path,
      headers: framedHeaders(req.rawHeaders, u.protocol, body.length),
      setHost: false
    })
  }

  function continueUpstream (upReq: http.ClientRequest, body: Buffer, unread: Buffer): void {
    const clientGone = (): void => {
      finish({ status: 0, kind: 'failed', bytesFromClient: 0, bytesToClient: 0, end: 'client-closed' })
    }
    // The client may have left while the request was admitted: its 'close' has already fired.
    if (socket.destroyed) {
      upReq.destroy()
      clientGone()
      return
    }
    const onClientGone = (): void => { upReq.destroy(); clientGone() }
    socket.once('close', onClientGone)
    let answered = false

    upReq.on('error', (err) => {
      socket.removeListener('close', onClientGone)
      // Once the engine's answer is on its way, an error can only cut the connection.
      if (answered) socket.destroy()
      else fail(new UpstreamUnavailableError(upstream.address.url, err))
    })

    upReq.on('upgrade', (upRes: IncomingMessage, upSocket: Socket, upHead: Buffer) => {
      answered = true
      socket.removeListener('close', onClientGone)
      if (socket.destroyed) {
        // Nobody to relay to: end the engine's side of the stream instead of holding it open.
        upSocket.destroy()
        clientGone()
        return
      }
      if (u.protocol === null) {
        // The engine switched protocols on a route that never may: relaying would let the client
        // speak to the engine unchecked from here on.
        upSocket.destroy()
        fail(new UpstreamProtocolError(`engine switched protocols on ${req.method} ${u.path}, which dockward does not allow`))
        return
      }
      socket.write(u.legacy ? legacyHead(upRes) : switchingHead(upRes))
      if (upHead.length > 0) socket.write(upHead)
      if (unread.length > 0) upSocket.write(unread)
      u.onSwitched?.()
      // Stream bytes only: what follows the heads, both ways.
      const fromClient = { bytes: unread.length }
      const toClient = { bytes: upHead.length }
      // Batching reads suits the raw stdio streams of attach and exec; BuildKit's h2c sessions
      // are request/response traffic where a wait per read would add up.
      splice(socket, upSocket, u.protocol === 'tcp', fromClient, toClient, (end) => {
        finish({ status: 101, kind: 'hijacked', bytesFromClient: fromClient.bytes, bytesToClient: toClient.bytes, end })
      })
    })

    upReq.on('response', (upRes) => {
      answered = true
      socket.removeListener('close', onClientGone)
      relayResponse(upRes, req, socket, unread, u.resumeHttp, (end, bytesToClient) => {
        finish({ status: upRes.statusCode ?? 0, kind: 'http', bytesFromClient: 0, bytesToClient, end })
      })
    })

    upReq.end(body)
  }
}

/**
 * The headers sent to the engine: end-to-end ones, the decided Upgrade, and a Content-Length for
 * exactly the body that was read (never the client's own framing).
 */
function framedHeaders (raw: readonly string[], protocol: UpgradeProtocol | null, length: number): string[] {
  return withHost(withContentLength(endToEndHeaders(raw, { upgrade: protocol ?? undefined }), length > 0 ? length : null))
}

/**
 * Reads `length` body bytes from `head` and then the socket, within `timeoutMs`; returns the body
 * and what came after it, or null when the client closed or stalled first.
 */
function readExactly (socket: Duplex, head: Buffer, length: number, timeoutMs: number, cb: (body: Buffer | null, unread: Buffer) => void): void {
  if (head.length >= length) {
    cb(head.subarray(0, length), head.subarray(length))
    return
  }
  const timer = setTimeout(() => { cleanup(); cb(null, Buffer.alloc(0)) }, timeoutMs)
  const parts: Buffer[] = [head]
  let have = head.length
  const onData = (chunk: Buffer): void => {
    parts.push(chunk)
    have += chunk.length
    if (have < length) return
    cleanup()
    socket.pause()
    const all = Buffer.concat(parts, have)
    cb(all.subarray(0, length), all.subarray(length))
  }
  const onEnd = (): void => { cleanup(); cb(null, Buffer.alloc(0)) }
  const cleanup = (): void => {
    clearTimeout(timer)
    socket.removeListener('data', onData)
    socket.removeListener('end', onEnd)
    socket.removeListener('close', onEnd)
  }
  socket.on('data', onData)
  socket.on('end', onEnd)
  socket.on('close', onEnd)
  // The gateway pauses the socket until the request is admitted; a 'data' listener alone does
  // not restart a stream paused explicitly.
  socket.resume()
}

function switchingHead (res: IncomingMessage): string {
  return responseHead(`HTTP/${res.httpVersion} ${res.statusCode ?? 101} ${res.statusMessage ?? ''}`, res.rawHeaders)
}

function legacyHead (res: IncomingMessage): string {
  const raw = res.rawHeaders.filter((_, i, all) => !LEGACY_DROPPED.has(all[i - (i % 2)]!.toLowerCase()))
  return responseHead('HTTP/1.1 200 OK', ['Content-Type', 'application/vnd.docker.raw-stream', ...raw])
}

const LEGACY_DROPPED = new Set(['content-type', 'connection', 'upgrade'])

/** A response head: status line, raw headers in order, blank line. */
function responseHead (statusLine: string, raw: readonly string[]): string {
  let head = statusLine + '\r\n'
  for (let i = 0; i < raw.length; i += 2) head += `${raw[i]}: ${raw[i + 1]}\r\n`
  return head + '\r\n'
}

/**
 * Pipes two sockets both ways. An end (FIN) from one side becomes an end on the other, so a client
 * that closes its write side after stdin still reads the output; an error or reset on either side
 * tears both down.
 */
function splice (client: Duplex, engine: Socket, pace: boolean, fromClient: ByteCount, toClient: ByteCount, done: (end: HijackOutcome['end']) => void): void {
  let reported = false
  const report = (end: HijackOutcome['end']): void => { if (!reported) { reported = true; done(end) } }
  let engineEnded = false
  // The side that failed first is the one the record names: each failure destroys the other side,
  // whose 'close' may then run first.
  let failed: 'client' | 'engine' | null = null
  engine.on('end', () => { engineEnded = true })
  engine.on('error', () => { failed ??= 'engine'; client.destroy() })
  client.on('error', () => { failed ??= 'client'; engine.destroy() })
  client.on('close', () => {
    engine.destroy()
    report(failed === 'engine' ? 'upstream-closed' : 'client-closed')
  })
  engine.on('close', () => {
    // The engine closes the whole connection when the stream is over, as it would directly: once
    // the pipe has flushed the rest to the client and ended it, close it. Without a clean FIN, cut it.
    if (!engineEnded) client.destroy()
    else if (client.writableFinished) client.destroy()
    else client.once('finish', () => client.destroy())
    report(failed === 'client' ? 'client-closed' : engineEnded ? 'complete' : 'upstream-closed')
  })
  relay(client, engine, pace, fromClient)
  relay(engine, client, pace, toClient)
  client.resume()
}

/** Bytes relayed one way, read when the stream ends. */
interface ByteCount { bytes: number }

/**
 * One direction of a hijacked stream: every byte, in order, with backpressure (the source pauses
 * while the destination's buffer is full), and an end carried over as an end. With `pace`, a read
 * that found only a small piece (under RELAY_PACE_BELOW) means the sender writes in small pieces
 * (the engine writes each output frame on its own, a few KiB for line-buffered output): the next
 * read waits up to RELAY_PACE_MS so pieces travel together. Measured with `yes` in an exec, that
 * lets the engine batch too (its CPU per byte falls) and halves dockward's; a full-sized frame
 * (32 KiB from the engine's copy buffer) is never held back, since waiting on those let the
 * engine's socket buffer fill and cut `head -c 1G /dev/zero` by 15 %.
 */
function relay (src: Duplex, dst: Duplex, pace: boolean, count: ByteCount): void {
  let full = false
  let pacing = false
  const resume = (): void => { if (!full && !pacing && !src.destroyed) src.resume() }
  const endPace = (): void => { pacing = false; resume() }
  src.on('data', (chunk: Buffer) => {
    count.bytes += chunk.length
    if (!dst.write(chunk)) {
      full = true
      src.pause()
    }
    if (pace && chunk.length < RELAY_PACE_BELOW && !pacing) {
      pacing = true
      src.pause()
      setTimeout(endPace, RELAY_PACE_MS)
    }
  })
  dst.on('drain', () => { full = false; resume() })
  src.on('end', () => dst.end())
}

const RELAY_PACE_BELOW = 16 * 1024
const RELAY_PACE_MS = 1

/**
 * Writes an ordinary engine response on the raw socket with our own framing (Node's client has
 * already removed the engine's), then gives the connection back to the HTTP parser unless either
 * side asked to close it.
 */
function relayResponse (
  upRes: IncomingMessage,
  req: IncomingMessage,
  socket: Duplex,
  unread: Buffer,
  resumeHttp: (socket: Duplex, unread: Buffer) => void,
  done: (end: HijackOutcome['end'], bodyBytes: number) => void
): void {
  const status = upRes.statusCode ?? 502
  let bytes = 0
  const noBody = req.method === 'HEAD' || status === 204 || status === 304 || (status >= 100 && status < 200)
  const length = upRes.headers['content-length']
  const chunked = !noBody && length === undefined
  const closeAfter = req.httpVersion === '1.0' || /\bclose\b/i.test(rawHeader(req.rawHeaders, 'connection') ?? '')
  const raw = endToEndHeaders(upRes.rawHeaders)
  if (chunked) raw.push('Transfer-Encoding', 'chunked')
  if (closeAfter) raw.push('Connection', 'close')
  socket.write(responseHead(`HTTP/1.1 ${status} ${upRes.statusMessage ?? ''}`, raw))

  upRes.on('data', (chunk: Buffer) => {
    bytes += chunk.length
    const ok = chunked
      ? socket.write(`${chunk.length.toString(16)}\r\n`) && socket.write(chunk) && socket.write('\r\n')
      : socket.write(chunk)
    if (!ok) { upRes.pause(); socket.once('drain', () => upRes.resume()) }
  })
  const onClientGone = (): void => { upRes.destroy(); done('client-closed', bytes) }
  socket.once('close', onClientGone)
  upRes.on('error', () => { socket.destroy(); done('error', bytes) })
  upRes.on('end', () => {
    socket.removeListener('close', onClientGone)
    if (chunked) socket.write('0\r\n\r\n')
    if (closeAfter) {
      socket.end()
    } else {
      socket.removeAllListeners('error')
      resumeHttp(socket, unread)
    }
    done('complete', bytes)
  })
}
