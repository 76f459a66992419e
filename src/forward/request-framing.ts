import { UnsupportedTransferEncodingError } from '../core/errors.ts'
import { rawHeader } from './hop-headers.ts'

/** How a request's body is delimited, after Node's parser has accepted it. */
export type BodyFraming = 'none' | 'length' | 'chunked'

/**
 * Node's parser already rejects Content-Length together with Transfer-Encoding and conflicting
 * lengths. What is left to refuse: transfer codings other than plain `chunked`, because dropping
 * the hop-by-hop header would silently change what the body means (Go's server answers 501 too).
 */
export function bodyFraming (raw: readonly string[]): BodyFraming {
  const te = rawHeader(raw, 'transfer-encoding')
  if (te !== undefined) {
    if (te.trim().toLowerCase() !== 'chunked') throw new UnsupportedTransferEncodingError(te)
    return 'chunked'
  }
  const cl = rawHeader(raw, 'content-length')
  return cl === undefined || cl.trim() === '0' ? 'none' : 'length'
}
