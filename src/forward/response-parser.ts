import { UpstreamProtocolError } from '../core/errors.ts'
import { BAD_FIELD_VALUE, HTTP_TOKEN } from '../core/http-syntax.ts'

/** How the body of one engine answer is delimited (RFC 9112 §6.3). */
export type ResponseFraming =
  | { readonly kind: 'none' }
  | { readonly kind: 'length', readonly length: number }
  | { readonly kind: 'chunked' }
  /** Until the engine closes the connection, which then cannot be reused. */
  | { readonly kind: 'close' }

/** The status line and headers of one engine answer, as sent (names keep their case). */
export interface ResponseHead {
  readonly status: number
  readonly statusMessage: string
  /** Flat [name, value, ...] in the engine's order, duplicates kept; values without surrounding whitespace. */
  readonly rawHeaders: string[]
  readonly framing: ResponseFraming
  /** Whether the connection may carry another request once this answer is read. */
  readonly keepAlive: boolean
}

/** What the parser reports, in order: one head, body pieces (decoded from chunks), completion. */
export interface ResponseEvents {
  head: (head: ResponseHead) => void
  body: (piece: Buffer) => void
  complete: () => void
}

const CRLF_CRLF = Buffer.from('\r\n\r\n')
const STATUS_LINE = /^HTTP\/1\.([01]) ([1-9]\d\d)(?: ([^\r\n]*))?$/
const CHUNK_SIZE = /^([0-9A-Fa-f]{1,15})[ \t]*(?:;[^\r\n]*)?$/
const MAX_CHUNK_LINE = 4096
const MAX_TRAILER_BYTES = 64 * 1024

// Parser states (plain numbers: the project's TypeScript erases to JavaScript, no enums).
const HEAD = 0
const LENGTH = 1
const CHUNK_SIZE_LINE = 2
const CHUNK_DATA = 3
const CHUNK_END = 4
const TRAILERS = 5
const CLOSE = 6
const DONE = 7

/**
 * A strict HTTP/1.1 response parser for the engine's answers: one answer per `reset()`, fed with
 * `execute` as bytes arrive and told about the end of the connection with `eof`. Anything it does
 * not understand exactly is an UpstreamProtocolError and the connection must be dropped: a
 * misread answer on a pooled connection would hand one request's bytes to the next.
 *
 * @example
 * const p = new ResponseParser({ head: (h) => {}, body: (b) => {}, complete: () => {} }, 65536)
 * p.reset('GET')
 * p.execute(Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nOK'))
 */
export class ResponseParser {
  readonly #events: ResponseEvents
  readonly #maxHeadBytes: number
  #state = DONE
  #noBody = false
  #head: Buffer | null = null
  #remaining = 0
  #line: Buffer | null = null
  #trailerBytes = 0

  constructor (events: ResponseEvents, maxHeadBytes: number) {
    this.#events = events
    this.#maxHeadBytes = maxHeadBytes
  }

  /** Expects the answer to a request with this method (a HEAD answer has no body). */
  reset (method: string): void {
    this.#state = HEAD
    this.#noBody = method === 'HEAD'
    this.#head = null
    this.#line = null
    this.#trailerBytes = 0
  }

  /** True once the whole answer was read. */
  get done (): boolean { return this.#state === DONE }

  /**
   * Consumes `chunk`. Returns the number of bytes left over after a complete answer (bytes the
   * engine sent that belong to no request: the caller must not reuse the connection).
   */
  execute (chunk: Buffer): number {
    let at = 0
    while (at < chunk.length) {
      switch (this.#state) {
        case HEAD: at = this.#readHead(chunk, at); break
        case LENGTH: {
          const n = Math.min(this.#remaining, chunk.length - at)
          this.#remaining -= n
          // Complete before the piece is handed on: a consumer may start the next exchange in it.
          if (this.#remaining === 0) this.#state = DONE
          this.#events.body(at === 0 && n === chunk.length ? chunk : chunk.subarray(at, at + n))
          at += n
          if (this.#state === DONE) this.#events.complete()
          break
        }
        case CHUNK_SIZE_LINE: at = this.#readChunkSize(chunk, at); break
        case CHUNK_DATA: {
          const n = Math.min(this.#remaining, chunk.length - at)
          this.#remaining -= n
          this.#events.body(chunk.subarray(at, at + n))
          at += n
          if (this.#remaining === 0) { this.#state = CHUNK_END; this.#remaining = 2 }
          break
        }
        case CHUNK_END: {
          // Exactly CRLF after the data; `#remaining` counts which of the two bytes is next.
          const want = this.#remaining === 2 ? 13 : 10
          if (chunk[at] !== want) throw protocol('a chunk is not followed by CRLF')
          at++
          if (--this.#remaining === 0) this.#state = CHUNK_SIZE_LINE
          break
        }
        case TRAILERS: at = this.#readTrailers(chunk, at); break
        case CLOSE:
          this.#events.body(at === 0 ? chunk : chunk.subarray(at))
          at = chunk.length
          break
        case DONE:
          return chunk.length - at
      }
    }
    return 0
  }

  /** The engine closed the connection: completes an answer delimited by the close, or throws. */
  eof (): void {
    if (this.#state === CLOSE) {
      this.#state = DONE
      this.#events.complete()
      return
    }
    if (this.#state !== DONE) throw protocol('the engine closed the connection before its answer was complete')
  }

  #readHead (chunk: Buffer, at: number): number {
    const buffered = this.#head
    const data = buffered === null ? (at === 0 ? chunk : chunk.subarray(at)) : Buffer.concat([buffered, chunk.subarray(at)])
    // A terminator split across reads: search from a little before the new bytes.
    const end = data.indexOf(CRLF_CRLF, buffered === null ? 0 : Math.max(0, buffered.length - 3))
    if (end === -1) {
      if (data.length > this.#maxHeadBytes) throw protocol(`the engine's answer headers exceed ${this.#maxHeadBytes} bytes`)
      this.#head = buffered === null ? Buffer.from(data) : data
      return chunk.length
    }
    if (end > this.#maxHeadBytes) throw protocol(`the engine's answer headers exceed ${this.#maxHeadBytes} bytes`)
    this.#head = null
    const consumed = end + 4 - (buffered === null ? 0 : buffered.length)
    const head = this.#parseHead(data.toString('latin1', 0, end))
    if (head === null) return at + consumed // an interim 1xx answer: the real one follows
    this.#events.head(head)
    const f = head.framing
    if (f.kind === 'none' || (f.kind === 'length' && f.length === 0)) {
      this.#state = DONE
      this.#events.complete()
    } else if (f.kind === 'length') {
      this.#state = LENGTH
      this.#remaining = f.length
    } else {
      this.#state = f.kind === 'chunked' ? CHUNK_SIZE_LINE : CLOSE
    }
    return at + consumed
  }

  /** The head's fields, or null for an interim answer (100 Continue, 102, 103) to skip. */
  #parseHead (text: string): ResponseHead | null {
    const lines = text.split('\r\n')
    const m = STATUS_LINE.exec(lines[0]!)
    if (m === null) throw protocol(`the engine's status line is not HTTP/1.x: ${JSON.stringify(lines[0]!.slice(0, 80))}`)
    const minor = m[1]!
    const status = Number(m[2])
    const rawHeaders: string[] = []
    let length: number | null = null
    let chunked = false
    let close = minor === '0'
    for (let i = 1; i < lines.length; i++) {
      const line = lines[i]!
      const colon = line.indexOf(':')
      const name = colon === -1 ? '' : line.slice(0, colon)
      // No obs-fold, no space before the colon, no bare CR or LF anywhere.
      if (!HTTP_TOKEN.test(name)) throw protocol(`the engine sent a malformed header line: ${JSON.stringify(line.slice(0, 80))}`)
      const value = trimOws(line, colon + 1)
      if (BAD_FIELD_VALUE.test(value)) throw protocol(`the engine's ${name} header holds control characters`)
      rawHeaders.push(name, value)
      switch (name.length === 14 || name.length === 17 || name.length === 10 ? name.toLowerCase() : '') {
        case 'content-length': {
          if (!/^\d{1,15}$/.test(value)) throw protocol(`the engine's Content-Length ${JSON.stringify(value)} is not a length`)
          const n = Number(value)
          if (length !== null && length !== n) throw protocol('the engine sent two different Content-Lengths')
          length = n
          break
        }
        case 'transfer-encoding':
          if (value.toLowerCase() !== 'chunked' || chunked) throw protocol(`the engine's Transfer-Encoding ${JSON.stringify(value)} is not plain chunked`)
          chunked = true
          break
        case 'connection':
          for (const token of value.split(',')) {
            const t = token.trim().toLowerCase()
            if (t === 'close') close = true
            else if (t === 'keep-alive' && minor === '0') close = false
          }
          break
      }
    }
    if (status < 200) {
      if (status === 101) throw protocol('the engine switched protocols on a request that did not ask to')
      return null
    }
    if (chunked && length !== null) throw protocol('the engine sent both Content-Length and Transfer-Encoding')
    let framing: ResponseFraming
    if (this.#noBody || status === 204 || status === 304) framing = { kind: 'none' }
    else if (chunked) framing = { kind: 'chunked' }
    else if (length !== null) framing = { kind: 'length', length }
    else { framing = { kind: 'close' }; close = true }
    return { status, statusMessage: m[3] ?? '', rawHeaders, framing, keepAlive: !close }
  }

  #readChunkSize (chunk: Buffer, at: number): number {
    const line = this.#takeLine(chunk, at, MAX_CHUNK_LINE, 'a chunk size line')
    if (line === null) return chunk.length
    const m = CHUNK_SIZE.exec(line.text)
    if (m === null) throw protocol(`the engine sent a malformed chunk size: ${JSON.stringify(line.text.slice(0, 40))}`)
    const size = parseInt(m[1]!, 16)
    if (size === 0) {
      this.#state = TRAILERS
    } else {
      this.#state = CHUNK_DATA
      this.#remaining = size
    }
    return line.next
  }

  #readTrailers (chunk: Buffer, at: number): number {
    // Trailer fields are hop-by-hop here (nothing relays them); only their end matters.
    const line = this.#takeLine(chunk, at, MAX_CHUNK_LINE, 'a trailer line')
    if (line === null) return chunk.length
    this.#trailerBytes += line.text.length + 2
    if (this.#trailerBytes > MAX_TRAILER_BYTES) throw protocol('the engine sent too many trailer bytes')
    if (line.text === '') {
      this.#state = DONE
      this.#events.complete()
    }
    return line.next
  }

  /** One CRLF-terminated line (without the CRLF), joining reads; null while incomplete. */
  #takeLine (chunk: Buffer, at: number, max: number, what: string): { text: string, next: number } | null {
    const lf = chunk.indexOf(10, at)
    if (lf === -1) {
      const part = chunk.subarray(at)
      this.#line = this.#line === null ? Buffer.from(part) : Buffer.concat([this.#line, part])
      if (this.#line.length > max) throw protocol(`the engine sent ${what} longer than ${max} bytes`)
      return null
    }
    const piece = chunk.subarray(at, lf + 1)
    const whole = this.#line === null ? piece : Buffer.concat([this.#line, piece])
    this.#line = null
    if (whole.length > max) throw protocol(`the engine sent ${what} longer than ${max} bytes`)
    if (whole.length < 2 || whole[whole.length - 2] !== 13) throw protocol(`the engine ended ${what} with a bare LF`)
    const text = whole.toString('latin1', 0, whole.length - 2)
    if (text.includes('\r')) throw protocol(`the engine sent a bare CR in ${what}`)
    return { text, next: lf + 1 }
  }
}

/** `line` from `from` without leading and trailing spaces and tabs (not String#trim: 0xA0 is a value byte). */
function trimOws (line: string, from: number): string {
  let start = from
  let end = line.length
  while (start < end && (line.charCodeAt(start) === 32 || line.charCodeAt(start) === 9)) start++
  while (end > start && (line.charCodeAt(end - 1) === 32 || line.charCodeAt(end - 1) === 9)) end--
  return line.slice(start, end)
}

function protocol (message: string): UpstreamProtocolError {
  return new UpstreamProtocolError(`dockward cannot relay the engine's answer: ${message}`)
}
