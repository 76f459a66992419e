// The engine-answer parser on its own: framing, interim answers, and everything it must refuse
// rather than guess (a misread answer on a pooled connection would desynchronize the next one).
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { UpstreamProtocolError } from '../../src/core/errors.ts'
import { ResponseParser, type ResponseHead } from '../../src/forward/response-parser.ts'

interface Parsed { head: ResponseHead | null, body: string, complete: boolean, leftover: number }

/** Feeds `wire` in pieces of `step` bytes (0: all at once), then EOF when `eof`. */
function parse (wire: string, { method = 'GET', step = 0, eof = false } = {}): Parsed {
  const out: Parsed = { head: null, body: '', complete: false, leftover: 0 }
  const p = new ResponseParser({
    head: (h) => { assert.equal(out.head, null, 'one head per answer'); out.head = h },
    body: (b) => { assert.ok(!out.complete); out.body += b.toString('latin1') },
    complete: () => { out.complete = true }
  }, 1024)
  p.reset(method)
  const bytes = Buffer.from(wire, 'latin1')
  const n = step === 0 ? bytes.length : step
  for (let at = 0; at < bytes.length; at += n) out.leftover += p.execute(bytes.subarray(at, at + n))
  if (eof) p.eof()
  return out
}

function refuses (wire: string, pattern: RegExp, options = {}): void {
  assert.throws(() => parse(wire, options), (err: unknown) => err instanceof UpstreamProtocolError && pattern.test(err.message), wire)
}

const PING = 'HTTP/1.1 200 OK\r\nApi-Version: 1.41\r\nContent-Length: 2\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nOK'
const CHUNKED = 'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n' +
  '5\r\n{"a":\r\n3;ext=1\r\n1}\n\r\n0\r\nX-Trailer: t\r\n\r\n'

test('a Content-Length answer: head as sent, body, completion, reusable; the same split at every byte', () => {
  for (const step of [0, 1, 2, 3, 7]) {
    const r = parse(PING, { step })
    assert.equal(r.head?.status, 200)
    assert.equal(r.head?.statusMessage, 'OK')
    assert.deepEqual(r.head?.rawHeaders, ['Api-Version', '1.41', 'Content-Length', '2', 'Content-Type', 'text/plain; charset=utf-8'])
    assert.deepEqual(r.head?.framing, { kind: 'length', length: 2 })
    assert.equal(r.head?.keepAlive, true)
    assert.equal(r.body, 'OK')
    assert.ok(r.complete, `step ${step}`)
  }
})

test('a chunked answer is decoded (extensions, trailers dropped), whatever the split', () => {
  for (const step of [0, 1, 2, 5, 11]) {
    const r = parse(CHUNKED, { step })
    assert.deepEqual(r.head?.framing, { kind: 'chunked' })
    assert.equal(r.body, '{"a":1}\n', `step ${step}`)
    assert.ok(r.complete)
  }
})

test('answers without a body: HEAD, 204, 304, Content-Length 0', () => {
  const head = parse('HTTP/1.1 200 OK\r\nContent-Length: 52\r\n\r\n', { method: 'HEAD' })
  assert.ok(head.complete)
  assert.equal(head.body, '')
  assert.deepEqual(head.head?.rawHeaders, ['Content-Length', '52'], 'the length is relayed as the engine said it')
  assert.ok(parse('HTTP/1.1 204 No Content\r\n\r\n').complete)
  assert.ok(parse('HTTP/1.1 304 Not Modified\r\n\r\n').complete)
  assert.ok(parse('HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n').complete)
})

test('a body delimited by the close completes at EOF and leaves the connection unusable', () => {
  const r = parse('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nsome bytes', { eof: true })
  assert.equal(r.body, 'some bytes')
  assert.ok(r.complete)
  assert.equal(r.head?.keepAlive, false)
})

test('header values lose surrounding spaces and tabs only; a 0xA0 byte is part of the value', () => {
  const r = parse('HTTP/1.1 200 OK\r\nX-A: \t a b \t\r\nX-B:\xa0v\xa0\r\nX-C:\r\nContent-Length: 0\r\n\r\n')
  assert.deepEqual(r.head?.rawHeaders, ['X-A', 'a b', 'X-B', '\xa0v\xa0', 'X-C', '', 'Content-Length', '0'])
})

test('keep-alive: Connection: close and HTTP/1.0 end it; HTTP/1.0 with keep-alive keeps it', () => {
  assert.equal(parse('HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n').head?.keepAlive, false)
  assert.equal(parse('HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n').head?.keepAlive, false)
  assert.equal(parse('HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 0\r\n\r\n').head?.keepAlive, true)
})

test('interim 1xx answers are skipped; 101 on an ordinary request is refused', () => {
  const r = parse('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </x>\r\n\r\n' + PING, { step: 4 })
  assert.equal(r.head?.status, 200)
  assert.equal(r.body, 'OK')
  refuses('HTTP/1.1 101 Switching Protocols\r\nUpgrade: tcp\r\n\r\n', /switched protocols/)
})

test('bytes after a complete answer are counted as left over (the caller drops the connection)', () => {
  assert.equal(parse(PING + 'HTTP/1.1 200 OK\r\n').leftover, 17)
  assert.equal(parse(PING).leftover, 0)
})

test('framing the parser will not guess at is refused', () => {
  refuses('HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n', /both Content-Length and Transfer-Encoding/)
  refuses('HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nOK', /two different Content-Lengths/)
  assert.equal(parse('HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nOK').body, 'OK', 'a repeated equal length is one length')
  for (const cl of ['-1', '+2', '0x2', '2 2', '', '1234567890123456']) refuses(`HTTP/1.1 200 OK\r\nContent-Length: ${cl}\r\n\r\n`, /is not a length/)
  refuses('HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n', /not plain chunked/)
  refuses('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n', /not plain chunked/)
})

test('malformed heads are refused: status line, obs-fold, space before the colon, control characters, bare LF, size', () => {
  for (const line of ['HTTP/2 200 OK', 'HTTP/1.1 20 OK', 'HTTP/1.1 200OK', 'ICY 200 OK', 'HTTP/1.1 099 X']) refuses(`${line}\r\n\r\n`, /status line/)
  refuses('HTTP/1.1 200 OK\r\nX-A: 1\r\n folded\r\n\r\n', /malformed header line/)
  refuses('HTTP/1.1 200 OK\r\nX-A : 1\r\n\r\n', /malformed header line/)
  refuses('HTTP/1.1 200 OK\r\nNoColon\r\n\r\n', /malformed header line/)
  refuses('HTTP/1.1 200 OK\r\nX-A: a\x01b\r\n\r\n', /control characters/)
  refuses('HTTP/1.1 200 OK\r\nX-A: a\nContent-Length: 0\r\n\r\n', /control characters/)
  refuses(`HTTP/1.1 200 OK\r\nX-Big: ${'a'.repeat(2000)}\r\n\r\n`, /headers exceed 1024 bytes/, { step: 100 })
})

test('malformed chunks are refused, and an answer cut short is an error at EOF', () => {
  const head = 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n'
  refuses(`${head}zz\r\n`, /malformed chunk size/)
  refuses(`${head}-1\r\n`, /malformed chunk size/)
  refuses(`${head}1000000000000000\r\n`, /malformed chunk size/)
  refuses(`${head}2\r\nabX\r\n`, /not followed by CRLF/)
  refuses(`${head}2\nab\r\n`, /bare LF/)
  refuses(`${head}${'1'.repeat(5000)}`, /longer than 4096 bytes/, { step: 1000 })
  refuses(`${head}2\r\nab\r\n`, /before its answer was complete/, { eof: true })
  refuses('HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nab', /before its answer was complete/, { eof: true })
  refuses('HTTP/1.1 200 O', /before its answer was complete/, { eof: true })
})
