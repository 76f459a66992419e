import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { BadFramingError, GatewayError, UnsupportedTransferEncodingError } from '../../src/core/errors.ts'
import { endToEndHeaders, withContentLength, withContentType } from '../../src/forward/hop-headers.ts'
import { bodyFraming } from '../../src/forward/request-framing.ts'
import { queryNamesOf } from '../../src/inspect/canonical-body.ts'
import { checkContentType, type BodyKind } from '../../src/inspect/content-type.ts'
import { canonicalQueryString, isListQueryName, parseGoQuery, type GoQuery } from '../../src/inspect/go-query.ts'
import { fuzzParams } from './fuzz-settings.ts'

/**
 * Properties of the query parser and of the header handling: refusals are GatewayErrors, an
 * accepted query is read as Go's url.ParseQuery reads it and forwarded in a form that reads back
 * the same, a Content-Type the engine would read as a form never passes, and the headers
 * forwarded are exactly the end-to-end ones, framed by dockward alone.
 */

/** Runs `fn`; a throw must be a GatewayError, and gives null. */
function orRefusal<T> (what: string, fn: () => T): T | null {
  try {
    return fn()
  } catch (err) {
    if (err instanceof GatewayError) return null
    throw new Error(`${what} threw ${String(err)}, not a GatewayError`, { cause: err })
  }
}

/** A small deterministic generator for shuffles, seeded by fast-check. */
function random (seed: number): () => number {
  let s = seed >>> 0
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0
    return s / 0x1_0000_0000
  }
}

/** The values of every header named `lower` (any case), in order. */
function valuesOf (raw: readonly string[], lower: string): string[] {
  const out: string[] = []
  for (let i = 0; i < raw.length; i += 2) if (raw[i]!.toLowerCase() === lower) out.push(raw[i + 1]!)
  return out
}

// --- the query --------------------------------------------------------------------------------

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })

/**
 * Go's url.QueryUnescape with the README's refusals: null for a malformed escape, invalid UTF-8
 * or NUL (Go would drop the pair, or keep bytes JavaScript cannot hold).
 */
function referenceUnescape (s: string): string | null {
  const bytes: number[] = []
  for (let i = 0; i < s.length; i++) {
    if (s[i] === '%') {
      if (!/^[0-9A-Fa-f]{2}$/.test(s.slice(i + 1, i + 3))) return null
      bytes.push(Number.parseInt(s.slice(i + 1, i + 3), 16))
      i += 2
    } else bytes.push(s[i] === '+' ? 0x20 : s.charCodeAt(i))
  }
  try {
    const text = utf8.decode(Uint8Array.from(bytes))
    return text.includes('\0') ? null : text
  } catch {
    return null
  }
}

/**
 * url.ParseQuery as the engine's handlers see it (`&`-separated, first `=`, empty pairs skipped),
 * refusing as the README says: raw characters a client must encode, `;`, a bad escape, and a
 * repeated name the engine reads once. Null for a refusal.
 */
function referenceParse (raw: string, operation: string): Map<string, string[]> | null {
  const out = new Map<string, string[]>()
  if (raw === '') return out
  if (/[^\x21-\x7e]/.test(raw)) return null
  for (const pair of raw.split('&')) {
    if (pair === '') continue
    if (pair.includes(';')) return null
    const eq = pair.indexOf('=')
    const name = referenceUnescape(eq === -1 ? pair : pair.slice(0, eq))
    const value = referenceUnescape(eq === -1 ? '' : pair.slice(eq + 1))
    if (name === null || value === null) return null
    const values = out.get(name)
    if (values === undefined) out.set(name, [value])
    else if (isListQueryName(operation, name)) values.push(value)
    else return null
  }
  return out
}

const asMap = (q: GoQuery): Map<string, string[]> => new Map(Object.keys(q).map((k) => [k, q[k]!]))

const OPERATIONS = ['ImageBuild', 'ImageGetAll', 'SystemDataUsage', 'ImageDelete', 'ImageCreate', 'ContainerList', 'ContainerCreate', 'PutContainerArchive', 'NoSuchOperation']
const REAL_QUERIES = [
  'all=1&filters=%7B%22status%22%3A%5B%22running%22%5D%7D', 't=a&t=b%20c&q=1', 'name=web&platform=linux%2Famd64',
  'fromImage=busybox&tag=latest', 'path=%2Fetc&noOverwriteDirNonDir=true', 'type=container&type=image',
  'buildargs=%7B%22A%22%3A%221%22%7D&networkmode=host&t=x:1&extrahosts=a:1.2.3.4', 'names=a&names=b%2Fc&platform=linux',
  'force=1&noprune=0&platforms=linux%2Farm64', 'u=%C3%A9%E2%82%AC&v=%EF%BB%BFx&w=a+b', '=v&k&&x='
]
const QUERY_FRAGMENTS = ['&', '=', ';', '%', '%2', '%zz', '%00', '%3B', '%26', '%3D', '%2B', '%C3', '%C3%A9', '%ED%A0%80', '%ff', '+', ' ', '#', 'é', '\u0000', '&&', '==', 't=', 'all=', 'filters=x', '__proto__=1']

const queryMutationArb = fc.oneof(
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), text: fc.constantFrom(...QUERY_FRAGMENTS) }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 3 }) }),
  fc.record({ kind: fc.constant('repeat' as const), pair: fc.nat() })
)
type QueryMutation = typeof queryMutationArb extends fc.Arbitrary<infer M> ? M : never

function mutateQuery (q: string, m: QueryMutation): string {
  switch (m.kind) {
    case 'insert': {
      const at = m.at % (q.length + 1)
      return q.slice(0, at) + m.text + q.slice(at)
    }
    case 'delete': {
      const at = m.at % (q.length + 1)
      return q.slice(0, at) + q.slice(at + m.length)
    }
    case 'repeat': {
      const pairs = q.split('&')
      return [...pairs, pairs[m.pair % pairs.length]!].join('&')
    }
  }
}

const queryChars = fc.constantFrom(...'ab=&;%+2FfCc3A09 #é\u0000'.split(''), '%2', '%C3', '%A9', '%00')
const rawQueryArb = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 30 }),
  fc.string({ unit: 'grapheme-ascii', maxLength: 30 }),
  fc.string({ unit: queryChars, maxLength: 20 }),
  fc.tuple(fc.constantFrom(...REAL_QUERIES), fc.array(queryMutationArb, { maxLength: 3 })).map(([q, ms]) => ms.reduce(mutateQuery, q))
)

/** The pairs shuffled, keeping the order of each name's values (which the engine reads in order). */
function shuffleKeepingValueOrder (raw: string, seed: number): string {
  const pairs = raw.split('&')
  const nameOf = (p: string): string => referenceUnescape(p.includes('=') ? p.slice(0, p.indexOf('=')) : p) ?? p
  const rnd = random(seed)
  const order = pairs.map((_, i) => i)
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1))
    ;[order[i], order[j]] = [order[j]!, order[i]!]
  }
  // Each name's pairs go into that name's new positions in their original order.
  const queues = new Map<string, string[]>()
  for (const p of pairs) queues.set(nameOf(p), [...(queues.get(nameOf(p)) ?? []), p])
  return order.map((i) => queues.get(nameOf(pairs[i]!))!.shift()!).join('&')
}

test('parseGoQuery: only GatewayErrors, and exactly the reading and refusals of url.ParseQuery with the README rules', () => {
  fc.assert(fc.property(rawQueryArb, fc.constantFrom(...OPERATIONS), (raw, operation) => {
    const parsed = orRefusal(`parseGoQuery(${JSON.stringify(raw)})`, () => parseGoQuery(raw, operation))
    const reference = referenceParse(raw, operation)
    assert.equal(parsed === null, reference === null, `${JSON.stringify(raw)} on ${operation}: ${parsed === null ? 'refused' : 'accepted'}`)
    if (parsed === null || reference === null) return
    assert.equal(Object.getPrototypeOf(parsed), null)
    assert.deepStrictEqual(asMap(parsed), reference)
  }), fuzzParams(3000))
})

test('canonicalQueryString: reads back to the same values for the kept names, whatever order the pairs came in', () => {
  fc.assert(fc.property(rawQueryArb, fc.constantFrom(...OPERATIONS), fc.integer(), fc.integer(), (raw, operation, pick, shuffle) => {
    const parsed = orRefusal('parseGoQuery', () => parseGoQuery(raw, operation))
    if (parsed === null) return
    // The operation's own names, and a random part of the others.
    const rnd = random(pick)
    const names = [...queryNamesOf(operation), ...Object.keys(parsed).filter(() => rnd() < 0.5)]
    const { query, ignored } = canonicalQueryString(parsed, names)
    assert.match(query, /^[A-Za-z0-9\-_.!~*'()%=&]*$/, 'only characters no reader decodes differently')
    const kept = new Map([...asMap(parsed)].filter(([name]) => names.includes(name)))
    assert.deepStrictEqual(asMap(parseGoQuery(query, operation)), kept)
    assert.deepStrictEqual(ignored, Object.keys(parsed).filter((n) => !names.includes(n)).sort())
    // The client's order of pairs does not change what is forwarded.
    const shuffled = shuffleKeepingValueOrder(raw, shuffle)
    assert.equal(canonicalQueryString(parseGoQuery(shuffled, operation), names).query, query, `${shuffled} vs ${raw}`)
  }), fuzzParams(2000))
})

// --- Content-Type -----------------------------------------------------------------------------

/** Go's strings.ToLower, near enough: per code point, and U+0130 İ is 'i' (JavaScript makes it 'i̇'). */
function goToLower (s: string): string {
  return [...s].map((c) => c === '\u0130' ? 'i' : c.toLowerCase()).join('')
}

/** Random case per letter, and Unicode letters Go lower-cases to ASCII ones. */
function disguiseType (s: string, rnd: () => number): string {
  let out = ''
  for (const c of s) {
    const r = rnd()
    if ((c === 'i' || c === 'I') && r < 0.2) out += '\u0130'
    else if ((c === 'k' || c === 'K') && r < 0.3) out += '\u212a'
    else if ((c === 's' || c === 'S') && r < 0.1) out += '\u017f'
    else out += r < 0.6 ? c : r < 0.8 ? c.toUpperCase() : c.toLowerCase()
  }
  return out
}

const MEDIA_TYPES = ['application/x-www-form-urlencoded', 'multipart/form-data', 'application/json', 'text/plain', 'application/x-tar', 'application/octet-stream', '']
const contentTypeArb = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 40 }),
  // What Node hands over: header bytes as latin1.
  fc.string({ unit: fc.integer({ min: 0, max: 255 }).map((c) => String.fromCharCode(c)), maxLength: 40 }),
  fc.record({
    before: fc.constantFrom('', ' ', '\t', 'text/plain, ', 'x', ';'),
    type: fc.constantFrom(...MEDIA_TYPES),
    after: fc.constantFrom('', ';', '; charset=utf-8', ';boundary=x', ' ', '\t', ', application/json', '\u0000', '\u00a0', '\u2028', '"'),
    seed: fc.integer()
  }).map(({ before, type, after, seed }) => before + disguiseType(type, random(seed)) + after)
)

const METHODS = ['POST', 'PUT', 'PATCH', 'GET', 'DELETE', 'HEAD', 'post']
const KINDS: BodyKind[] = ['none', 'stream', 'json']
const CONTENT_TYPE_NAMES = ['Content-Type', 'content-type', 'CONTENT-TYPE', 'Content-type']

test('checkContentType: only GatewayErrors; never a form type (as Go lower-cases it) on POST, PUT or PATCH; JSON bodies only as application/json', () => {
  const rawArb = fc.record({
    values: fc.array(contentTypeArb, { minLength: 0, maxLength: 2 }),
    names: fc.array(fc.constantFrom(...CONTENT_TYPE_NAMES), { minLength: 2, maxLength: 2 }),
    others: fc.array(fc.tuple(fc.constantFrom('Host', 'Content-Typo', 'X-Content-Type', 'Content-Length', 'Content-Type '), fc.string({ maxLength: 8 })), { maxLength: 2 })
  }).map(({ values, names, others }) => {
    const raw: string[] = []
    values.forEach((v, i) => raw.push(names[i]!, v))
    for (const [n, v] of others) raw.push(n, v)
    return raw
  })
  fc.assert(fc.property(rawArb, fc.constantFrom(...METHODS), fc.constantFrom(...KINDS), (raw, method, kind) => {
    const accepted = orRefusal('checkContentType', () => { checkContentType(raw, method, kind) }) !== null
    if (!accepted) return
    assert.ok(valuesOf(raw, 'content-type').length <= 1, 'two Content-Type headers are never accepted')
    const first = raw.findIndex((n, i) => i % 2 === 0 && n.toLowerCase() === 'content-type')
    if (first === -1) return
    // Go's server reads the first Content-Type header.
    const goLower = goToLower(raw[first + 1]!)
    if (['POST', 'PUT', 'PATCH'].includes(method)) {
      assert.ok(!goLower.includes('x-www-form-urlencoded'), `form type accepted: ${JSON.stringify(raw[first + 1])}`)
      assert.ok(!goLower.includes('multipart/form-data'), `multipart form accepted: ${JSON.stringify(raw[first + 1])}`)
    }
    if (kind === 'json') {
      const semi = goLower.indexOf(';')
      assert.equal((semi === -1 ? goLower : goLower.slice(0, semi)).replace(/^[ \t]+|[ \t]+$/g, ''), 'application/json')
    }
  }), fuzzParams(3000))
})

test('checkContentType accepts application/json in any ASCII case, with parameters, on JSON operations', () => {
  fc.assert(fc.property(fc.integer(), fc.constantFrom('', '; charset=utf-8', ';charset=UTF-8', ' ', '\t'), fc.constantFrom('POST', 'PUT'), (seed, params, method) => {
    const rnd = random(seed)
    const value = [...'application/json'].map((c) => rnd() < 0.5 ? c.toUpperCase() : c).join('') + params
    checkContentType(['Content-Type', value], method, 'json')
  }), fuzzParams(300))
})

// --- forwarded headers ------------------------------------------------------------------------

// RFC 9110 §7.6.1 hop-by-hop fields, the obsolete Proxy-Connection, and Expect (dockward answers
// 100-continue itself).
const HOP_BY_HOP = ['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'proxy-authorization', 'proxy-authenticate', 'expect']
const NEVER_FORWARDED = new Set([...HOP_BY_HOP, 'authorization'])
const FRAMING = new Set(['content-length', 'host'])

/** Names a Connection header lists, as HTTP reads it: comma-separated, OWS (SP, HTAB) trimmed, any case. */
function connectionNames (raw: readonly string[]): Set<string> {
  const names = new Set<string>()
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i]!.toLowerCase() !== 'connection') continue
    for (const token of raw[i + 1]!.split(',')) {
      const t = token.replace(/^[ \t]+|[ \t]+$/g, '').toLowerCase()
      if (t !== '' && !FRAMING.has(t)) names.add(t)
    }
  }
  return names
}

const TOKEN_NAMES = ['Host', 'Content-Length', 'Content-Type', 'X-Registry-Auth', 'X-Docker-Expose-Session-Grpc-Method', 'User-Agent', 'Accept', 'X-Custom', 'x-custom', 'Close', 'Foo', 'Authorization']
const randomCase = (s: string, seed: number): string => {
  const rnd = random(seed)
  return [...s].map((c) => rnd() < 0.5 ? c.toUpperCase() : c.toLowerCase()).join('')
}
const headerNameArb = fc.oneof(
  fc.tuple(fc.constantFrom(...HOP_BY_HOP, 'authorization', ...TOKEN_NAMES), fc.integer()).map(([n, seed]) => randomCase(n, seed)),
  fc.stringMatching(/^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,12}$/)
)

/** A Connection value: names (some present in the list), options, OWS and empty elements. */
const connectionValueArb = fc.array(
  fc.tuple(
    fc.constantFrom('', ' ', '\t', '  ', '\u00a0'),
    fc.oneof(fc.constantFrom('close', 'keep-alive', 'Upgrade', 'content-length', 'Host', '', 'X-Custom', 'foo', 'TE', 'Authorization', 'Close'), headerNameArb),
    fc.constantFrom('', ' ', '\t')
  ).map(([a, n, b]) => a + n + b),
  { maxLength: 4 }
).map((parts) => parts.join(','))

// Values as Node hands them over: visible latin1, inner spaces and tabs.
const headerValueArb = fc.string({ unit: fc.oneof(fc.integer({ min: 0x20, max: 0x7e }), fc.integer({ min: 0x80, max: 0xff }), fc.constant(0x09)).map((c) => String.fromCharCode(c)), maxLength: 10 })

const rawHeadersArb = fc.array(fc.oneof(
  { weight: 4, arbitrary: fc.tuple(headerNameArb, headerValueArb) },
  { weight: 1, arbitrary: fc.tuple(fc.integer().map((seed) => randomCase('connection', seed)), connectionValueArb) }
), { maxLength: 10 }).map((pairs) => pairs.flat())

/**
 * Where endToEndHeaders knowingly differs from HTTP's reading (see the todo tests below): it
 * keeps a header named by the `close` option, and trims Connection tokens with JavaScript's
 * trim(), which also strips U+00A0 (a latin1 0xA0 byte Node passes through), so it drops a
 * header HTTP would keep. Null when `raw` shows neither.
 */
function knownDeviation (raw: readonly string[]): string | null {
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i]!.toLowerCase() !== 'connection') continue
    if (raw[i + 1]!.includes('\u00a0')) return 'U+00A0 in Connection'
    if (raw[i + 1]!.split(',').some((t) => t.trim().toLowerCase() === 'close') && raw.some((n, j) => j % 2 === 0 && n.toLowerCase() === 'close')) return 'Close header with Connection: close'
  }
  return null
}

test('endToEndHeaders: never Authorization, hop-by-hop fields or what Connection names; everything else kept in order', () => {
  fc.assert(fc.property(rawHeadersArb, fc.option(fc.constantFrom('tcp', 'h2c', 'websocket'), { nil: undefined }), (raw, upgrade) => {
    const out = endToEndHeaders(raw, upgrade === undefined ? undefined : { upgrade })
    const named = connectionNames(raw)
    const expected: string[] = []
    for (let i = 0; i < raw.length; i += 2) {
      const lower = raw[i]!.toLowerCase()
      if (!NEVER_FORWARDED.has(lower) && !named.has(lower)) expected.push(raw[i]!, raw[i + 1]!)
    }
    if (upgrade !== undefined) expected.push('Connection', 'Upgrade', 'Upgrade', upgrade)
    const deviation = knownDeviation(raw)
    if (deviation === null) {
      assert.deepStrictEqual(out, expected)
      return
    }
    // A known deviation: still never a forbidden header (the close option aside), and the
    // output is the input's pairs, in order, and the decided Upgrade pair.
    const body = upgrade === undefined ? out : out.slice(0, -4)
    let from = 0
    for (let i = 0; i < body.length; i += 2) {
      const lower = body[i]!.toLowerCase()
      assert.ok(!NEVER_FORWARDED.has(lower) && (!named.has(lower) || lower === 'close'), `${body[i]!} forwarded`)
      while (from < raw.length && (raw[from] !== body[i] || raw[from + 1] !== body[i + 1])) from += 2
      assert.ok(from < raw.length, 'output pairs are input pairs, in order')
      from += 2
    }
  }), fuzzParams(3000))
})

// Findings of this fuzzing, not fixed here (see the report): HTTP (RFC 9110 §7.6.1) reads them
// differently. Both only ever add or drop a header the engine ignores; neither changes framing.
test('Connection: close also removes a header named Close (RFC 9110 §7.6.1)', { todo: 'endToEndHeaders skips the close option when collecting named fields' }, () => {
  assert.deepStrictEqual(endToEndHeaders(['Host', 'x', 'Close', 'y', 'Connection', 'close']), ['Host', 'x'])
})

test('Connection tokens are trimmed of HTTP whitespace only: a U+00A0 is part of the token', { todo: 'endToEndHeaders trims with String#trim(), which strips U+00A0 (latin1 0xA0)' }, () => {
  assert.deepStrictEqual(endToEndHeaders(['Connection', '\u00a0X-Custom', 'X-Custom', 'keep-me']), ['X-Custom', 'keep-me'])
})

test('endToEndHeaders and bodyFraming on arbitrary strings: no throw but GatewayErrors, and a flat name/value list', () => {
  const anyRaw = fc.array(fc.string({ unit: 'binary', maxLength: 12 }), { maxLength: 12 }).map((a) => a.length % 2 === 0 ? a : [...a, ''])
  fc.assert(fc.property(anyRaw, (raw) => {
    const out = endToEndHeaders(raw)
    assert.equal(out.length % 2, 0)
    for (let i = 0; i < out.length; i += 2) assert.ok(!NEVER_FORWARDED.has(out[i]!.toLowerCase()))
    orRefusal('bodyFraming', () => bodyFraming(raw))
  }), fuzzParams(2000))
})

/**
 * Header lists Node's parser lets through: at most one Content-Length, digits only; no
 * Transfer-Encoding together with it. Transfer-Encoding values vary, Connection names anything.
 */
const nodeAcceptedArb = fc.record({
  headers: rawHeadersArb.map((raw) => raw.filter((_, i) => {
    const n = raw[i - (i % 2)]!.toLowerCase()
    return n !== 'content-length' && n !== 'transfer-encoding'
  })),
  framing: fc.oneof(
    fc.constant(null),
    fc.tuple(fc.integer().map((s) => randomCase('content-length', s)), fc.constantFrom('0', '12', '007', ' 5')),
    fc.tuple(fc.integer().map((s) => randomCase('transfer-encoding', s)), fc.constantFrom('chunked', 'Chunked', ' chunked', 'gzip, chunked', 'chunked, gzip', 'identity'))
  ),
  at: fc.nat()
}).map(({ headers, framing, at }) => {
  if (framing === null) return headers
  const i = 2 * (at % (headers.length / 2 + 1))
  return [...headers.slice(0, i), framing[0], framing[1], ...headers.slice(i)]
})


test('a forwarded JSON body is framed by dockward alone: one Content-Length, one Content-Type, no hop-by-hop framing', () => {
  fc.assert(fc.property(nodeAcceptedArb, fc.nat({ max: 1 << 20 }), (raw, length) => {
    let framing: ReturnType<typeof bodyFraming>
    try {
      framing = bodyFraming(raw)
    } catch (err) {
      // Refused: a Connection header naming the framing, or a coding other than plain chunked.
      if (err instanceof BadFramingError) {
        assert.ok(valuesOf(raw, 'connection').some((v) => v.split(',').some((t) => FRAMING.has(t.trim().toLowerCase()))))
        return
      }
      if (err instanceof UnsupportedTransferEncodingError) {
        assert.notEqual(valuesOf(raw, 'transfer-encoding')[0]?.trim().toLowerCase(), 'chunked')
        return
      }
      throw err
    }
    // What HTTP reads as the framing must have been refused if Connection names it.
    for (const v of valuesOf(raw, 'connection')) for (const t of v.split(',')) assert.ok(!FRAMING.has(t.replace(/^[ \t]+|[ \t]+$/g, '').toLowerCase()))
    const te = valuesOf(raw, 'transfer-encoding')
    const cl = valuesOf(raw, 'content-length')
    assert.equal(framing, te.length > 0 ? 'chunked' : cl.length > 0 && cl[0]!.trim() !== '0' ? 'length' : 'none')

    // The JSON path (forward.ts): dockward's own length and type replace the client's.
    const forwarded = withContentType(withContentLength(endToEndHeaders(raw), length), 'application/json')
    assert.deepStrictEqual(valuesOf(forwarded, 'content-length'), [String(length)])
    assert.deepStrictEqual(valuesOf(forwarded, 'content-type'), ['application/json'])
    for (const name of [...HOP_BY_HOP, 'authorization']) assert.deepStrictEqual(valuesOf(forwarded, name), [], `${name} is not forwarded`)

    // The streaming chunked path: Transfer-Encoding said again once, never beside a Content-Length.
    if (framing === 'chunked') {
      const streamed = [...endToEndHeaders(raw), 'Transfer-Encoding', 'chunked']
      assert.deepStrictEqual(valuesOf(streamed, 'transfer-encoding'), ['chunked'])
      assert.deepStrictEqual(valuesOf(streamed, 'content-length'), [])
    }
  }), fuzzParams(2000))
})
