import net from 'node:net'
import type { Readable } from 'node:stream'
import { UpstreamProtocolError, UpstreamTimeoutError } from '../core/errors.ts'
import { BAD_FIELD_VALUE, HTTP_TOKEN } from '../core/http-syntax.ts'
import { ResponseParser, type ResponseHead } from './response-parser.ts'
import type { UpstreamAddress } from './upstream.ts'

/** What one forwarded request sends: the head as decided, and its body. */
export interface EngineRequest {
  readonly method: string
  /** The request target, already checked (no spaces or control characters). */
  readonly path: string
  /** Flat [name, value, ...] including the framing headers that match `body`. */
  readonly headers: readonly string[]
  /**
   * `null`: no body. A Buffer: exactly these bytes. A stream: the client's body, passed on as it
   * arrives, chunk-encoded when `chunked` (the framing headers say so too).
   */
  readonly body: Buffer | null | { readonly source: Readable, readonly chunked: boolean }
  /** Time the engine has to start its answer once the request is sent (ms); null: no limit. */
  readonly answerTimeoutMs: number | null
}

/** Told about one exchange, in order: a head, body pieces, then complete; or error at any point. */
export interface ExchangeHandler {
  onHead: (head: ResponseHead) => void
  /**
   * Return false to stop reading the engine until `exchange.resume()`; pieces of a read already
   * in hand (several chunks of a chunked answer) still arrive.
   */
  onBody: (piece: Buffer) => boolean
  /** The pieces of one read from the engine were all handed over, and the answer goes on. */
  onReadEnd: () => void
  onComplete: () => void
  /** The exchange failed; `headSeen`: part of the answer may already be relayed. */
  onError: (err: Error, headSeen: boolean) => void
}

/** One request and its answer in progress. */
export interface EngineExchange {
  /** Reading the engine again after `onBody` returned false. */
  resume: () => void
  /** The client left: the engine connection is closed (it cannot be reused mid-answer). */
  abort: () => void
  /** Body bytes sent to the engine so far. */
  readonly bytesSent: number
  /** The engine connection, for pacing reads (bytesRead, pause). */
  readonly socket: net.Socket
}

export interface EnginePoolOptions {
  /** Idle connections kept for reuse. */
  readonly maxIdle: number
  /** Largest answer head accepted. */
  readonly maxHeadBytes: number
}

/**
 * Keep-alive connections to the engine and the HTTP/1.1 exchanges on them, one at a time per
 * connection. Lean by design: the request head is one string written with its body in one
 * syscall, and the answer is parsed by a strict parser that fails closed (response-parser.ts).
 * The engine is the only peer, so no proxies, no redirects, no pipelining. Why not http.Agent:
 * under small requests it cost about twice the CPU of this, and proxied /_ping is all per-request
 * overhead.
 */
export class EnginePool {
  readonly #address: UpstreamAddress
  readonly #options: EnginePoolOptions
  // LIFO: the hottest connections stay busy and warm.
  readonly #idle: EngineConnection[] = []
  #closed = false

  constructor (address: UpstreamAddress, options: EnginePoolOptions) {
    this.#address = address
    this.#options = options
  }

  /** Sends `request` on an idle connection or a new one. */
  request (request: EngineRequest, handler: ExchangeHandler): EngineExchange {
    const head = requestHead(request)
    let connection = this.#idle.pop()
    while (connection !== undefined && connection.socket.destroyed) connection = this.#idle.pop()
    connection ??= new EngineConnection(this.#connect(), this, this.#options.maxHeadBytes)
    return connection.start(request, head, handler)
  }

  /** Connections kept for reuse now. */
  get idleCount (): number { return this.#idle.length }

  /** Destroys idle connections; ones in use are destroyed when their exchange ends. */
  close (): void {
    this.#closed = true
    for (const c of this.#idle.splice(0)) c.socket.destroy()
  }

  /** @internal A connection whose exchange ended cleanly. */
  release (connection: EngineConnection): void {
    if (this.#closed || this.#idle.length >= this.#options.maxIdle) connection.socket.destroy()
    else this.#idle.push(connection)
  }

  /** @internal A connection that closed or failed while idle. */
  forget (connection: EngineConnection): void {
    const i = this.#idle.indexOf(connection)
    if (i !== -1) this.#idle.splice(i, 1)
  }

  #connect (): net.Socket {
    const a = this.#address
    if (a.kind === 'unix') return net.connect({ path: a.socketPath })
    const socket = net.connect({ host: a.host, port: a.port })
    socket.setNoDelay(true)
    return socket
  }
}

/**
 * The request line and headers as written. Node's parser has judged the client's parts and
 * dockward builds the rest; checked again because the head is written as text, where a stray CR or
 * LF would start another request. A throw here is dockward's own fault (a 500), before any
 * connection is touched.
 */
function requestHead ({ method, path, headers }: EngineRequest): string {
  if (!HTTP_TOKEN.test(method) || !TARGET.test(path)) throw new Error(`dockward refused to send ${JSON.stringify(method)} ${JSON.stringify(path)} to the engine`)
  let head = `${method} ${path} HTTP/1.1\r\n`
  for (let i = 0; i < headers.length; i += 2) {
    const name = headers[i]!
    const value = headers[i + 1]!
    if (!HTTP_TOKEN.test(name) || BAD_FIELD_VALUE.test(value)) throw new Error(`dockward refused to send the header ${JSON.stringify(name)} to the engine`)
    head += `${name}: ${value}\r\n`
  }
  return head + '\r\n'
}

/** One keep-alive connection; its listeners are attached once and serve every exchange on it. */
class EngineConnection {
  readonly socket: net.Socket
  readonly #pool: EnginePool
  readonly #parser: ResponseParser
  #exchange: Exchange | null = null
  // Set by the parser's complete event and acted on once the bytes in hand are parsed: a
  // consumer told of completion may start the next exchange on this very connection.
  #completed = false
  // One timer per connection, re-armed with refresh() for each timed request instead of a new
  // timer each time. It fires `#answerTimerMs` after the latest timed request was sent in full;
  // it only times out that exchange (`#armedBy`), never one still sending its body.
  #answerTimer: NodeJS.Timeout | null = null
  #answerTimerMs = 0
  #armedBy: Exchange | null = null

  constructor (socket: net.Socket, pool: EnginePool, maxHeadBytes: number) {
    this.socket = socket
    this.#pool = pool
    this.#parser = new ResponseParser({
      head: (head) => this.#exchange?.head(head),
      body: (piece) => { if (this.#exchange?.body(piece) === false) this.socket.pause() },
      complete: () => { this.#completed = true }
    }, maxHeadBytes)
    socket.on('data', (chunk: Buffer) => this.#onData(chunk))
    socket.on('end', () => this.#onEnd())
    socket.on('error', (err) => this.#fail(err))
    socket.on('close', () => {
      if (this.#answerTimer !== null) clearTimeout(this.#answerTimer)
      this.#fail(new UpstreamProtocolError('the engine closed the connection before its answer was complete'))
    })
    socket.on('drain', () => this.#exchange?.drained())
  }

  start (request: EngineRequest, head: string, handler: ExchangeHandler): Exchange {
    this.#completed = false
    this.#parser.reset(request.method)
    const exchange = new Exchange(this, request, handler)
    this.#exchange = exchange
    exchange.send(head)
    return exchange
  }

  /** The exchange is over (answer read, or it failed or was aborted): reuse or close. */
  finish (exchange: Exchange, reusable: boolean): void {
    if (this.#exchange !== exchange) return
    this.#exchange = null
    this.#armedBy = null
    if (!reusable || this.socket.destroyed) {
      this.socket.destroy()
      return
    }
    if (this.socket.isPaused()) this.socket.resume()
    this.#pool.release(this)
  }

  #onData (chunk: Buffer): void {
    const exchange = this.#exchange
    if (exchange === null) {
      // Bytes no request asked for: the connection's framing cannot be trusted any more.
      this.#pool.forget(this)
      this.socket.destroy()
      return
    }
    let leftover: number
    try {
      leftover = this.#parser.execute(chunk)
    } catch (err) {
      exchange.fail(err as Error)
      return
    }
    if (this.#completed) exchange.complete(leftover === 0)
    else exchange.readEnd()
  }

  #onEnd (): void {
    const exchange = this.#exchange
    if (exchange === null) {
      this.#pool.forget(this)
      this.socket.destroy()
      return
    }
    try {
      this.#parser.eof()
    } catch (err) {
      exchange.fail(err as Error)
      return
    }
    if (this.#completed) exchange.complete(false)
  }

  /** `exchange` is sent in full: the engine has `ms` to start its answer. */
  armAnswerTimer (exchange: Exchange, ms: number): void {
    this.#armedBy = exchange
    if (this.#answerTimer !== null && this.#answerTimerMs === ms) {
      this.#answerTimer.refresh()
      return
    }
    if (this.#answerTimer !== null) clearTimeout(this.#answerTimer)
    this.#answerTimerMs = ms
    this.#answerTimer = setTimeout(() => this.#onAnswerTimer(), ms).unref()
  }

  #onAnswerTimer (): void {
    const exchange = this.#exchange
    if (exchange !== null && exchange === this.#armedBy && !exchange.headSeen) {
      exchange.fail(new UpstreamTimeoutError(this.#answerTimerMs))
    }
  }

  #fail (err: Error): void {
    this.#pool.forget(this)
    this.#exchange?.fail(err)
  }
}

const FINAL_CHUNK = '0\r\n\r\n'
const TARGET = /^\/[\x21-\x7e]*$/

class Exchange implements EngineExchange {
  readonly #connection: EngineConnection
  readonly #request: EngineRequest
  readonly #handler: ExchangeHandler
  readonly answerTimeoutMs: number | null
  headSeen = false
  bytesSent = 0
  #sent = false
  #over = false
  #source: Readable | null = null
  #onSourceData: ((chunk: Buffer) => void) | null = null
  #onSourceEnd: (() => void) | null = null

  constructor (connection: EngineConnection, request: EngineRequest, handler: ExchangeHandler) {
    this.#connection = connection
    this.#request = request
    this.#handler = handler
    this.answerTimeoutMs = request.answerTimeoutMs
  }

  get socket (): net.Socket { return this.#connection.socket }

  send (head: string): void {
    const body = this.#request.body
    const socket = this.socket
    if (body === null || Buffer.isBuffer(body)) {
      if (body === null || body.length === 0) {
        socket.write(head, 'latin1')
      } else {
        socket.cork()
        socket.write(head, 'latin1')
        socket.write(body)
        socket.uncork()
        this.bytesSent = body.length
      }
      this.#requestSent()
      return
    }
    socket.write(head, 'latin1')
    const { source, chunked } = body
    this.#source = source
    this.#onSourceData = (chunk: Buffer) => {
      if (this.#over) return
      this.bytesSent += chunk.length
      let ok: boolean
      if (chunked) {
        socket.cork()
        socket.write(`${chunk.length.toString(16)}\r\n`, 'latin1')
        socket.write(chunk)
        ok = socket.write('\r\n', 'latin1')
        socket.uncork()
      } else {
        ok = socket.write(chunk)
      }
      if (!ok) source.pause()
    }
    this.#onSourceEnd = () => {
      if (this.#over) return
      if (chunked) socket.write(FINAL_CHUNK, 'latin1')
      this.#detachSource()
      this.#requestSent()
    }
    source.on('data', this.#onSourceData)
    source.on('end', this.#onSourceEnd)
  }

  drained (): void {
    if (this.#source?.isPaused() === true && !this.#over) this.#source.resume()
  }

  head (head: ResponseHead): void {
    if (this.#over) return
    this.headSeen = true
    this.#handler.onHead(head)
  }

  body (piece: Buffer): boolean {
    if (this.#over) return true
    return this.#handler.onBody(piece)
  }

  readEnd (): void {
    if (!this.#over) this.#handler.onReadEnd()
  }

  complete (clean: boolean): void {
    if (this.#over) return
    this.#over = true
    // An answer that came before the whole request body was sent: the rest is not the
    // engine's to read, so the connection goes (Node drains or closes the client's side).
    const reusable = clean && this.#sent
    this.#detachSource()
    this.#connection.finish(this, reusable)
    this.#handler.onComplete()
  }

  fail (err: Error): void {
    if (this.#over) return
    this.#over = true
    this.#detachSource()
    this.#connection.finish(this, false)
    this.#handler.onError(err, this.headSeen)
  }

  resume (): void {
    const socket = this.socket
    if (!this.#over && socket.isPaused()) socket.resume()
  }

  abort (): void {
    if (this.#over) return
    this.#over = true
    this.#detachSource()
    this.#connection.finish(this, false)
  }

  #requestSent (): void {
    this.#sent = true
    if (this.answerTimeoutMs !== null && !this.headSeen) this.#connection.armAnswerTimer(this, this.answerTimeoutMs)
  }

  #detachSource (): void {
    const source = this.#source
    if (source === null) return
    this.#source = null
    source.removeListener('data', this.#onSourceData!)
    source.removeListener('end', this.#onSourceEnd!)
  }
}
