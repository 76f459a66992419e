import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { BadRequestBodyError } from '../../src/core/errors.ts'
import { parseGoJson, serializeJson, type GoJsonOptions } from '../../src/inspect/go-json.ts'
import { JsonNumber, isJsonObject, type JsonValue } from '../../src/inspect/json-value.ts'
import { fuzzParams } from './fuzz-settings.ts'

/**
 * Properties of the JSON reader and writer: the reader refuses with BadRequestBodyError or reads
 * what JSON.parse reads (numbers as their digits, lone surrogates as U+FFFD like Go), and what
 * the writer forwards reads back to the same document.
 */

/** parseGoJson; undefined when it refuses, and a refusal must be a BadRequestBodyError. */
function parseOrRefuse (bytes: Buffer, options?: GoJsonOptions): JsonValue | undefined {
  try {
    return parseGoJson(bytes, options)
  } catch (err) {
    if (err instanceof BadRequestBodyError) {
      assert.match(err.message, /^request body/)
      return undefined
    }
    throw new Error(`parseGoJson(${JSON.stringify(bytes.toString('latin1').slice(0, 200))}) threw ${String(err)}, not a BadRequestBodyError`, { cause: err })
  }
}

function refusal (bytes: Buffer, options?: GoJsonOptions): BadRequestBodyError {
  try {
    parseGoJson(bytes, options)
  } catch (err) {
    if (err instanceof BadRequestBodyError) return err
    throw new Error(`threw ${String(err)}, not a BadRequestBodyError`, { cause: err })
  }
  assert.fail(`accepted ${JSON.stringify(bytes.toString('latin1').slice(0, 200))}`)
}

/** Plain data for deepEqual: JsonNumbers as their text, objects as entries in their own order. */
function plain (v: JsonValue): unknown {
  if (v instanceof JsonNumber) return { n: v.text }
  if (Array.isArray(v)) return v.map(plain)
  if (isJsonObject(v)) return Object.keys(v).map((k) => [k, plain(v[k] ?? null)])
  return v
}

/** Lone UTF-16 surrogates as U+FFFD, as Go decodes a lone `\uD800` (String#toWellFormed). */
function wellFormed (s: string): string {
  return s.replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '\ufffd')
}

/** An own, enumerable property, as JSON.parse defines it (`__proto__` included). */
function define (o: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(o, key, { value, enumerable: true, writable: true, configurable: true })
}

/** A parsed document as JSON.parse would give it: numbers as doubles, ordinary objects. */
function asJs (v: JsonValue): unknown {
  if (v instanceof JsonNumber) return Number(v.text)
  if (Array.isArray(v)) return v.map(asJs)
  if (isJsonObject(v)) {
    const o: Record<string, unknown> = {}
    for (const k of Object.keys(v)) define(o, k, asJs(v[k] ?? null))
    return o
  }
  return v
}

/** JSON.parse's result with lone surrogates as Go reads them. */
function jsWellFormed (v: unknown): unknown {
  if (typeof v === 'string') return wellFormed(v)
  if (Array.isArray(v)) return v.map(jsWellFormed)
  if (typeof v === 'object' && v !== null) {
    const o: Record<string, unknown> = {}
    for (const k of Object.keys(v)) define(o, wellFormed(k), jsWellFormed((v as Record<string, unknown>)[k]))
    return o
  }
  return v
}

/**
 * For an accepted document: JSON.parse agrees, and the canonical text reads back to the same
 * document with the same number digits and key order (parse ∘ serialize is the identity on
 * parsed documents, and serialize ∘ parse is a fixpoint on canonical text).
 */
function checkAccepted (bytes: Buffer, doc: JsonValue): void {
  assert.deepStrictEqual(asJs(doc), jsWellFormed(JSON.parse(bytes.toString('utf8'))), 'JSON.parse reads the same document')
  const text = serializeJson(doc)
  const again = parseGoJson(Buffer.from(text, 'utf8'))
  assert.deepStrictEqual(plain(again), plain(doc), 'parse(serialize(parse(x))) equals parse(x)')
  assert.equal(serializeJson(again), text, 'canonical text is a fixpoint')
}

// --- a model of JSON documents, written out with random spacing and escapes ----------------

type Model =
  | { readonly t: 'null' }
  | { readonly t: 'bool', readonly v: boolean }
  | { readonly t: 'num', readonly text: string }
  | { readonly t: 'str', readonly v: string }
  | { readonly t: 'arr', readonly items: readonly Model[] }
  | { readonly t: 'obj', readonly entries: ReadonlyArray<readonly [string, Model]> }

// Every JSON number form, big integers and long fractions included.
const numberTextArb = fc.oneof(
  fc.stringMatching(/^-?(0|[1-9][0-9]{0,24})(\.[0-9]{1,12})?([eE][+-]?[0-9]{1,3})?$/),
  fc.constantFrom('0', '-0', '9007199254740993', '-9223372036854775809', '18446744073709551616', '1e400', '-1e-400', '0.1', '1E+2', '5e-324')
)

// Keys: any Unicode, and the ones JavaScript objects treat specially (index order, prototype).
const keyArb = fc.oneof(
  { weight: 4, arbitrary: fc.string({ unit: 'binary', maxLength: 8 }) },
  { weight: 1, arbitrary: fc.constantFrom('0', '1', '10', '4294967294', '4294967295', '-1', '01', '__proto__', 'constructor', 'Image', 'image', 'ſ', 'K') }
)

const { model: modelArb } = fc.letrec<{ model: Model }>((tie) => ({
  model: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constant({ t: 'null' as const }),
    fc.boolean().map((v) => ({ t: 'bool' as const, v })),
    numberTextArb.map((text) => ({ t: 'num' as const, text })),
    fc.string({ unit: 'binary', maxLength: 12 }).map((v) => ({ t: 'str' as const, v })),
    fc.array(tie('model'), { maxLength: 5 }).map((items) => ({ t: 'arr' as const, items })),
    fc.uniqueArray(fc.tuple(keyArb, tie('model')), { selector: (e) => e[0], maxLength: 5 }).map((entries) => ({ t: 'obj' as const, entries }))
  )
}))

/** A small deterministic generator for formatting choices, seeded by fast-check. */
function random (seed: number): () => number {
  let s = seed >>> 0
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0
    return s / 0x1_0000_0000
  }
}

const WHITESPACE = ['', '', '', ' ', '\n', '\t', '\r\n', '  \t\n']
const SHORT_ESCAPES: Readonly<Record<string, string>> = { '"': '\\"', '\\': '\\\\', '/': '\\/', '\b': '\\b', '\f': '\\f', '\n': '\\n', '\r': '\\r', '\t': '\\t' }

function writeString (s: string, rnd: () => number): string {
  let out = '"'
  // By code point: a pair is written raw or as two escapes, never half and half; a lone
  // surrogate has no UTF-8 form and is always escaped.
  for (const ch of s) {
    const r = rnd()
    const code = ch.charCodeAt(0)
    const lone = ch.length === 1 && code >= 0xd800 && code <= 0xdfff
    const mustEscape = ch === '"' || ch === '\\' || code < 0x20 || lone
    if (SHORT_ESCAPES[ch] !== undefined && (mustEscape || r < 0.5)) out += SHORT_ESCAPES[ch]
    else if (mustEscape || r < 0.15) {
      for (let i = 0; i < ch.length; i++) {
        const h = ch.charCodeAt(i).toString(16).padStart(4, '0')
        out += '\\u' + (r < 0.07 ? h : h.toUpperCase())
      }
    } else out += ch
  }
  return out + '"'
}

function writeModel (m: Model, rnd: () => number): string {
  const ws = (): string => WHITESPACE[Math.floor(rnd() * WHITESPACE.length)]!
  switch (m.t) {
    case 'null': return 'null'
    case 'bool': return String(m.v)
    case 'num': return m.text
    case 'str': return writeString(m.v, rnd)
    case 'arr': return '[' + ws() + m.items.map((i) => writeModel(i, rnd) + ws()).join(',' + ws()) + ']'
    case 'obj': return '{' + ws() + m.entries.map(([k, v]) => writeString(k, rnd) + ws() + ':' + ws() + writeModel(v, rnd) + ws()).join(',' + ws()) + '}'
  }
}

/** The model as the reader must return it, for `plain` comparison in JavaScript key order. */
function expected (m: Model): JsonValue {
  switch (m.t) {
    case 'null': return null
    case 'bool': return m.v
    case 'num': return new JsonNumber(m.text)
    case 'str': return m.v
    case 'arr': return m.items.map(expected)
    case 'obj': {
      const o = Object.create(null) as Record<string, JsonValue>
      for (const [k, v] of m.entries) o[k] = expected(v)
      return o
    }
  }
}

const documentArb = fc.tuple(modelArb, fc.integer(), fc.constantFrom(...WHITESPACE), fc.constantFrom(...WHITESPACE))
  .map(([model, seed, before, after]) => ({ model, text: before + writeModel(model, random(seed)) + after }))

// --- byte-level mutations -------------------------------------------------------------------

// JSON's own punctuation and the fragments that sit on the reader's edge cases.
const TOKENS = [
  '{', '}', '[', ']', '"', ':', ',', '\\', '\\u', '\\ud800', '\\udc00', '\\uZZ', '\\x', 'tru', 'true', 'nul', 'false',
  '-', '0', '01', '1.', '.5', '1e', '1e+', '-0', '+1', 'NaN', 'Infinity', '1_000', '0x10', '\u2028', '\ufeff', ' ', '\t',
  '\u000b', '\u00a0', '\u0000', '/*', '//', '"a":1', ',"a":1', '[[[[', ']]]]'
]
const INVALID_UTF8 = [[0x80], [0xbf], [0xc0, 0x80], [0xc1, 0xbf], [0xe0, 0x80, 0x80], [0xed, 0xa0, 0x80], [0xed, 0xbf, 0xbf], [0xf4, 0x90, 0x80, 0x80], [0xf5, 0x80, 0x80, 0x80], [0xff], [0xe2, 0x82], [0xf0, 0x9f, 0x98]]

const byteMutationArb = fc.oneof(
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), bytes: fc.oneof(
    { weight: 1, arbitrary: fc.uint8Array({ minLength: 1, maxLength: 3 }).map((b) => Buffer.from(b)) },
    { weight: 3, arbitrary: fc.constantFrom(...TOKENS).map((t) => Buffer.from(t)) }
  ) }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 4 }) }),
  fc.record({ kind: fc.constant('replace' as const), at: fc.nat(), byte: fc.oneof(fc.integer({ min: 0x20, max: 0x7e }), fc.integer({ min: 0, max: 255 })) }),
  fc.record({ kind: fc.constant('copy' as const), from: fc.nat(), to: fc.nat(), length: fc.integer({ min: 1, max: 12 }) }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() })
)

type ByteMutation = typeof byteMutationArb extends fc.Arbitrary<infer M> ? M : never

function mutateBytes (b: Buffer, m: ByteMutation): Buffer {
  const at = (n: number): number => n % (b.length + 1)
  switch (m.kind) {
    case 'insert': return Buffer.concat([b.subarray(0, at(m.at)), m.bytes, b.subarray(at(m.at))])
    case 'delete': return Buffer.concat([b.subarray(0, at(m.at)), b.subarray(at(m.at) + m.length)])
    case 'replace': {
      if (b.length === 0) return b
      const out = Buffer.from(b)
      out[m.at % b.length] = m.byte
      return out
    }
    case 'copy': {
      const from = at(m.from)
      return Buffer.concat([b.subarray(0, at(m.to)), b.subarray(from, from + m.length), b.subarray(at(m.to))])
    }
    case 'truncate': return b.subarray(0, at(m.at))
  }
}

const mutatedArb = fc.tuple(documentArb, fc.array(byteMutationArb, { minLength: 1, maxLength: 4 }))
  .map(([doc, ms]) => ms.reduce(mutateBytes, Buffer.from(doc.text, 'utf8')))

// --- properties -----------------------------------------------------------------------------

test('fc.jsonValue documents round-trip: serializeJson(parseGoJson(JSON.stringify(v))) reads back as v', () => {
  fc.assert(fc.property(fc.oneof(fc.jsonValue(), fc.jsonValue({ stringUnit: 'binary' })), (v) => {
    const doc = parseGoJson(Buffer.from(JSON.stringify(v), 'utf8'))
    // JSON.stringify turns -0 into 0; comparing with its own reading keeps numbers as numbers.
    assert.deepStrictEqual(JSON.parse(serializeJson(doc)), JSON.parse(JSON.stringify(v)))
  }), fuzzParams(1000))
})

test('documents with Unicode keys, big numbers, escapes and spacing are read exactly', () => {
  fc.assert(fc.property(documentArb, ({ model, text }) => {
    const bytes = Buffer.from(text, 'utf8')
    const doc = parseOrRefuse(bytes)
    assert.ok(doc !== undefined, `refused ${JSON.stringify(text)}`)
    // Number digits and key order (JavaScript's: integer-like keys first) as the model says.
    assert.deepStrictEqual(plain(doc), plain(expected(model)))
    checkAccepted(bytes, doc)
  }), fuzzParams(1000))
})

test('lone surrogate escapes read as U+FFFD, as Go reads them; escaped pairs as one character', () => {
  const withSurrogates = fc.array(fc.oneof(
    fc.string({ unit: 'binary', maxLength: 3 }),
    fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c))
  ), { maxLength: 8 }).map((parts) => parts.join(''))
  fc.assert(fc.property(withSurrogates, fc.integer(), (s, seed) => {
    // JSON.stringify escapes lone surrogates; writeString may escape pairs too.
    for (const text of [JSON.stringify(s), writeString(s, random(seed))]) {
      const doc = parseGoJson(Buffer.from(text, 'utf8'))
      assert.equal(doc, wellFormed(s), text)
    }
  }), fuzzParams(1000))
})

test('arbitrary bytes and strings: refused with BadRequestBodyError, or read as JSON.parse reads them', () => {
  fc.assert(fc.property(
    fc.oneof(
      fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.from(b)),
      fc.string({ unit: 'binary', maxLength: 40 }).map((s) => Buffer.from(s, 'utf8')),
      fc.array(fc.constantFrom(...TOKENS), { maxLength: 12 }).map((t) => Buffer.from(t.join(''), 'utf8'))
    ),
    (bytes) => {
      const doc = parseOrRefuse(bytes)
      if (doc !== undefined) checkAccepted(bytes, doc)
    }
  ), fuzzParams(2000))
})

test('mutated documents: refused with BadRequestBodyError, or read as JSON.parse reads them', () => {
  fc.assert(fc.property(mutatedArb, (bytes) => {
    const doc = parseOrRefuse(bytes)
    if (doc !== undefined) checkAccepted(bytes, doc)
  }), fuzzParams(1500))
})

test('a key repeated in one object is refused, however it is escaped and wherever the object is', () => {
  // An object with the repeated key, placed inside a random document.
  const duplicated = fc.record({
    host: modelArb,
    key: fc.string({ unit: 'binary', maxLength: 6 }),
    first: modelArb,
    second: modelArb,
    others: fc.uniqueArray(fc.tuple(keyArb, modelArb), { selector: (e) => e[0], maxLength: 3 }),
    secondAt: fc.nat(),
    seed: fc.integer()
  })
  fc.assert(fc.property(duplicated, ({ host, key, first, second, others, secondAt, seed }) => {
    const rnd = random(seed)
    const entries = others.filter(([k]) => k !== key).map(([k, v]) => writeString(k, rnd) + ':' + writeModel(v, rnd))
    entries.splice(0, 0, writeString(key, rnd) + ':' + writeModel(first, rnd))
    // The second spelling is escaped independently of the first: `"a"` and `"\u0061"` are one key.
    entries.splice(1 + secondAt % entries.length, 0, writeString(key, rnd) + ':' + writeModel(second, rnd))
    const object = '{' + entries.join(',') + '}'
    const text = host.t === 'arr' ? `[${object}]` : host.t === 'obj' ? `{"host":${object}}` : object
    assert.match(refusal(Buffer.from(text, 'utf8')).message, /duplicate key/, text)
  }), fuzzParams(800))
})

test('data after the value, a BOM, or invalid UTF-8 anywhere are refused', () => {
  const trailing = fc.tuple(fc.constantFrom(' ', '\n', '\t\r\n'), fc.oneof(fc.constantFrom('1', 'x', '{}', '[', ',', '"', 'null', '\u0000', '/'), fc.string({ unit: 'binary', minLength: 1, maxLength: 6 })))
    .filter(([, g]) => !/^[ \t\n\r]/.test(g))
    .map(([ws, g]) => ws + g)
  fc.assert(fc.property(documentArb, trailing, fc.constantFrom(...INVALID_UTF8), fc.nat(), ({ text }, after, invalid, at) => {
    const bytes = Buffer.from(text, 'utf8')
    assert.match(refusal(Buffer.from(text + after, 'utf8')).message, /data after the JSON value/)
    assert.match(refusal(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), bytes])).message, /byte order mark/)
    const i = at % (bytes.length + 1)
    assert.match(refusal(Buffer.concat([bytes.subarray(0, i), Buffer.from(invalid), bytes.subarray(i)])).message, /invalid UTF-8/)
  }), fuzzParams(800))
})

test('nesting is accepted up to maxDepth and refused past it', () => {
  fc.assert(fc.property(
    fc.integer({ min: 1, max: 1200 }),
    fc.option(fc.integer({ min: 1, max: 1000 }), { nil: undefined }),
    fc.array(fc.boolean(), { minLength: 1, maxLength: 8 }),
    (depth, maxDepth, pattern) => {
      let open = ''
      let close = ''
      for (let i = 0; i < depth; i++) {
        const obj = pattern[i % pattern.length]!
        open += obj ? '{"k":' : '['
        close = (obj ? '}' : ']') + close
      }
      const bytes = Buffer.from(open + '0' + close)
      const options = maxDepth === undefined ? {} : { maxDepth }
      const limit = maxDepth ?? 512
      if (depth <= limit) assert.ok(parseOrRefuse(bytes, options) !== undefined, `depth ${depth} ≤ ${limit} refused`)
      else assert.match(refusal(bytes, options).message, /nesting deeper than/)
    }
  ), fuzzParams(300))
})

test('absurd nesting under a huge maxDepth is still only a BadRequestBodyError, never a crash', () => {
  fc.assert(fc.property(fc.integer({ min: 20_000, max: 200_000 }), fc.boolean(), (depth, obj) => {
    const bytes = Buffer.from((obj ? '{"a":' : '[').repeat(depth) + '1' + (obj ? '}' : ']').repeat(depth))
    parseOrRefuse(bytes, { maxDepth: Number.MAX_SAFE_INTEGER })
  }), fuzzParams(10, 300))
})
