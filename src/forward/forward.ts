import http, { type IncomingMessage, type ServerResponse } from 'node:http'
import { UpstreamProtocolError, UpstreamTimeoutError, UpstreamUnavailableError } from '../core/errors.ts'
import { endToEndHeaders, withContentLength, withContentType } from './hop-headers.ts'
import type { BodyFraming } from './request-framing.ts'
import type { Upstream } from './upstream.ts'
import { relayFiltered, type ResponseFilter } from './response-filter.ts'
import { sendError } from '../core/error-response.ts'

/**
 * Collects the body chunks that arrive during one event-loop turn and writes them as one chunk
 * when the turn ends (setImmediate runs after the poll phase that delivered them). The response
 * head and the final chunk go out in the same write when they fall in the same turn.
 */
class TurnBuffer {
  readonly #res: ServerResponse
  readonly #src: IncomingMessage
  #pending: Buffer[] = []
  #bytes = 0
  #scheduled = false
  #ended = false
  #lastBytesRead = 0

  constructor (res: ServerResponse, src: IncomingMessage) {
    this.#res = res
    this.#src = src
    // Pooled connections carry earlier responses' bytes in their count.
    this.#lastBytesRead = src.socket?.bytesRead ?? 0
  }

  push (chunk: Buffer): void {
    this.#pending.push(chunk)
    this.#bytes += chunk.length
    // Past a high-water mark, stop reading until this turn's bytes are out.
    if (this.#bytes >= 1024 * 1024) this.#src.pause()
    this.#schedule()
  }

  end (): void {
    this.#ended = true
    this.#schedule()
  }

  #schedule (): void {
    if (this.#scheduled) return
    this.#scheduled = true
    setImmediate(() => this.#flush())
  }

  #flush (): void {
    this.#scheduled = false
    const res = this.#res
    if (res.destroyed) return
    const pending = this.#pending
    let ok = true
    if (pending.length > 0) {
      const chunk = pending.length === 1 ? pending[0]! : Buffer.concat(pending, this.#bytes)
      this.#pending = []
      this.#bytes = 0
      res.cork()
      ok = res.write(chunk)
      if (this.#ended) res.end()
      res.uncork()
    } else if (this.#ended) {
      res.end()
    }
    if (this.#ended) return
    if (!ok) {
      this.#src.pause()
    } else {
      if (this.#src.isPaused()) this.#src.resume()
      this.#pace()
    }
  }

  // The engine writes every frame with its own syscall; read as it writes, a stream of short log
  // lines costs one read, one parse and one write per line. When a turn brought little, let the
  // next frames gather in the socket for a moment. A fast stream always brings more than the
  // threshold and is never held back; a slow one waits at most PACE_MS.
  #pace (): void {
    const socket = this.#src.socket
    if (socket === null || socket.isPaused()) return
    // Less than one full read (libuv reads 64 KiB at a time) since the last turn: the socket ran dry.
    const read = socket.bytesRead - this.#lastBytesRead
    this.#lastBytesRead = socket.bytesRead
    if (read >= PACE_BELOW_BYTES) return
    socket.pause()
    setTimeout(resumeSocket, PACE_MS, socket).unref()
  }
}

const PACE_BELOW_BYTES = 60 * 1024
const PACE_MS = 1

function resumeSocket (socket: import('node:net').Socket): void {
  if (!socket.destroyed) socket.resume()
}

/** What happened to one forwarded exchange, for audit and metrics. */
export interface ForwardOutcome {
  /** The engine's status code, or dockward's own when the engine was not reached. */
  readonly status: number
  /** How the exchange ended: the response completed, the client left, or the engine failed. */
  readonly end: 'complete' | 'client-aborted' | 'upstream-error'
  readonly error?: Error
  /** Body bytes sent to the engine and relayed to the client. */
  readonly bytesIn: number
  readonly bytesOut: number
  /** The engine's response body, when the plan asked for it and it was small (a create's answer). */
  readonly body?: Buffer
}

/** What to send the engine for one admitted request. */
export interface ForwardPlan {
  /** The request target: the checked path with the canonical query. */
  readonly path: string
  readonly framing: BodyFraming
  /**
   * A body dockward read and inspected: exactly these bytes are sent, with their own length
   * (an empty buffer sends none). `contentType` replaces the client's when not null. Absent: the
   * client's body is streamed through as framed.
   */
  readonly body?: { readonly bytes: Buffer, readonly contentType: string | null }
  /** Time the engine has to start its answer once the request is sent (ms); null: no limit. */
  readonly responseTimeoutMs?: number | null
  /** A change to the engine's answer (multi-tenancy); absent: relayed byte for byte. */
  readonly response?: ResponseFilter
  /** Keep a copy of a response body of up to CAPTURE_LIMIT bytes for the outcome (ids of created objects). */
  readonly captureResponse?: boolean
}

const CAPTURE_LIMIT = 64 * 1024

/**
 * Relays one ordinary (non-upgrade) request to the engine and its response back, streaming both
 * bodies with backpressure and without timeouts: logs -f, events and stats may be quiet for hours.
 */
export function forwardRequest (
  req: IncomingMessage,
  res: ServerResponse,
  upstream: Upstream,
  plan: ForwardPlan,
  done: (outcome: ForwardOutcome) => void
): void {
  // The client left while the request was admitted: its 'close' has fired already and would
  // never abort what is sent now, so a `logs -f` would stay open on the engine for good.
  if (res.destroyed) {
    done({ status: 0, end: 'client-aborted', bytesIn: 0, bytesOut: 0 })
    return
  }
  let headers = endToEndHeaders(req.rawHeaders)
  const body = plan.body
  if (body !== undefined) {
    headers = withContentLength(headers, body.bytes.length)
    if (body.contentType !== null) headers = withContentType(headers, body.contentType)
  } else if (plan.framing === 'chunked') {
    // The hop-by-hop Transfer-Encoding was dropped; say again that the body is chunked, or Node
    // would send a GET or DELETE body unframed.
    headers.push('Transfer-Encoding', 'chunked')
  } else if (req.method !== 'GET' && req.method !== 'HEAD' && req.headers['content-length'] === undefined) {
    // Without a length Node sends a POST chunked, and the engine reads a chunked body as present
    // (a bodiless `POST /start` gets "starting container with non-empty request body").
    headers.push('Content-Length', '0')
  }

  let finished = false
  let bytesIn = body?.bytes.length ?? 0
  let bytesOut = 0
  let captured: Buffer[] | null = plan.captureResponse === true ? [] : null
  const finish = (outcome: Pick<ForwardOutcome, 'status' | 'end' | 'error'>): void => {
    if (finished) return
    finished = true
    done({ ...outcome, bytesIn, bytesOut, ...(captured === null || captured.length === 0 ? {} : { body: Buffer.concat(captured) }) })
  }

  const upReq = http.request({
    ...upstream.connect,
    agent: upstream.agent,
    method: req.method,
    path: plan.path,
    headers,
    // The client's Host goes as sent; Node would otherwise add its own.
    setHost: false
  })

  // The engine's answer must start in time once the request is sent in full: a hung engine is a
  // 504, not a client waiting forever. Uploads and streams themselves are not timed.
  let answerTimer: NodeJS.Timeout | null = null
  const timeoutMs = plan.responseTimeoutMs ?? null
  if (timeoutMs !== null) {
    upReq.on('finish', () => {
      answerTimer = setTimeout(() => upReq.destroy(new UpstreamTimeoutError(timeoutMs)), timeoutMs)
    })
  }
  const stopAnswerTimer = (): void => { if (answerTimer !== null) { clearTimeout(answerTimer); answerTimer = null } }
  upReq.on('close', stopAnswerTimer)

  upReq.on('response', (upRes) => {
    stopAnswerTimer()
    const status = upRes.statusCode ?? 502
    if (plan.response !== undefined) {
      // Counted as the engine sent it, before the filter.
      upRes.on('data', (chunk: Buffer) => { bytesOut += chunk.length })
      relayFiltered(upReq, upRes, res, plan.response, finish)
      return
    }
    try {
      res.writeHead(status, upRes.statusMessage, endToEndHeaders(upRes.rawHeaders))
    } catch (err) {
      // A status line or header Node will not write: the engine's answer cannot be relayed as is.
      upReq.destroy()
      const e = new UpstreamProtocolError(`dockward cannot relay the engine's response (${(err as NodeJS.ErrnoException).code ?? 'invalid'})`)
      sendError(res, e)
      finish({ status: e.status, end: 'upstream-error', error: e })
      return
    }
    // A streaming response (no Content-Length: events, logs, wait, pull) must reach the client
    // before its first body byte: `docker run` waits for the headers of POST /wait before it starts
    // the container, and Node holds headers back until the first write.
    if (upRes.headers['content-length'] === undefined) res.flushHeaders()
    // A hand-written relay rather than pipe(): the frames of one loop turn are joined into one
    // chunk (the engine writes a log line or a progress message per HTTP chunk, and writing each
    // on its own costs more than the copy), with the same backpressure as pipe().
    const relay = new TurnBuffer(res, upRes)
    upRes.on('data', (chunk: Buffer) => {
      bytesOut += chunk.length
      if (captured !== null && bytesOut <= CAPTURE_LIMIT) captured.push(chunk)
      else captured = null
      relay.push(chunk)
    })
    res.on('drain', () => upRes.resume())
    upRes.on('end', () => relay.end())
    upRes.on('error', (err) => {
      res.destroy(err)
      finish({ status, end: 'upstream-error', error: err })
    })
    res.on('finish', () => finish({ status, end: 'complete' }))
  })

  upReq.on('error', (err) => {
    if (finished) return
    if (!res.headersSent) {
      const e = err instanceof UpstreamTimeoutError ? err : new UpstreamUnavailableError(upstream.address.url, err)
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

  if (body !== undefined) {
    upReq.end(body.bytes)
  } else if (plan.framing === 'none') {
    upReq.end()
  } else {
    req.pipe(upReq)
    req.on('data', (chunk: Buffer) => { bytesIn += chunk.length })
    req.on('error', () => upReq.destroy())
  }
}
