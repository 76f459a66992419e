// A slow engine, played by an HTTP server on a unix socket this test owns (the real engine cannot
// be made slow on demand): dockward answers 504 in the engine's format when the engine does not
// start its answer within limits.upstreamResponseTimeout, keeps serving, and never cuts a stream
// that started in time however quiet it is afterwards.
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import http from 'node:http'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startDockward, type RunningDockward } from '../support/dockward.ts'

let dir: string
let engine: http.Server
let dw: RunningDockward
const held = new Set<http.ServerResponse>()

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'dw-slow-'))
  const socket = join(dir, 'engine.sock')
  engine = http.createServer((req, res) => {
    if (req.url?.startsWith('/v1.41/version') === true) { held.add(res); return } // never answers
    if (req.url?.startsWith('/v1.41/events') === true) {
      // Headers at once, then a quiet stream, then one event.
      res.writeHead(200, { 'Content-Type': 'application/json' })
      res.flushHeaders()
      setTimeout(() => res.end('{"Type":"container","Action":"start"}\n'), 1500)
      return
    }
    res.writeHead(200, { 'Content-Type': 'text/plain' })
    res.end('OK')
  })
  await new Promise<void>((resolve) => engine.listen(socket, resolve))
  dw = await startDockward({
    upstream: `unix://${socket}`,
    config: (socketPath) => `listen:\n  - unix://${socketPath}\npolicy: admin\naudit:\n  destination: none\nlimits:\n  upstreamResponseTimeout: 500\n`
  })
})

after(async () => {
  await dw?.stop()
  for (const res of held) res.destroy()
  await new Promise<void>((resolve) => engine.close(() => resolve()))
  rmSync(dir, { recursive: true, force: true })
})

function get (path: string): Promise<{ status: number, body: string, ms: number }> {
  const t0 = Date.now()
  return new Promise((resolve, reject) => {
    http.get({ socketPath: dw.socketPath, path, agent: false }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (s: string) => { body += s })
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, ms: Date.now() - t0 }))
    }).on('error', reject)
  })
}

test('an engine that does not answer in time is a 504 in the engine\'s format; dockward goes on serving', async () => {
  const slow = await get('/v1.41/version')
  assert.equal(slow.status, 504)
  assert.match(JSON.parse(slow.body).message, /the engine did not answer within/)
  const ping = await get('/_ping')
  assert.equal(ping.status, 200)
})

test('a stream that started in time is never cut for being quiet', async () => {
  const events = await get('/v1.41/events')
  assert.equal(events.status, 200)
  assert.match(events.body, /"Action":"start"/)
  assert.ok(events.ms >= 1400, `the stream stayed open through its quiet time (${events.ms} ms)`)
})
