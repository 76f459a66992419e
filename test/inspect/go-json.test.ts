import { test } from 'node:test'
import assert from 'node:assert/strict'
import { BadRequestBodyError } from '../../src/core/errors.ts'
import { parseGoJson, serializeJson } from '../../src/inspect/go-json.ts'
import { JsonNumber, isJsonObject, type JsonValue } from '../../src/inspect/json-value.ts'

const parse = (text: string | Buffer, maxDepth?: number): JsonValue =>
  parseGoJson(typeof text === 'string' ? Buffer.from(text) : text, maxDepth === undefined ? {} : { maxDepth })

/** Asserts a refusal whose message matches `message`. */
function refuses (text: string | Buffer, message: RegExp, maxDepth?: number): void {
  assert.throws(() => parse(text, maxDepth), (err: unknown) => {
    assert.ok(err instanceof BadRequestBodyError, `not a BadRequestBodyError: ${String(err)}`)
    assert.match(err.message, message)
    assert.match(err.message, /^request body/)
    return true
  }, `${JSON.stringify(text.toString())} was accepted`)
}

/** Plain data for deepEqual: JsonNumbers as {n: text}, objects with their key order. */
function plain (v: JsonValue): unknown {
  if (v instanceof JsonNumber) return { n: v.text }
  if (Array.isArray(v)) return v.map(plain)
  if (isJsonObject(v)) return Object.keys(v).map(k => [k, plain(v[k] ?? null)])
  return v
}

test('parses every JSON kind; objects have a null prototype', () => {
  const v = parse(' {"a": [true, false, null, "s", 1, {}], "b": {"c": []}}\r\n\t')
  assert.deepEqual(plain(v), [['a', [true, false, null, 's', { n: '1' }, []]], ['b', [['c', []]]]])
  assert.ok(isJsonObject(v))
  assert.equal(Object.getPrototypeOf(v), null)
  const special = parse('{"__proto__": {"x": 1}, "constructor": 2, "hasOwnProperty": 3}')
  assert.ok(isJsonObject(special))
  assert.deepEqual(Object.keys(special), ['__proto__', 'constructor', 'hasOwnProperty'])
  assert.ok(Object.hasOwn(special, '__proto__'), '__proto__ is an ordinary own key')
  assert.equal(Object.getPrototypeOf(special), null)
  for (const scalar of ['true', 'false', 'null', '"x"', '0', '-1.5e-3']) assert.doesNotThrow(() => parse(scalar))
})

test('numbers keep their exact source text', () => {
  const v = parse('[9007199254740993, 18446744073709551615, -9223372036854775808, -0, 1.50, 1E+2, 2e-0, 0.1e10]')
  assert.deepEqual(plain(v), ['9007199254740993', '18446744073709551615', '-9223372036854775808', '-0', '1.50', '1E+2', '2e-0', '0.1e10'].map(n => ({ n })))
  assert.equal(serializeJson(parse('{"Memory":9007199254740993}')), '{"Memory":9007199254740993}')
})

test('Unicode escapes are decoded; pairs join, lone surrogates become U+FFFD as in Go', () => {
  assert.equal(parse('"\\u00e9\\u017F\\u212a\\/\\"\\\\\\b\\f\\n\\r\\t\\u0000"'), 'éſ\u212a/"\\\b\f\n\r\t\0')
  assert.equal(parse('"\\ud83d\\ude00 and 😀"'), '😀 and 😀')
  assert.equal(parse('"a\\ud800b"'), 'a\ufffdb', 'lone high surrogate')
  assert.equal(parse('"\\udc00"'), '\ufffd', 'lone low surrogate')
  assert.equal(parse('"\\ud800\\u0041"'), '\ufffdA', 'high surrogate, then an escape that is no low one')
  assert.equal(parse('"\\ud800\\ud800\\udc00"'), '\ufffd\u{10000}', 'the escape after a lone surrogate is read on its own')
  assert.equal(parse('"\\ud800\\n"'), '\ufffd\n')
  assert.equal(String(parse('"\\ud800"')).length, 1)
  assert.equal(parse('"\\uDBFF\\uDFFF"'), '\u{10FFFF}')
  assert.equal(parse(Buffer.from('"\u2028 ſ K"')), '\u2028 ſ K', 'raw non-ASCII characters pass')
})

test('keys equal after escape decoding are duplicates, reported with their path', () => {
  refuses('{"a": 1, "a": 2}', /^request body: duplicate key "a"$/)
  refuses('{"a": 1, "\\u0061": 2}', /duplicate key "a"/)
  refuses('{"HostConfig": {"Binds": [], "Binds": ["/:/host"]}}', /^request body: duplicate key "HostConfig\.Binds"$/)
  refuses('{"HostConfig": {"Mounts": [{}, {"Type": "bind", "Type": "volume"}]}}', /duplicate key "HostConfig\.Mounts\[1\]\.Type"/)
  refuses('[{"a": {"b": 1, "b": 1}}]', /duplicate key "\[0\]\.a\.b"/)
  refuses('{"__proto__": 1, "__proto__": 2}', /duplicate key "__proto__"/)
  refuses('{"\\ud800": 1, "\\udbff": 2}', /duplicate key "\ufffd"/, /* both are U+FFFD to Go */)
  // Keys differing in case are not duplicates to the parser (canonicalization decides on those).
  assert.doesNotThrow(() => parse('{"Privileged": true, "privileged": false}'))
  assert.doesNotThrow(() => parse('{"a": {"x": 1}, "b": {"x": 1}}'))
})

test('refuses what is not UTF-8, and a byte order mark', () => {
  refuses(Buffer.from([0xef, 0xbb, 0xbf, 0x7b, 0x7d]), /byte order mark at byte 0/)
  refuses(Buffer.from([0x22, 0xff, 0x22]), /invalid UTF-8 at byte 1$/)
  refuses(Buffer.from([0x22, 0x61, 0x80, 0x22]), /invalid UTF-8 at byte 2$/, /* a lone continuation byte */)
  refuses(Buffer.from([0x22, 0xc0, 0xaf, 0x22]), /invalid UTF-8 at byte 1$/, /* overlong '/' */)
  refuses(Buffer.from([0x22, 0xed, 0xa0, 0x80, 0x22]), /invalid UTF-8 at byte 1$/, /* an encoded surrogate */)
  refuses(Buffer.from([0x22, 0xf4, 0x90, 0x80, 0x80, 0x22]), /invalid UTF-8 at byte 1$/, /* past U+10FFFF */)
  refuses(Buffer.from([0x22, 0xc3, 0xa9, 0xe2, 0x82]), /invalid UTF-8 at byte 3$/, /* truncated */)
})

test('refuses whitespace JSON does not have, and raw control characters in strings', () => {
  refuses('{\u000b}', /unexpected "\\u000b", expected a string key at byte 1/)
  refuses('\u000c{}', /unexpected "\\f", expected a JSON value at byte 0/)
  refuses('{}\u00a0', /data after the JSON value at byte 2/)
  refuses('[1,\u20282]', /unexpected "\u2028", expected a JSON value at byte 3/)
  refuses('"a\tb"', /control character in a string at byte 2/)
  refuses('"a\nb"', /control character in a string at byte 2/)
  refuses('"\u0000"', /control character in a string at byte 1/)
  refuses('"\u001f"', /control character in a string at byte 1/)
})

test('refuses bad strings and escapes', () => {
  refuses('"abc', /unterminated string at byte 0/)
  refuses('{"a": "é', /unterminated string at byte 6/)
  refuses('"\\', /invalid escape in a string at byte 1/)
  refuses('"\\x41"', /invalid escape in a string at byte 1/)
  refuses('"\\U0041"', /invalid escape/)
  refuses("'a'", /unexpected "'", expected a JSON value at byte 0/)
  refuses('"\\u12G4"', /invalid \\u escape in a string at byte 1/)
  refuses('"\\u12"', /invalid \\u escape/)
  refuses('"\\ud800\\u12"', /invalid \\u escape in a string at byte 7/)
})

test('refuses what is not a JSON number', () => {
  for (const bad of ['01', '-01', '00', '1.', '.5', '+1', '-', '1e', '1e+', '1.e3', '1.5.2', '1-2', '0x10', 'NaN', 'Infinity', '-Infinity', '1_000']) {
    assert.throws(() => parse(bad), BadRequestBodyError, bad)
    assert.throws(() => parse(`[${bad}]`), BadRequestBodyError, `[${bad}]`)
    assert.throws(() => parse(`{"a":${bad}}`), BadRequestBodyError, `{"a":${bad}}`)
  }
  refuses('[1, 01]', /invalid number at byte 4/)
  refuses('-', /invalid number at byte 0/)
  refuses('2e', /invalid number at byte 0/)
})

test('refuses structural errors with the byte offset', () => {
  refuses('', /^request body: empty/)
  refuses(' \r\n\t', /^request body: empty/)
  refuses('{,}', /unexpected ",", expected a string key at byte 1/)
  refuses('{"a" 1}', /unexpected "1", expected ':' at byte 5/)
  refuses('{"a":1,}', /unexpected "}", expected a string key at byte 7/)
  refuses('{"a":1 "b":2}', /expected ',' or '}' at byte 7/)
  refuses('[1,]', /unexpected "]", expected a JSON value at byte 3/)
  refuses('[1 2]', /expected ',' or '\]' at byte 3/)
  refuses('[', /unexpected end of input, expected a JSON value at byte 1/)
  refuses('{"a":', /unexpected end of input, expected a JSON value at byte 5/)
  refuses('{"a":1', /unexpected end of input, expected ',' or '}' at byte 6/)
  refuses('{1:2}', /expected a string key at byte 1/)
  refuses('tru', /unexpected "t", expected a JSON value at byte 0/)
  refuses('nul', /expected a JSON value/)
  refuses('[True]', /unexpected "T"/)
  refuses('{"é": x}', /unexpected "x", expected a JSON value at byte 7/, /* é is two bytes */)
  refuses('["😀", ?]', /unexpected "\?", expected a JSON value at byte 9/)
})

test('refuses anything after the value (the engine would ignore it)', () => {
  refuses('{} {}', /data after the JSON value at byte 3/)
  refuses('{"Image":"a"}{"HostConfig":{"Privileged":true}}', /data after the JSON value at byte 13/)
  refuses('{}x', /data after the JSON value at byte 2/)
  refuses('1 2', /data after the JSON value at byte 2/)
  refuses('truex', /data after the JSON value at byte 4/)
  refuses('{}\u0000', /data after the JSON value at byte 2/)
  assert.doesNotThrow(() => parse('{}  \n\r\t'))
})

test('refuses nesting deeper than maxDepth (default 512)', () => {
  const nested = (n: number): string => '['.repeat(n) + ']'.repeat(n)
  assert.doesNotThrow(() => parse(nested(512)))
  refuses(nested(513), /nesting deeper than 512 levels at byte 512/)
  refuses('{"a":{"b":{"c":1}}}', /nesting deeper than 2 levels at byte 10/, 2)
  assert.doesNotThrow(() => parse('{"a":{"b":1}}', 2))
  assert.doesNotThrow(() => parse('"scalar"', 0))
  refuses('[]', /nesting deeper than 0 levels/, 0)
  // Too deep for the stack is still only a refusal.
  refuses('['.repeat(200000), /^request body: /, 1e9)
})

test('never throws anything but BadRequestBodyError (random corruptions of a real body)', { timeout: 60000 }, () => {
  const seed = Buffer.from(JSON.stringify({
    Image: 'busybox', Cmd: ['sh', '-c', 'echo é 😀'], Env: null, Memory: 1e3,
    HostConfig: { Binds: ['/a:/b'], Privileged: false, Ulimits: [{ Name: 'nofile', Soft: -1, Hard: 2.5 }] },
  }).replace('"é', '"\\u00e9\\ud800'))
  let state = 0x2545f491
  const random = (n: number): number => {
    state ^= state << 13; state ^= state >>> 17; state ^= state << 5
    return (state >>> 0) % n
  }
  const alphabet = Buffer.from('{}[]",:\\u0123456789abcdefe+-. \t\n\r\u0000\u00ff')
  let accepted = 0
  for (let round = 0; round < 20000; round++) {
    const b = Buffer.from(seed)
    for (let k = 1 + random(3); k > 0; k--) {
      const at = random(b.length)
      const op = random(3)
      if (op === 0) b[at] = alphabet[random(alphabet.length)] ?? 0
      else if (op === 1) b[at] = random(256)
      else b.copy(b, at, at + 1)
    }
    const input = b.subarray(0, b.length - random(2))
    try {
      const v = parseGoJson(input)
      accepted++
      // Whatever parses, serializes to JSON that parses to the same thing.
      assert.deepEqual(plain(parse(serializeJson(v))), plain(v))
    } catch (err) {
      if (!(err instanceof BadRequestBodyError)) throw new Error(`${input.toString('hex')} threw ${String(err)}`)
    }
  }
  assert.ok(accepted > 100, `only ${accepted} variants parsed`)
})

test('4 MiB bodies of every shape parse and serialize in linear time', { timeout: 60000 }, () => {
  const size = 4 * 1024 * 1024
  const shapes: Record<string, string> = {
    'numbers': `[${'1,'.repeat(size / 2 - 2)}1]`,
    'escapes': `"${'\\n'.repeat(size / 2 - 2)}"`,
    'lone surrogates': `"${'\\ud800'.repeat(Math.floor(size / 6) - 1)}"`,
    'small objects': `[${'{"a":1},'.repeat(size / 8 - 1)}{}]`,
    'many keys': `{${Array.from({ length: size / 16 }, (_, i) => `"k${i}":1`).join(',')}}`,
    'one long string': `"${'é'.repeat(size / 2 - 2)}"`,
    'nesting': '[{"a":'.repeat(256) + '1' + '}]'.repeat(256),
  }
  for (const [shape, text] of Object.entries(shapes)) {
    const started = performance.now()
    const v = parse(text)
    const out = serializeJson(v)
    const ms = performance.now() - started
    assert.ok(out.length > 0)
    assert.ok(ms < 10000, `${shape}: ${Math.round(ms)} ms`)
  }
})

test('serializeJson writes compact JSON in key order, numbers as their text', () => {
  const v = parse('{ "b": [1.50, -0, 1E400], "a": {"x": "q\\"u\\\\o\\u0001te", "y": null}, "c": true, "d": false, "e": {}, "f": [] }')
  assert.equal(serializeJson(v), '{"b":[1.50,-0,1E400],"a":{"x":"q\\"u\\\\o\\u0001te","y":null},"c":true,"d":false,"e":{},"f":[]}')
  assert.equal(serializeJson(parse('"\\ud800 😀 \u2028"')), '"\ufffd 😀 \u2028"')
  assert.equal(serializeJson([]), '[]')
  assert.equal(serializeJson({}), '{}')
  assert.equal(serializeJson('a'), '"a"')
  assert.equal(serializeJson(new JsonNumber('12345678901234567890')), '12345678901234567890')
  // Built by hand, a JsonNumber whose text is not a number could inject JSON: refused.
  assert.throws(() => serializeJson({ Memory: new JsonNumber('1,"Privileged":true') }), TypeError)
  assert.throws(() => serializeJson(new JsonNumber('NaN')), TypeError)
})

test('key paths in messages are quoted and shortened', () => {
  refuses('[{"a\\"b\\n": 1, "a\\"b\\n": 2}]', /^request body: duplicate key "\[0\]\.a\\"b\\n"$/)
  const long = 'k'.repeat(500)
  refuses(`{"${long}": 1, "${long}": 2}`, new RegExp(`^request body: duplicate key "${'k'.repeat(200)}…"$`))
})
