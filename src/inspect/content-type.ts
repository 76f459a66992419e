import { BadRequestBodyError } from '../core/errors.ts'

/** How the engine will read a request body: see `checkContentType`. */
export type BodyKind = 'none' | 'stream' | 'json'

// Go's Request.ParseForm reads a POST, PUT or PATCH body of these types into the same form values
// the query fills, ahead of the query (net/http request.go parsePostForm). The engine calls
// ParseForm on most routes, so such a body would silently override the query dockward decided on.
const FORM_TYPES = ['application/x-www-form-urlencoded', 'multipart/form-data']
const FORM_METHODS = new Set(['POST', 'PUT', 'PATCH'])

/**
 * Checks the Content-Type of a request the way the engine will read it, and refuses what it would
 * read differently from dockward:
 * - two Content-Type headers (Go reads the first, other parsers the last);
 * - a form-encoded body on POST/PUT/PATCH, in any case or with any parameters, because the
 *   engine would take parameters from it (a substring test, so no media-type parser quirk can
 *   disguise one);
 * - on an operation with a JSON body, any type but `application/json` (the engine's
 *   httputils.CheckForJSON accepts it in any case and with parameters, or no type at all).
 * dockward forwards JSON bodies with its own `Content-Type: application/json`.
 *
 * @example checkContentType(['Content-Type', 'application/json; charset=utf-8'], 'POST', 'json') // ok
 */
export function checkContentType (raw: readonly string[], method: string, kind: BodyKind): void {
  let value: string | undefined
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i]!.length !== 12 || raw[i]!.toLowerCase() !== 'content-type') continue
    if (value !== undefined) throw new BadRequestBodyError('the request has more than one Content-Type header')
    value = raw[i + 1]!
  }
  if (value === undefined) return
  // Go lower-cases media types with Unicode rules (strings.ToLower maps U+0130 İ to 'i' and
  // U+212A K to 'k'), so a non-ASCII spelling can read as a form type to the engine and as
  // anything else here. Media types are ASCII; anything else is refused.
  // eslint-disable-next-line no-control-regex
  if (/[^\x09\x20-\x7e]/.test(value)) {
    throw new BadRequestBodyError('the Content-Type header must be plain ASCII')
  }
  const lower = value.toLowerCase()
  if (FORM_METHODS.has(method) && FORM_TYPES.some((t) => lower.includes(t))) {
    throw new BadRequestBodyError(`form-encoded request bodies are not accepted (Content-Type ${JSON.stringify(value)}): the engine would read parameters from them`)
  }
  if (kind !== 'json') return
  const semi = lower.indexOf(';')
  const type = (semi === -1 ? lower : lower.slice(0, semi)).trim()
  if (type !== 'application/json') {
    // The engine's own words (moby api/server/httputils CheckForJSON).
    throw new BadRequestBodyError(`Content-Type specified (${value}) must be 'application/json'`)
  }
}
