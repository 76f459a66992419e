import http, { type IncomingMessage, type ServerResponse } from 'node:http'
import { UpstreamUnavailableError } from '../core/errors.ts'
import { endToEndHeaders } from './hop-headers.ts'
import type { BodyFraming } from './request-framing.ts'
import type { Upstream } from './upstream.ts'
import { sendError } from './error-response.ts'

function corkForTurn (res: ServerResponse): void {
  if (res.writableCorked !== 0) return
  res.cork()
  setImmediate(uncork, res)
}

function uncork (res: ServerResponse): void { res.uncork() }

/** What happened to one forwarded exchange, for audit and metrics. */
export interface ForwardOutcome {
  /** The engine's status code, or dockward's own when the engine was not reached. */
  readonly status: number
  /** How the exchange ended: the response completed, the client left, or the engine failed. */
  readonly end: 'complete' | 'client-aborted' | 'upstream-error'
  readonly error?: Error
}

/**
 * Relays one ordinary (non-upgrade) request to the engine and its response back, streaming both
 * bodies with backpressure and without timeouts: logs -f, events and stats may be quiet for hours.
 * The request target is forwarded exactly as received (it was checked to route the same in the engine).
 */
export function forwardRequest (
  req: IncomingMessage,
  res: ServerResponse,
  upstream: Upstream,
  framing: BodyFraming,
  done: (outcome: ForwardOutcome) => void
): void {
  const headers = endToEndHeaders(req.rawHeaders)
  // The hop-by-hop Transfer-Encoding was dropped; say again that the body is chunked, or Node
  // would send a GET or DELETE body unframed.
  if (framing === 'chunked') headers.push('Transfer-Encoding', 'chunked')

  let finished = false
  const finish = (outcome: ForwardOutcome): void => {
    if (finished) return
    finished = true
    done(outcome)
  }

  const upReq = http.request({
    ...upstream.connect,
    agent: upstream.agent,
    method: req.method,
    path: req.url,
    headers,
    // Keep the client's header casing and order; Node would otherwise add none of its own except Host.
    setHost: false
  })

  upReq.on('response', (upRes) => {
    const status = upRes.statusCode ?? 502
    // Everything written until the end of this event-loop turn (head, body frames, the final
    // chunk) leaves in one writev: the engine writes streams in small frames, and one socket read
    // parses into many of them.
    corkForTurn(res)
    res.writeHead(status, upRes.statusMessage, endToEndHeaders(upRes.rawHeaders))
    // A streaming response (no Content-Length: events, logs, wait, pull) must reach the client
    // before its first body byte: `docker run` waits for the headers of POST /wait before it starts
    // the container, and Node holds headers back until the first write.
    if (upRes.headers['content-length'] === undefined) res.flushHeaders()
    // A hand-written relay rather than pipe(): a handful of listeners per request instead of a
    // dozen, with the same backpressure (pause the engine's response until the client drains).
    upRes.on('data', (chunk: Buffer) => {
      corkForTurn(res)
      if (!res.write(chunk)) upRes.pause()
    })
    res.on('drain', () => upRes.resume())
    upRes.on('end', () => { res.end() })
    upRes.on('error', (err) => {
      res.destroy(err)
      finish({ status, end: 'upstream-error', error: err })
    })
    res.on('finish', () => finish({ status, end: 'complete' }))
  })

  upReq.on('error', (err) => {
    if (finished) return
    if (!res.headersSent) {
      const e = new UpstreamUnavailableError(upstream.address.url, err)
      sendError(res, e)
      finish({ status: e.status, end: 'upstream-error', error: err })
    } else {
      res.destroy(err)
      finish({ status: res.statusCode, end: 'upstream-error', error: err })
    }
  })

  // The client went away (or its socket failed): abort the engine request so the engine stops
  // streaming and the pooled connection is not reused half-read.
  res.on('close', () => {
    if (res.writableFinished) return
    upReq.destroy()
    finish({ status: res.statusCode, end: 'client-aborted' })
  })

  if (framing === 'none') {
    upReq.end()
  } else {
    req.pipe(upReq)
    req.on('error', () => upReq.destroy())
  }
}
