// Regression: a client that left while its request was being admitted (identified, inspected,
// decided, engine lookups) must not leave the engine request behind. The response's 'close' has
// already fired by the time the request is forwarded, so a relay that only listens for it would
// keep a `logs -f` or `events` stream from the engine open, and read it, for ever.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import http from 'node:http'
import net from 'node:net'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { forwardRequest, type ForwardOutcome } from '../../src/forward/forward.ts'
import { createUpstream, parseUpstreamUrl } from '../../src/forward/upstream.ts'

test('a request whose client left before forwarding is not sent, and its outcome says the client left', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'dw-gone-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  // A stand-in engine that streams for ever, like `logs -f`; it counts the requests it got and
  // the connections still open.
  const engineSock = join(dir, 'engine.sock')
  let requests = 0
  const open = new Set<net.Socket>()
  const engine = http.createServer((_req, res) => {
    requests++
    res.writeHead(200, { 'Content-Type': 'application/octet-stream' })
    const timer = setInterval(() => res.write('tick\n'), 10)
    res.on('close', () => clearInterval(timer))
  })
  engine.on('connection', (s: net.Socket) => { open.add(s); s.on('close', () => open.delete(s)) })
  await new Promise<void>((resolve) => engine.listen(engineSock, resolve))
  const upstream = createUpstream(parseUpstreamUrl(`unix://${engineSock}`))

  // The gateway side: the request is forwarded only after its client is gone.
  const outcomes: ForwardOutcome[] = []
  const gwSock = join(dir, 'gw.sock')
  const gateway = http.createServer((req, res) => {
    req.socket.destroy()
    res.once('close', () => {
      forwardRequest(req, res, upstream, { path: '/containers/x/logs?follow=1', framing: 'none' }, (o) => outcomes.push(o))
    })
  })
  await new Promise<void>((resolve) => gateway.listen(gwSock, resolve))
  t.after(() => {
    upstream.close()
    gateway.close()
    engine.closeAllConnections()
    engine.close()
  })

  const client = net.connect(gwSock)
  client.on('error', () => {})
  client.write('GET /containers/x/logs?follow=1 HTTP/1.1\r\nHost: x\r\n\r\n')
  for (let i = 0; i < 50 && outcomes.length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 20))
  await new Promise((resolve) => setTimeout(resolve, 200))
  assert.equal(requests, 0, 'the engine never got the request')
  assert.equal(open.size, 0, 'no connection to the engine is left open')
  assert.equal(outcomes.length, 1)
  assert.equal(outcomes[0]!.end, 'client-aborted')
})
