import { isUtf8 } from 'node:buffer'
import { BadRequestBodyError } from '../core/errors.ts'
import { JsonNumber, type JsonArray, type JsonObject, type JsonValue } from './json-value.ts'

/**
 * A strict JSON (RFC 8259) reader for request bodies dockward decides on, and the writer for what
 * it forwards instead. Strict where the engine's Go decoder is lenient or where two readers could
 * disagree: a body with two equal keys in one object, data after the value (Go ignores it), a BOM,
 * invalid UTF-8 (Go replaces it) or absurd nesting is refused, never guessed at. Where Go is
 * precise the reader is too: numbers keep their digits, and a lone UTF-16 surrogate escape
 * becomes U+FFFD as Go makes it.
 */

export interface GoJsonOptions {
  /** Deepest nesting of objects and arrays accepted (default 512). */
  readonly maxDepth?: number
}

const DEFAULT_MAX_DEPTH = 512
const WHOLE_NUMBER = /^-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?$/
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })

/**
 * Parses a request body into a `JsonValue` the way Go's encoding/json reads it, refusing every
 * input where that reading could be ambiguous. Throws only `BadRequestBodyError`, whose message
 * names the byte offset or the key path.
 *
 * @example
 * parseGoJson(Buffer.from('{"Memory":9007199254740993}')) // { Memory: JsonNumber('9007199254740993') }
 */
export function parseGoJson (bytes: Buffer, options: GoJsonOptions = {}): JsonValue {
  const maxDepth = options.maxDepth ?? DEFAULT_MAX_DEPTH
  try {
    if (bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) {
      throw new BadRequestBodyError('request body: byte order mark at byte 0 (not JSON)')
    }
    if (!isUtf8(bytes)) throw new BadRequestBodyError(`request body: invalid UTF-8 at byte ${firstInvalidUtf8(bytes)}`)
    return new Parser(utf8.decode(bytes), maxDepth).document()
  } catch (err) {
    if (err instanceof BadRequestBodyError) throw err
    // A stack overflow (a huge maxDepth) or anything unforeseen: still a refusal, never a crash.
    throw new BadRequestBodyError(`request body: cannot be read (${err instanceof Error ? err.message : String(err)})`)
  }
}

/**
 * Compact JSON text of `value`: object keys in the object's own order, numbers as their source
 * digits. Objects are JavaScript objects, so integer-like keys come first; that changes nothing
 * for the engine, which reads objects into structs and maps. Throws a TypeError for a JsonNumber
 * whose text is not a JSON number (one built by hand, never one from the parser).
 *
 * @example
 * serializeJson({ Cmd: ['sh'], Memory: new JsonNumber('1e9') }) // '{"Cmd":["sh"],"Memory":1e9}'
 */
export function serializeJson (value: JsonValue): string {
  // Pieces joined once at the end: linear however large the document.
  const out: string[] = []
  write(value, out)
  return out.join('')
}

function write (v: JsonValue, out: string[]): void {
  if (v === null) out.push('null')
  else if (v === true) out.push('true')
  else if (v === false) out.push('false')
  else if (typeof v === 'string') out.push(JSON.stringify(v))
  else if (v instanceof JsonNumber) {
    // The digits go out verbatim: a JsonNumber not made by the parser must not smuggle in JSON.
    if (!WHOLE_NUMBER.test(v.text)) throw new TypeError(`serializeJson: ${JSON.stringify(v.text)} is not a JSON number`)
    out.push(v.text)
  } else if (Array.isArray(v)) {
    out.push('[')
    for (let i = 0; i < v.length; i++) {
      if (i > 0) out.push(',')
      write(v[i] ?? null, out)
    }
    out.push(']')
  } else {
    const obj = v as JsonObject
    let sep = '{'
    for (const key of Object.keys(obj)) {
      out.push(sep, JSON.stringify(key), ':')
      sep = ','
      write(obj[key] ?? null, out)
    }
    out.push(sep === '{' ? '{}' : '}')
  }
}

/** A key path for messages, quoted and shortened: `"HostConfig.Mounts[2].Type"`. */
function formatPath (path: readonly (string | number)[]): string {
  let s = ''
  for (const part of path) s += typeof part === 'number' ? `[${part}]` : s === '' ? part : `.${part}`
  return JSON.stringify(s.length > 200 ? `${s.slice(0, 200)}…` : s)
}

/** Byte offset of the first byte that does not start or continue a valid UTF-8 sequence. */
function firstInvalidUtf8 (b: Buffer): number {
  let i = 0
  while (i < b.length) {
    const c = b[i] ?? 0
    let n: number
    let min: number
    if (c < 0x80) { i++; continue }
    if (c >= 0xc2 && c <= 0xdf) { n = 1; min = 0x80 } else if (c >= 0xe0 && c <= 0xef) { n = 2; min = 0x800 } else if (c >= 0xf0 && c <= 0xf4) { n = 3; min = 0x10000 } else return i
    let cp = c & (0x3f >> n)
    for (let k = 1; k <= n; k++) {
      const cc = b[i + k]
      if (cc === undefined || (cc & 0xc0) !== 0x80) return i
      cp = (cp << 6) | (cc & 0x3f)
    }
    // Overlong forms, UTF-16 surrogates and code points past U+10FFFF are not UTF-8 either.
    if (cp < min || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff) return i
    i += n + 1
  }
  return i
}

function isHex (c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66)
}

class Parser {
  private readonly text: string
  private readonly maxDepth: number
  private i = 0
  private depth = 0
  /** Keys and indices from the root to the value being read, for messages. */
  private readonly path: (string | number)[] = []

  constructor (text: string, maxDepth: number) {
    this.text = text
    this.maxDepth = maxDepth
  }

  document (): JsonValue {
    this.skipWhitespace()
    if (this.i >= this.text.length) throw new BadRequestBodyError('request body: empty (a JSON value is required)')
    const value = this.value()
    this.skipWhitespace()
    if (this.i < this.text.length) throw this.error('data after the JSON value')
    return value
  }

  private error (what: string, at = this.i): BadRequestBodyError {
    return new BadRequestBodyError(`request body: ${what} at byte ${Buffer.byteLength(this.text.slice(0, at), 'utf8')}`)
  }

  private unexpected (expected: string): BadRequestBodyError {
    if (this.i >= this.text.length) return this.error(`unexpected end of input, expected ${expected}`)
    const ch = this.text.codePointAt(this.i) ?? 0
    return this.error(`unexpected ${JSON.stringify(String.fromCodePoint(ch))}, expected ${expected}`)
  }

  private skipWhitespace (): void {
    const t = this.text
    let i = this.i
    for (;;) {
      const c = t.charCodeAt(i)
      if (c !== 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) break
      i++
    }
    this.i = i
  }

  private value (): JsonValue {
    const c = this.text.charCodeAt(this.i)
    if (c === 0x7b) return this.object()
    if (c === 0x5b) return this.array()
    if (c === 0x22) return this.string()
    if (c === 0x2d || (c >= 0x30 && c <= 0x39)) return this.number()
    if (this.text.startsWith('true', this.i)) { this.i += 4; return true }
    if (this.text.startsWith('false', this.i)) { this.i += 5; return false }
    if (this.text.startsWith('null', this.i)) { this.i += 4; return null }
    throw this.unexpected('a JSON value')
  }

  private enter (): void {
    if (++this.depth > this.maxDepth) throw this.error(`nesting deeper than ${this.maxDepth} levels`)
  }

  private object (): JsonObject {
    this.enter()
    this.i++ // {
    const obj = Object.create(null) as Record<string, JsonValue>
    this.skipWhitespace()
    if (this.text.charCodeAt(this.i) === 0x7d) {
      this.i++
      this.depth--
      return obj
    }
    for (;;) {
      this.skipWhitespace()
      if (this.text.charCodeAt(this.i) !== 0x22) throw this.unexpected('a string key')
      const key = this.string()
      if (Object.hasOwn(obj, key)) {
        throw new BadRequestBodyError(`request body: duplicate key ${formatPath([...this.path, key])}`)
      }
      this.skipWhitespace()
      if (this.text.charCodeAt(this.i) !== 0x3a) throw this.unexpected("':'")
      this.i++
      this.skipWhitespace()
      this.path.push(key)
      obj[key] = this.value()
      this.path.pop()
      this.skipWhitespace()
      const c = this.text.charCodeAt(this.i)
      if (c === 0x2c) { this.i++; continue }
      if (c === 0x7d) { this.i++; break }
      throw this.unexpected("',' or '}'")
    }
    this.depth--
    return obj
  }

  private array (): JsonArray {
    this.enter()
    this.i++ // [
    const items: JsonValue[] = []
    this.skipWhitespace()
    if (this.text.charCodeAt(this.i) === 0x5d) {
      this.i++
      this.depth--
      return items
    }
    for (;;) {
      this.skipWhitespace()
      this.path.push(items.length)
      items.push(this.value())
      this.path.pop()
      this.skipWhitespace()
      const c = this.text.charCodeAt(this.i)
      if (c === 0x2c) { this.i++; continue }
      if (c === 0x5d) { this.i++; break }
      throw this.unexpected("',' or ']'")
    }
    this.depth--
    return items
  }

  private number (): JsonNumber {
    const t = this.text
    const start = this.i
    let i = start
    if (t.charCodeAt(i) === 0x2d) i++
    const intStart = i
    i = this.digits(i)
    // One or more digits, and no leading zero ("01" is not a number).
    let ok = i > intStart && !(t.charCodeAt(intStart) === 0x30 && i - intStart > 1)
    if (ok && t.charCodeAt(i) === 0x2e) {
      const fracStart = ++i
      i = this.digits(i)
      ok = i > fracStart
    }
    if (ok && (t.charCodeAt(i) | 0x20) === 0x65) {
      i++
      if (t.charCodeAt(i) === 0x2b || t.charCodeAt(i) === 0x2d) i++
      const expStart = i
      i = this.digits(i)
      ok = i > expStart
    }
    // A number must end at a delimiter: "1.", "1e", "-", "1.5.2" and "1-2" are not numbers.
    const next = t.charCodeAt(i)
    if (!ok || next === 0x2e || next === 0x2b || next === 0x2d || (next | 0x20) === 0x65 || (next >= 0x30 && next <= 0x39)) {
      throw this.error('invalid number', start)
    }
    this.i = i
    return new JsonNumber(t.slice(start, i))
  }

  private digits (i: number): number {
    const t = this.text
    for (;;) {
      const c = t.charCodeAt(i) // NaN past the end
      if (!(c >= 0x30 && c <= 0x39)) return i
      i++
    }
  }

  /** A string token (at its opening quote), with its escapes decoded. */
  private string (): string {
    const t = this.text
    const open = this.i
    let i = open + 1
    let runStart = i
    // Pieces are joined once at the end, so long strings with many escapes stay linear.
    let pieces: string[] | undefined
    for (;;) {
      if (i >= t.length) throw this.error('unterminated string', open)
      const c = t.charCodeAt(i)
      if (c === 0x22) break
      if (c < 0x20) throw this.error('control character in a string', i)
      if (c !== 0x5c) { i++; continue }
      pieces ??= []
      if (i > runStart) pieces.push(t.slice(runStart, i))
      i = this.escape(i, pieces)
      runStart = i
    }
    this.i = i + 1
    if (pieces === undefined) return t.slice(open + 1, i)
    if (i > runStart) pieces.push(t.slice(runStart, i))
    return pieces.join('')
  }

  /** Decodes the escape at `i` (its backslash) into `pieces`; returns the index after it. */
  private escape (i: number, pieces: string[]): number {
    const t = this.text
    const e = t.charCodeAt(i + 1)
    switch (e) {
      case 0x22: pieces.push('"'); return i + 2
      case 0x5c: pieces.push('\\'); return i + 2
      case 0x2f: pieces.push('/'); return i + 2
      case 0x62: pieces.push('\b'); return i + 2
      case 0x66: pieces.push('\f'); return i + 2
      case 0x6e: pieces.push('\n'); return i + 2
      case 0x72: pieces.push('\r'); return i + 2
      case 0x74: pieces.push('\t'); return i + 2
      case 0x75: break
      default: throw this.error('invalid escape in a string', i)
    }
    const unit = this.hex4(i + 2)
    if (unit < 0) throw this.error('invalid \\u escape in a string', i)
    if (unit < 0xd800 || unit > 0xdfff) {
      pieces.push(String.fromCharCode(unit))
      return i + 6
    }
    // A surrogate pair escaped as two \u escapes is one character. Anything else is a lone
    // surrogate, which Go decodes as U+FFFD (the escape after it is read on its own).
    if (unit <= 0xdbff && t.charCodeAt(i + 6) === 0x5c && t.charCodeAt(i + 7) === 0x75) {
      const low = this.hex4(i + 8)
      if (low >= 0xdc00 && low <= 0xdfff) {
        pieces.push(String.fromCharCode(unit, low))
        return i + 12
      }
    }
    pieces.push('\ufffd')
    return i + 6
  }

  /** The value of four hex digits at `at`, or -1. */
  private hex4 (at: number): number {
    const t = this.text
    let v = 0
    for (let k = 0; k < 4; k++) {
      const c = t.charCodeAt(at + k)
      if (!isHex(c)) return -1
      v = v * 16 + parseInt(t[at + k] ?? '', 16)
    }
    return v
  }
}
