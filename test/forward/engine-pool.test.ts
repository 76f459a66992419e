// The engine connection pool against stand-in engines that the test controls byte by byte:
// reuse, when a connection must not be reused, request body framing, backpressure, timeouts.
// The real engine is exercised through it by every e2e suite.
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import http from 'node:http'
import net from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { after, test } from 'node:test'
import { UpstreamTimeoutError } from '../../src/core/errors.ts'
import { EnginePool, type EngineExchange, type EngineRequest } from '../../src/forward/engine-pool.ts'
import type { ResponseHead } from '../../src/forward/response-parser.ts'
import { parseUpstreamUrl } from '../../src/forward/upstream.ts'

const dir = mkdtempSync(join(tmpdir(), 'dw-pool-'))
after(() => rmSync(dir, { recursive: true, force: true }))
let serial = 0

interface StandIn { path: string, connections: () => number, close: () => Promise<void> }

async function standIn (onConnection: (socket: net.Socket) => void, server: net.Server = net.createServer(onConnection)): Promise<StandIn> {
  const path = join(dir, `engine-${++serial}.sock`)
  let count = 0
  const open = new Set<net.Socket>()
  server.on('connection', (socket: net.Socket) => {
    count++
    open.add(socket)
    socket.on('close', () => open.delete(socket))
  })
  await new Promise<void>((resolve) => server.listen(path, resolve))
  return {
    path,
    connections: () => count,
    close: () => new Promise<void>((resolve) => { server.close(() => resolve()); for (const s of open) s.destroy() })
  }
}

async function httpStandIn (handler: http.RequestListener): Promise<StandIn> {
  const server = http.createServer(handler)
  return standIn(() => {}, server)
}

interface Result { head: ResponseHead | null, body: Buffer, error: Error | null, exchange: EngineExchange }

function send (pool: EnginePool, request: Partial<EngineRequest>, onBody?: (piece: Buffer, exchange: EngineExchange) => boolean): Promise<Result> {
  return new Promise((resolve) => {
    const pieces: Buffer[] = []
    let head: ResponseHead | null = null
    const exchange: EngineExchange = pool.request({ method: 'GET', path: '/_ping', headers: ['Host', 'docker'], body: null, answerTimeoutMs: null, ...request }, {
      onHead: (h) => { head = h },
      onBody: (piece) => { pieces.push(Buffer.from(piece)); return onBody?.(piece, exchange) ?? true },
      onReadEnd: () => {},
      onComplete: () => setImmediate(() => resolve({ head, body: Buffer.concat(pieces), error: null, exchange })),
      onError: (error) => resolve({ head, body: Buffer.concat(pieces), error, exchange })
    })
  })
}

function poolFor (engine: StandIn): EnginePool {
  return new EnginePool(parseUpstreamUrl(`unix://${engine.path}`), { maxIdle: 4, maxHeadBytes: 64 * 1024 })
}

test('sequential requests reuse one connection; the head, body and headers arrive as sent', async () => {
  const engine = await httpStandIn((req, res) => {
    res.setHeader('X-Seen', `${req.method} ${req.url} ${req.headers.host}`)
    res.end('OK')
  })
  const pool = poolFor(engine)
  for (let i = 0; i < 5; i++) {
    const r = await send(pool, { path: `/v1.41/_ping?n=${i}` })
    assert.equal(r.error, null)
    assert.equal(r.head?.status, 200)
    assert.equal(r.body.toString(), 'OK')
    assert.equal(r.head?.rawHeaders[r.head.rawHeaders.indexOf('X-Seen') + 1], `GET /v1.41/_ping?n=${i} docker`)
  }
  assert.equal(engine.connections(), 1)
  assert.equal(pool.idleCount, 1)
  pool.close()
  await engine.close()
})

test('request bodies: bytes with their length, a stream as is, a stream chunk-encoded', async () => {
  const engine = await httpStandIn((req, res) => {
    const parts: Buffer[] = []
    req.on('data', (c: Buffer) => parts.push(c))
    req.on('end', () => res.end(`${req.headers['transfer-encoding'] ?? '-'} ${req.headers['content-length'] ?? '-'} ${Buffer.concat(parts).toString()}`))
  })
  const pool = poolFor(engine)
  const bytes = await send(pool, { method: 'POST', headers: ['Host', 'x', 'Content-Length', '5'], body: Buffer.from('hello') })
  assert.equal(bytes.body.toString(), '- 5 hello')
  assert.equal(bytes.exchange.bytesSent, 5)
  const streamed = await send(pool, { method: 'POST', headers: ['Host', 'x', 'Content-Length', '6'], body: { source: Readable.from([Buffer.from('abc'), Buffer.from('def')]), chunked: false } })
  assert.equal(streamed.body.toString(), '- 6 abcdef')
  const chunked = await send(pool, { method: 'POST', headers: ['Host', 'x', 'Transfer-Encoding', 'chunked'], body: { source: Readable.from([Buffer.from('a'.repeat(300)), Buffer.from('xyz')]), chunked: true } })
  assert.equal(chunked.body.toString(), `chunked - ${'a'.repeat(300)}xyz`)
  assert.equal(chunked.exchange.bytesSent, 303)
  assert.equal(engine.connections(), 1, 'every exchange ended cleanly and the connection was reused')
  pool.close()
  await engine.close()
})

test('an answer that comes before the whole request body was sent: that connection is not reused', async () => {
  const engine = await httpStandIn((req, res) => {
    res.setHeader('Connection', 'keep-alive')
    res.statusCode = 400
    res.end('{"message":"no"}')
  })
  const pool = poolFor(engine)
  const source = new Readable({ read () {} })
  source.push('partial')
  const r = await send(pool, { method: 'POST', headers: ['Host', 'x', 'Content-Length', '100'], body: { source, chunked: false } })
  assert.equal(r.head?.status, 400)
  assert.equal(pool.idleCount, 0)
  await send(pool, {})
  assert.equal(engine.connections(), 2)
  pool.close()
  await engine.close()
})

test('a connection the engine closes while idle is forgotten; the next request opens a new one', async () => {
  const engine = await httpStandIn((_req, res) => res.end('OK'))
  const pool = poolFor(engine)
  await send(pool, {})
  assert.equal(pool.idleCount, 1)
  await engine.close()
  await new Promise((resolve) => setTimeout(resolve, 50))
  assert.equal(pool.idleCount, 0)
  pool.close()
})

test('bytes no request asked for drop the connection; an unreachable engine is an error before any head', async () => {
  const engine = await standIn((socket) => {
    socket.once('data', () => {
      socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nOK')
      setTimeout(() => socket.write('HTTP/1.1 200 OK\r\n'), 30)
    })
  })
  const pool = poolFor(engine)
  assert.equal((await send(pool, {})).body.toString(), 'OK')
  await new Promise((resolve) => setTimeout(resolve, 80))
  assert.equal(pool.idleCount, 0)
  pool.close()
  await engine.close()

  const gone = new EnginePool(parseUpstreamUrl(`unix://${join(dir, 'nobody.sock')}`), { maxIdle: 4, maxHeadBytes: 1024 })
  const r = await send(gone, {})
  assert.equal((r.error as NodeJS.ErrnoException | null)?.code, 'ENOENT')
  assert.equal(r.head, null)
})

test('no answer in time: UpstreamTimeoutError and the connection goes; a slow body after the head is never timed', async () => {
  const engine = await standIn((socket) => {
    socket.on('data', (d: Buffer) => {
      if (d.toString().startsWith('GET /hang')) return
      socket.write('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n')
      setTimeout(() => socket.write('2\r\ncd\r\n0\r\n\r\n'), 300)
    })
  })
  const pool = poolFor(engine)
  const hung = await send(pool, { path: '/hang', answerTimeoutMs: 100 })
  assert.ok(hung.error instanceof UpstreamTimeoutError)
  assert.equal(pool.idleCount, 0)
  const slow = await send(pool, { path: '/slow', answerTimeoutMs: 100 })
  assert.equal(slow.error, null)
  assert.equal(slow.body.toString(), 'abcd')
  pool.close()
  await engine.close()
})

test('backpressure: after onBody returns false nothing more is read until resume()', async () => {
  const total = 8 * 1024 * 1024
  const engine = await httpStandIn((_req, res) => {
    res.setHeader('Content-Length', String(total))
    res.end(Buffer.alloc(total, 1))
  })
  const pool = poolFor(engine)
  let paused = false
  let violations = 0
  const r = await send(pool, {}, (_piece, exchange) => {
    if (paused) violations++
    paused = true
    setTimeout(() => { paused = false; exchange.resume() }, 2)
    return false
  })
  assert.equal(r.body.length, total)
  assert.equal(violations, 0)
  pool.close()
  await engine.close()
})

test('a head with a CR, LF or control character in it is refused before any connection is touched', async () => {
  const engine = await httpStandIn((_req, res) => res.end('OK'))
  const pool = poolFor(engine)
  const bad: Array<Partial<EngineRequest>> = [
    { path: '/_ping HTTP/1.1\r\nX: y' },
    { path: '/_ping\n' },
    { path: 'http://x/_ping' },
    { method: 'GET /x' },
    { headers: ['Host', 'x\r\nX-Smuggled: 1'] },
    { headers: ['Host', 'x\u0000'] },
    { headers: ['Bad Name', 'x'] }
  ]
  for (const request of bad) {
    assert.throws(() => pool.request({ method: 'GET', path: '/_ping', headers: ['Host', 'x'], body: null, answerTimeoutMs: null, ...request }, {
      onHead: () => {}, onBody: () => true, onReadEnd: () => {}, onComplete: () => {}, onError: () => {}
    }), /dockward refused to send/, JSON.stringify(request))
  }
  assert.equal(engine.connections(), 0)
  assert.equal((await send(pool, { headers: ['Host', 'x', 'X-Latin1', 'caf\xe9\ttab'] })).body.toString(), 'OK', 'obs-text and tabs pass')
  pool.close()
  await engine.close()
})

test('the answer timeout starts when the request is sent in full: a long upload after a timed request is not cut', async () => {
  const engine = await httpStandIn((req, res) => {
    req.resume()
    req.on('end', () => res.end('done'))
  })
  const pool = poolFor(engine)
  try {
    assert.equal((await send(pool, { answerTimeoutMs: 150 })).error, null)
    // The connection's timer was armed by the request above; this upload outlasts its deadline.
    const source = new Readable({ read () {} })
    source.push('a')
    setTimeout(() => { source.push('b'); source.push(null) }, 400)
    const upload = await send(pool, { method: 'POST', headers: ['Host', 'x', 'Content-Length', '2'], body: { source, chunked: false }, answerTimeoutMs: 150 })
    assert.equal(upload.error, null)
    assert.equal(upload.body.toString(), 'done')
    assert.equal(engine.connections(), 1)
  } finally {
    pool.close()
    await engine.close()
  }
})
