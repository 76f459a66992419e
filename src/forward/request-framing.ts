import { BadFramingError, UnsupportedTransferEncodingError } from '../core/errors.ts'
import { connectionNamesFraming, rawHeader } from './hop-headers.ts'

/** How a request's body is delimited, after Node's parser has accepted it. */
export type BodyFraming = 'none' | 'length' | 'chunked'

/**
 * Node's parser already rejects Content-Length together with Transfer-Encoding and conflicting
 * lengths. What is left to refuse: transfer codings other than plain `chunked`, because dropping
 * the hop-by-hop header would silently change what the body means (Go's server answers 501 too),
 * and a Connection header that declares the framing itself hop-by-hop.
 */
export function bodyFraming (raw: readonly string[]): BodyFraming {
  checkConnectionHeader(raw)
  const te = rawHeader(raw, 'transfer-encoding')
  if (te !== undefined) {
    if (te.trim().toLowerCase() !== 'chunked') throw new UnsupportedTransferEncodingError(te)
    return 'chunked'
  }
  return declaresLength(raw) ? 'length' : 'none'
}

/**
 * Whether the request says a body follows (chunked, or a non-zero Content-Length), without
 * judging the framing: an answer sent before reading such a body must close the connection.
 */
export function declaresBody (raw: readonly string[]): boolean {
  return rawHeader(raw, 'transfer-encoding') !== undefined || declaresLength(raw)
}

function declaresLength (raw: readonly string[]): boolean {
  const cl = rawHeader(raw, 'content-length')
  return cl !== undefined && cl.trim() !== '0'
}

/**
 * `Connection: Content-Length` (or `Host`) asks a proxy to drop the very header that frames the
 * body; obeying it smuggles the body to the engine as a request of its own. Nobody sends it
 * legitimately, so it is refused.
 */
export function checkConnectionHeader (raw: readonly string[]): void {
  const named = connectionNamesFraming(raw)
  if (named !== null) throw new BadFramingError(`the Connection header must not name ${named}`)
}
