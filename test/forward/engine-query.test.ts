// dockward's own lookups (engine-query.ts) against stand-in engines: they share the forwarding
// pool and its strict answer parser, and they fail closed on anything they cannot read.
// The real engine answers them in the tenancy and policy e2e suites.
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import http from 'node:http'
import net from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, test } from 'node:test'
import { UpstreamLookupError, UpstreamProtocolError } from '../../src/core/errors.ts'
import { createEngineQuery } from '../../src/forward/engine-query.ts'
import { createUpstream, parseUpstreamUrl, type Upstream } from '../../src/forward/upstream.ts'

const dir = mkdtempSync(join(tmpdir(), 'dw-query-'))
after(() => rmSync(dir, { recursive: true, force: true }))
let serial = 0

async function standIn (server: net.Server): Promise<{ upstream: Upstream, close: () => Promise<void> }> {
  const path = join(dir, `engine-${++serial}.sock`)
  const open = new Set<net.Socket>()
  server.on('connection', (s: net.Socket) => { open.add(s); s.on('close', () => open.delete(s)) })
  await new Promise<void>((resolve) => server.listen(path, resolve))
  const upstream = createUpstream(parseUpstreamUrl(`unix://${path}`))
  return {
    upstream,
    close: () => new Promise<void>((resolve) => { upstream.close(); server.close(() => resolve()); for (const s of open) s.destroy() })
  }
}

test('lookups reuse the forwarding pool: one connection for several, a Host header on each', async (t) => {
  const hosts: Array<string | undefined> = []
  const engine = await standIn(http.createServer((req, res) => {
    hosts.push(req.headers.host)
    if (req.url === '/networks/missing') { res.writeHead(404).end('{"message":"no such network"}'); return }
    res.setHeader('Content-Type', 'application/json')
    res.end(JSON.stringify({ Id: 'n1', Labels: { owner: 'alice' } }))
  }))
  t.after(engine.close)
  const query = createEngineQuery(engine.upstream)
  const web = async (): Promise<unknown> => {
    const n = await query.network('web')
    return n === null ? null : { id: n.id, labels: { ...n.labels } }
  }
  assert.deepEqual(await web(), { id: 'n1', labels: { owner: 'alice' } })
  assert.equal(await query.network('missing'), null)
  assert.deepEqual(await web(), { id: 'n1', labels: { owner: 'alice' } })
  assert.equal(engine.upstream.pool.idleCount, 1)
  assert.deepEqual(hosts, ['localhost', 'localhost', 'localhost'])
})

test('an answer with ambiguous framing is refused, not read one way or the other', async (t) => {
  const engine = await standIn(net.createServer((socket) => {
    socket.once('data', () => socket.end('HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n'))
  }))
  t.after(engine.close)
  await assert.rejects(createEngineQuery(engine.upstream).container('c1'), UpstreamProtocolError)
})

test('an answer over the cap, an engine error status and a non-JSON body all throw', async (t) => {
  const engine = await standIn(http.createServer((req, res) => {
    if (req.url === '/containers/json?all=1') { res.end(Buffer.alloc(2 * 1024 * 1024, 0x20)); return }
    if (req.url === '/images/a/json') { res.end('not json'); return }
    if (req.url?.startsWith('/containers/big')) { res.end(Buffer.alloc(1024 * 1024 + 1, 0x20)); return }
    res.writeHead(500).end('{"message":"boom"}')
  }))
  t.after(engine.close)
  const query = createEngineQuery(engine.upstream)
  await assert.rejects(query.container('big'), /larger than 1048576 bytes/)
  await assert.rejects(query.exec('e1'), (err: unknown) => err instanceof UpstreamLookupError && err.engineStatus === 500)
  await assert.rejects(query.image('a'), /is not JSON/)
  // A list may be larger (64 MiB cap): 2 MiB of spaces is read whole, and is not JSON.
  await assert.rejects(query.list('/containers/json?all=1'), /is not JSON/)
})
