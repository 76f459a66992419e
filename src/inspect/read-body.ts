import type { IncomingMessage } from 'node:http'
import { BodyTooLargeError, HeadersTimeoutError } from '../core/errors.ts'

/**
 * Reads a request body that must be inspected before forwarding, up to `limit` bytes and within
 * `timeoutMs`. The exact bytes returned are what gets forwarded, so the decision and the engine
 * see the same body.
 */
export function readBody (req: IncomingMessage, limit: number, timeoutMs: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    const timer = setTimeout(() => fail(new HeadersTimeoutError('request body was not received in time')), timeoutMs)
    const fail = (err: Error): void => {
      clearTimeout(timer)
      req.removeListener('data', onData)
      reject(err)
    }
    const onData = (chunk: Buffer): void => {
      size += chunk.length
      if (size > limit) { fail(new BodyTooLargeError(limit)); return }
      chunks.push(chunk)
    }
    req.on('data', onData)
    req.once('end', () => {
      clearTimeout(timer)
      resolve(Buffer.concat(chunks, size))
    })
    req.once('error', fail)
    req.once('close', () => { if (!req.complete) fail(new HeadersTimeoutError('request body was not received in full')) })
  })
}
