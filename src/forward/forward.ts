import type { IncomingMessage, ServerResponse } from 'node:http'
import { Readable } from 'node:stream'
import { GatewayError, UpstreamProtocolError, UpstreamUnavailableError } from '../core/errors.ts'
import type { EngineExchange, EngineRequest } from './engine-pool.ts'
import { endToEndHeaders, withContentLength, withContentType, withHost } from './hop-headers.ts'
import type { BodyFraming } from './request-framing.ts'
import type { Upstream } from './upstream.ts'
import { relayFiltered, type ResponseFilter } from './response-filter.ts'
import { sendError } from '../core/error-response.ts'

/**
 * Collects the body pieces that arrive during one event-loop turn and writes them as one chunk
 * when the turn ends (setImmediate runs after the poll phase that delivered them). The answer's
 * end is written at once, with whatever is pending: an answer read whole in one read costs one
 * write and no timer.
 */
class TurnBuffer {
  readonly #res: ServerResponse
  readonly #src: EngineExchange
  #pending: Buffer[] = []
  #bytes = 0
  #scheduled = false
  #ended = false
  #awaitingDrain = false
  #headOut = false
  #lastBytesRead = 0

  constructor (res: ServerResponse, src: EngineExchange) {
    this.#res = res
    this.#src = src
    // Pooled connections carry earlier answers' bytes in their count.
    this.#lastBytesRead = src.socket.bytesRead
  }

  /** Returns false past the high-water mark: the engine is not read until this turn's bytes are out. */
  push (chunk: Buffer): boolean {
    this.#pending.push(chunk)
    this.#bytes += chunk.length
    return this.#bytes < 1024 * 1024
  }

  /**
   * A read is parsed and the answer goes on: its pieces go out when the turn ends, with the head
   * if it has not gone yet. A head with no body yet goes now: `docker run` waits for the head of
   * POST /wait before it starts the container, and Node holds a head back until the first write.
   */
  readEnd (): void {
    if (this.#scheduled) return
    if (this.#pending.length === 0) {
      // headersSent is true as soon as writeHead stored the head; whether it left is ours to know.
      if (!this.#headOut) { this.#headOut = true; this.#res.flushHeaders() }
      return
    }
    this.#scheduled = true
    setImmediate(() => { this.#scheduled = false; this.#flush() })
  }

  end (): void {
    this.#ended = true
    this.#flush()
  }

  #flush (): void {
    const res = this.#res
    if (res.destroyed || res.writableEnded) return
    const pending = this.#pending
    let ok = true
    this.#headOut = true
    if (pending.length > 0) {
      const bytes = this.#bytes
      this.#pending = []
      this.#bytes = 0
      // Never under res.cork(): from Node 21 on, chunked writes to a corked response wait in the
      // response itself, and (a) write() reports backpressure from that buffer, with no 'drain'
      // to follow when the socket itself took everything (a download stalled for good), (b) end()
      // sends the last chunk ahead of them (nodejs/node#50167). Uncorked, Node corks the socket
      // itself until the next tick, so the head, the pieces and the last chunk of one turn still
      // leave in one writev. Small pieces (a list's 4 KiB writes) are cheaper joined than framed
      // one by one; large ones (log frames) go as they are, uncopied.
      if (pending.length === 1 || bytes <= JOIN_UP_TO_BYTES) {
        const one = pending.length === 1 ? pending[0]! : Buffer.concat(pending, bytes)
        if (this.#ended) res.end(one)
        else ok = res.write(one)
      } else {
        for (const piece of pending) ok = res.write(piece)
        if (this.#ended) res.end()
      }
    } else if (this.#ended) {
      res.end()
    }
    if (this.#ended) return
    if (!ok) {
      this.#src.socket.pause()
      if (!this.#awaitingDrain) {
        this.#awaitingDrain = true
        res.once('drain', () => { this.#awaitingDrain = false; this.#src.resume() })
      }
    } else {
      this.#src.resume()
      this.#pace()
    }
  }

  // The engine writes every frame with its own syscall; read as it writes, a stream of short log
  // lines costs one read, one parse and one write per line. When a turn brought little, let the
  // next frames gather in the socket for a moment. A fast stream always brings more than the
  // threshold and is never held back; a slow one waits at most PACE_MS.
  #pace (): void {
    const socket = this.#src.socket
    if (socket.isPaused()) return
    // Less than one full read (libuv reads 64 KiB at a time) since the last turn: the socket ran dry.
    const read = socket.bytesRead - this.#lastBytesRead
    this.#lastBytesRead = socket.bytesRead
    if (read >= PACE_BELOW_BYTES) return
    socket.pause()
    setTimeout(resumeExchange, PACE_MS, this.#src).unref()
  }
}

const PACE_BELOW_BYTES = 60 * 1024
const JOIN_UP_TO_BYTES = 64 * 1024
const PACE_MS = 1

function resumeExchange (exchange: EngineExchange): void {
  exchange.resume()
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
  /**
   * Called once the engine has answered (its head arrived) or the exchange failed. With it set, a
   * client that leaves before the answer does not abort the exchange: the engine would go on with
   * the request anyway, and what the caller holds until then (a create's named volumes) must not
   * be let go while it does.
   */
  readonly answered?: () => void
}

const CAPTURE_LIMIT = 64 * 1024

/**
 * Relays one ordinary (non-upgrade) request to the engine and its answer back, streaming both
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
    plan.answered?.()
    done({ status: 0, end: 'client-aborted', bytesIn: 0, bytesOut: 0 })
    return
  }
  let headers = withHost(endToEndHeaders(req.rawHeaders))
  let body: EngineRequest['body'] = null
  if (plan.body !== undefined) {
    headers = withContentLength(headers, plan.body.bytes.length)
    if (plan.body.contentType !== null) headers = withContentType(headers, plan.body.contentType)
    body = plan.body.bytes
  } else if (plan.framing === 'chunked') {
    // The hop-by-hop Transfer-Encoding was dropped; the body goes on chunk-encoded, said again.
    headers.push('Transfer-Encoding', 'chunked')
    body = { source: req, chunked: true }
  } else if (plan.framing === 'length') {
    body = { source: req, chunked: false }
  } else if (req.method !== 'GET' && req.method !== 'HEAD' && req.headers['content-length'] === undefined) {
    // The engine reads a bodiless POST without a length as chunked and present (`POST /start`
    // gets "starting container with non-empty request body").
    headers.push('Content-Length', '0')
  }

  let finished = false
  let status = 0
  let bytesOut = 0
  let captured: Buffer[] | null = plan.captureResponse === true ? [] : null
  const finish = (outcome: Pick<ForwardOutcome, 'status' | 'end' | 'error'>): void => {
    if (finished) return
    finished = true
    done({ ...outcome, bytesIn: exchange.bytesSent, bytesOut, ...(captured === null || captured.length === 0 ? {} : { body: Buffer.concat(captured) }) })
  }
  let relay: TurnBuffer | null = null
  let filtered: AnswerBody | null = null

  const exchange: EngineExchange = upstream.pool.request({
    method: req.method!,
    path: plan.path,
    headers,
    body,
    answerTimeoutMs: plan.responseTimeoutMs ?? null
  }, {
    onHead: (head) => {
      status = head.status
      plan.answered?.()
      // The client left while the engine worked (only a plan with `answered` waits for this).
      if (res.destroyed) { exchange.abort(); return }
      if (plan.response !== undefined) {
        filtered = new AnswerBody(exchange)
        relayFiltered({ ...head, body: filtered, abort: () => exchange.abort() }, res, plan.response, finish)
        return
      }
      try {
        res.writeHead(head.status, head.statusMessage, endToEndHeaders(head.rawHeaders))
      } catch (err) {
        // A status line or header Node will not write: the engine's answer cannot be relayed as is.
        exchange.abort()
        const e = new UpstreamProtocolError(`dockward cannot relay the engine's response (${(err as NodeJS.ErrnoException).code ?? 'invalid'})`)
        sendError(res, e)
        finish({ status: e.status, end: 'upstream-error', error: e })
        return
      }
      // The head goes out with the first body bytes, or alone at the end of the read that
      // brought it (TurnBuffer.readEnd), never later.
      relay = new TurnBuffer(res, exchange)
    },
    onBody: (piece) => {
      bytesOut += piece.length
      if (filtered !== null) return filtered.push(piece)
      if (relay === null) return true
      if (captured !== null && bytesOut <= CAPTURE_LIMIT) captured.push(piece)
      else captured = null
      return relay.push(piece)
    },
    onReadEnd: () => relay?.readEnd(),
    onComplete: () => {
      if (filtered !== null) filtered.push(null)
      else relay?.end()
    },
    onError: (err) => {
      plan.answered?.()
      if (finished) return
      if (filtered !== null) { filtered.destroy(err); return }
      if (!res.headersSent) {
        const e = err instanceof GatewayError ? err : new UpstreamUnavailableError(upstream.address.url, err)
        sendError(res, e)
        finish({ status: e.status, end: 'upstream-error', error: err })
      } else {
        res.destroy(err)
        finish({ status, end: 'upstream-error', error: err })
      }
    }
  })

  // One listener for both ends: 'close' follows 'finish' on a completed answer. A client that went
  // away (or whose socket failed) aborts the engine request, so the engine stops streaming.
  res.on('close', () => {
    if (res.writableFinished) {
      finish({ status: res.statusCode, end: 'complete' })
      return
    }
    if (plan.answered === undefined || status !== 0) exchange.abort()
    finish({ status: res.statusCode, end: 'client-aborted' })
  })
  // Unheard, a client's failed upload would be an uncaught error.
  if (body !== null && !Buffer.isBuffer(body)) req.on('error', () => exchange.abort())
}

/** The engine's answer body as a stream, for the response filters: engine reads follow its demand. */
class AnswerBody extends Readable {
  readonly #exchange: EngineExchange
  constructor (exchange: EngineExchange) {
    super()
    this.#exchange = exchange
  }

  override _read (): void { this.#exchange.resume() }
}
