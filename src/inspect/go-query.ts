import { BadRequestTargetError } from '../core/errors.ts'

/**
 * A query as the engine's Go handlers see it (`r.Form` after `r.ParseForm`): every value of each
 * name, in order. The object has a null prototype, so any name is an ordinary key.
 */
export type GoQuery = Record<string, string[]>

/**
 * Parameters the engine reads as lists (`r.Form[name]`, every value) rather than with
 * `r.FormValue` (the first value only). Checked against moby's api/server/router handlers:
 * build_routes.go (`t`, `extrahosts`, `securityopt`), image_routes.go (`changes` on import,
 * `names` and `platform` on save, `platform` on load, `platforms` on delete), container_routes.go
 * (`changes` on commit), system_routes.go (`type` on /system/df).
 */
const LIST_QUERY_NAMES: Readonly<Record<string, readonly string[]>> = {
  ImageBuild: ['t', 'extrahosts', 'securityopt'],
  ImageCreate: ['changes'],
  ImageCommit: ['changes'],
  ImageGetAll: ['names', 'platform'],
  ImageGet: ['platform'],
  ImageLoad: ['platform'],
  ImageDelete: ['platforms'],
  SystemDataUsage: ['type']
}

// Everything a client must percent-encode stays out: controls, space, DEL, and raw non-ASCII
// (which Node hands over as latin1 while Go reads UTF-8).
const RAW_QUERY_OK = /^[\x21-\x7e]*$/
const HEX2 = /^[0-9A-Fa-f]{2}$/
// ignoreBOM keeps a leading U+FEFF, which Go keeps too; fatal refuses invalid UTF-8.
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })

/**
 * Whether the engine reads every value of `name` on `operation` (so repeating it is meaningful).
 *
 * @example isListQueryName('ImageBuild', 't') // true
 */
export function isListQueryName (operation: string, name: string): boolean {
  return LIST_QUERY_NAMES[operation]?.includes(name) ?? false
}

/**
 * Parses a raw query string the way Go's `url.ParseQuery` does for the engine (`&`-separated
 * pairs, split at the first `=`, `+` as space, `%XX` escapes, empty pairs skipped), but refuses
 * what Go would silently skip or what could read two ways:
 * - a pair holding `;` (Go before 1.17 split on it, later Go drops the pair);
 * - a malformed escape (Go drops the pair);
 * - raw characters a client must encode, NUL and invalid UTF-8 after decoding;
 * - a repeated name the engine reads with `r.FormValue` (first value only), unless the engine
 *   reads that name on `operation` as a list.
 *
 * @example parseGoQuery('t=a&t=b%20c&q=1', 'ImageBuild') // { t: ['a', 'b c'], q: ['1'] }
 */
export function parseGoQuery (raw: string, operation: string): GoQuery {
  const out = Object.create(null) as GoQuery
  if (raw === '') return out
  if (!RAW_QUERY_OK.test(raw)) throw new BadRequestTargetError('query string contains characters that must be percent-encoded')
  for (const pair of raw.split('&')) {
    if (pair === '') continue
    if (pair.includes(';')) throw new BadRequestTargetError('query string contains ";" (older engines read it as a separator); encode it as %3B')
    const eq = pair.indexOf('=')
    const name = queryUnescape(eq === -1 ? pair : pair.slice(0, eq))
    const value = queryUnescape(eq === -1 ? '' : pair.slice(eq + 1))
    const values = out[name]
    if (values === undefined) {
      out[name] = [value]
      continue
    }
    if (!isListQueryName(operation, name)) {
      throw new BadRequestTargetError(`query parameter ${JSON.stringify(name)} is given more than once; the engine would read only the first`)
    }
    values.push(value)
  }
  return out
}

/** Go's QueryUnescape, strict: a malformed escape, invalid UTF-8 or NUL is refused. */
function queryUnescape (s: string): string {
  // The raw query is printable ASCII (checked above), so without escapes there is nothing to decode.
  if (!s.includes('%')) return s.replaceAll('+', ' ')
  const bytes: number[] = []
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (c === 0x25 /* % */) {
      const hex = s.slice(i + 1, i + 3)
      if (!HEX2.test(hex)) throw new BadRequestTargetError('query string has a malformed percent-encoding')
      bytes.push(Number.parseInt(hex, 16))
      i += 2
    } else {
      bytes.push(c === 0x2b /* + */ ? 0x20 : c)
    }
  }
  let text: string
  try {
    text = utf8.decode(Uint8Array.from(bytes))
  } catch {
    throw new BadRequestTargetError('query string decodes to invalid UTF-8')
  }
  if (text.includes('\0')) throw new BadRequestTargetError('query string contains an encoded NUL')
  return text
}

/**
 * `r.FormValue(name)`: the first value, or '' when the name is absent.
 *
 * @example formValue(parseGoQuery('a=1', 'X'), 'a') // '1'
 */
export function formValue (query: Readonly<Record<string, readonly string[]>>, name: string): string {
  return query[name]?.[0] ?? ''
}

// Go's unicode.IsSpace, which strings.TrimSpace uses; JavaScript's trim() differs on U+0085
// (Go trims it) and U+FEFF (JavaScript trims it).
const GO_SPACE = /^[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+|[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+$/g

/**
 * The engine's `httputils.BoolValue` on one value: trimmed and lower-cased, '', '0', 'no',
 * 'false' and 'none' are false, anything else is true. Lower-casing ASCII is enough: no non-ASCII
 * rune lower-cases (in Go) to a letter of those words.
 *
 * @example goBool(' No ') // false
 */
export function goBool (value: string | undefined): boolean {
  const s = (value ?? '').replace(GO_SPACE, '').replace(/[A-Z]+/g, (m) => m.toLowerCase())
  return !(s === '' || s === '0' || s === 'no' || s === 'false' || s === 'none')
}

/**
 * The engine's `httputils.BoolValueOrDefault`: `fallback` when the name is absent from the query
 * (present with an empty value counts as present, and is false), else `goBool` of the first value.
 *
 * @example goBoolOrDefault(parseGoQuery('', 'ImageLoad'), 'quiet', true) // true
 */
export function goBoolOrDefault (query: Readonly<Record<string, readonly string[]>>, name: string, fallback: boolean): boolean {
  const values = query[name]
  if (values === undefined) return fallback
  return goBool(values[0])
}

/**
 * Serializes the parameters `allowedNames` lists, and only those, so that the engine's parse of
 * the result equals `query`: names sorted, values in order, every byte outside
 * `A-Za-z0-9-_.!~*'()` percent-encoded (space as `%20`, never `+`). Names the operation does not
 * take are dropped and listed in `ignored` (sorted).
 *
 * @example canonicalQueryString({ all: ['1'], x: ['y'] }, ['all']) // { query: 'all=1', ignored: ['x'] }
 */
export function canonicalQueryString (query: Readonly<Record<string, readonly string[]>>, allowedNames: Iterable<string>): { query: string, ignored: string[] } {
  const allowed = new Set(allowedNames)
  const names = Object.keys(query).sort()
  const parts: string[] = []
  const ignored: string[] = []
  for (const name of names) {
    if (!allowed.has(name)) {
      ignored.push(name)
      continue
    }
    const key = encodeURIComponent(name)
    for (const value of query[name] ?? []) parts.push(`${key}=${encodeURIComponent(value)}`)
  }
  return { query: parts.join('&'), ignored }
}
