import { BadRequestBodyError } from '../core/errors.ts'

/**
 * Whether an exec start body asks for a detached exec (`{"Detach": true}`), decided the way the
 * engine's Go JSON decoder will read it:
 * - keys match struct fields case-insensitively, so `detach` and `DETACH` are `Detach` too
 *   ("Detach" holds no `k` or `s`, so Go's special Unicode folds cannot reach it);
 * - of exact duplicates the last wins, which JSON.parse does as well; duplicates that differ in
 *   case are refused rather than guessed at;
 * - `null` leaves the default, false.
 * Anything that is not a JSON object, or holds trailing data after it, is refused.
 */
export function execStartIsDetached (body: Buffer): boolean {
  let doc: unknown
  try {
    doc = JSON.parse(body.toString('utf8'))
  } catch {
    throw new BadRequestBodyError('exec start body is not valid JSON')
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) throw new BadRequestBodyError('exec start body must be a JSON object')
  const keys = Object.keys(doc).filter((k) => k.toLowerCase() === 'detach')
  if (keys.length > 1) throw new BadRequestBodyError('exec start body names Detach more than once')
  if (keys.length === 0) return false
  const value = (doc as Record<string, unknown>)[keys[0]!]
  if (value === null) return false
  if (typeof value !== 'boolean') throw new BadRequestBodyError('exec start body: Detach must be a boolean')
  return value
}
