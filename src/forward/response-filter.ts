import type { ServerResponse } from 'node:http'
import { Transform, type Readable, type TransformCallback } from 'node:stream'
import { toGatewayError, UpstreamProtocolError, type GatewayError } from '../core/errors.ts'
import { sendError } from '../core/error-response.ts'
import { endToEndHeaders, withContentLength } from './hop-headers.ts'

/**
 * How an engine answer is changed before the client sees it (multi-tenancy: lists, `/info`,
 * events). Everything else is relayed byte for byte.
 * - `whole`: the answer is read (capped) and `rewrite` returns the bytes to send instead, or a
 *   GatewayError to answer with; a body it cannot judge must be refused, never passed on.
 * - `lines`: a stream of JSON lines (`/events`): each line is kept or dropped as `keep` says, in
 *   order, with the engine paused while a decision is pending.
 */
export type ResponseFilter =
  | { readonly kind: 'whole', readonly rewrite: (status: number, body: Buffer) => Promise<Buffer | GatewayError> }
  | { readonly kind: 'lines', readonly keep: (event: unknown) => boolean | Promise<boolean> }

/** Largest answer a `whole` filter reads: a list of thousands of containers with labels. */
export const MAX_FILTERED_BODY = 64 * 1024 * 1024

export interface FilteredOutcome { readonly status: number, readonly end: 'complete' | 'client-aborted' | 'upstream-error', readonly error?: Error }

/** The engine's answer as the filters read it. */
export interface EngineAnswer {
  readonly status: number
  readonly statusMessage: string
  readonly rawHeaders: readonly string[]
  readonly body: Readable
  /** Stops reading the engine and drops its connection. */
  abort: () => void
}

/**
 * Relays `answer` to `res` through `filter`. The engine's headers go out with the rewritten length
 * (`whole`) or unframed for Node to chunk (`lines`).
 */
export function relayFiltered (answer: EngineAnswer, res: ServerResponse, filter: ResponseFilter, finish: (o: FilteredOutcome) => void): void {
  const { status, body: upRes } = answer
  const pairs = withContentLength(endToEndHeaders(answer.rawHeaders), null)
  if (filter.kind === 'lines') {
    res.writeHead(status, answer.statusMessage, pairs)
    // `docker events` waits for the headers before it prints anything.
    res.flushHeaders()
    const lines = new JsonLineFilter(filter.keep)
    upRes.pipe(lines).pipe(res)
    upRes.on('error', (err) => { res.destroy(err); finish({ status, end: 'upstream-error', error: err }) })
    lines.on('error', (err) => { answer.abort(); res.destroy(err); finish({ status, end: 'upstream-error', error: err }) })
    res.on('finish', () => finish({ status, end: 'complete' }))
    return
  }
  const chunks: Buffer[] = []
  let size = 0
  upRes.on('data', (c: Buffer) => {
    size += c.length
    if (size > MAX_FILTERED_BODY) {
      answer.abort()
      const e = new UpstreamProtocolError(`the engine's answer is larger than the ${MAX_FILTERED_BODY} bytes dockward filters`)
      sendError(res, e)
      finish({ status: e.status, end: 'upstream-error', error: e })
      return
    }
    chunks.push(c)
  })
  upRes.on('error', (err) => { sendError(res, toGatewayError(err)); finish({ status, end: 'upstream-error', error: err }) })
  upRes.on('end', () => {
    if (size > MAX_FILTERED_BODY) return
    filter.rewrite(status, Buffer.concat(chunks)).then((out) => {
      if (res.destroyed) return
      if (!Buffer.isBuffer(out)) {
        sendError(res, out)
        finish({ status: out.status, end: 'complete' })
        return
      }
      res.writeHead(status, answer.statusMessage, withContentLength(pairs, out.length))
      res.end(out)
      res.on('finish', () => finish({ status, end: 'complete' }))
    }, (err: unknown) => {
      const e = toGatewayError(err)
      sendError(res, e)
      finish({ status: e.status, end: 'upstream-error', error: e })
    })
  })
}

/**
 * Splits a stream into lines at newline bytes, parses each as JSON and passes on the original
 * bytes of those `keep` accepts (a character split across chunks is joined before decoding). A
 * line that does not parse is dropped: what cannot be judged is not shown.
 */
class JsonLineFilter extends Transform {
  readonly #keep: (event: unknown) => boolean | Promise<boolean>
  #partial: Buffer = Buffer.alloc(0)

  constructor (keep: (event: unknown) => boolean | Promise<boolean>) {
    super()
    this.#keep = keep
  }

  override _transform (chunk: Buffer, _enc: BufferEncoding, callback: TransformCallback): void {
    const data = this.#partial.length === 0 ? chunk : Buffer.concat([this.#partial, chunk])
    const lines: Buffer[] = []
    let start = 0
    for (let nl = data.indexOf(10); nl !== -1; nl = data.indexOf(10, start)) {
      lines.push(data.subarray(start, nl + 1))
      start = nl + 1
    }
    this.#partial = data.subarray(start)
    // A line longer than any event the engine writes is not an event.
    if (this.#partial.length > 1024 * 1024) { callback(new UpstreamProtocolError('the engine sent an event line too long to judge')); return }
    this.#judge(lines).then(() => callback(), callback)
  }

  override _flush (callback: TransformCallback): void {
    const rest = this.#partial
    this.#partial = Buffer.alloc(0)
    this.#judge(rest.length === 0 ? [] : [rest]).then(() => callback(), callback)
  }

  async #judge (lines: Buffer[]): Promise<void> {
    for (const line of lines) {
      const text = line.toString('utf8').trim()
      if (text === '') continue
      let event: unknown
      try { event = JSON.parse(text) } catch { continue }
      const verdict = this.#keep(event)
      if (verdict === true || (verdict !== false && await verdict)) this.push(line)
    }
  }
}
