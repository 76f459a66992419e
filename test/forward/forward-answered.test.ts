// A plan that holds something until the engine has answered (a create's named volumes, see
// gateway.ts): a client that leaves first must not end the exchange, and the hold ends only when
// the engine's answer arrives. Driven with a stand-in pool, so the timing is the test's own.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import http from 'node:http'
import net from 'node:net'
import { forwardRequest, type ForwardOutcome } from '../../src/forward/forward.ts'
import type { EngineExchange, ExchangeHandler } from '../../src/forward/engine-pool.ts'
import type { Upstream } from '../../src/forward/upstream.ts'

test('a client that leaves before the engine answered: the exchange goes on, and answered() waits for the answer', async (t) => {
  const events: string[] = []
  const seen: { handler: ExchangeHandler | null, outcome: ForwardOutcome | null } = { handler: null, outcome: null }
  const exchange: EngineExchange = {
    resume () {},
    abort () { events.push('abort') },
    bytesSent: 0,
    socket: new net.Socket()
  }
  const upstream = { address: { url: 'unix:///engine.sock' }, pool: { request: (_r: unknown, h: ExchangeHandler) => { seen.handler = h; return exchange } } } as unknown as Upstream
  const server = http.createServer((req, res) => {
    forwardRequest(req, res, upstream, { path: '/v1.41/containers/create', framing: 'none', answered: () => events.push('answered') }, (o) => { seen.outcome = o; events.push(`done ${o.end}`) })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.after(() => server.close())
  const client = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1')
  client.write('POST /v1.41/containers/create HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n')
  while (seen.handler === null) await new Promise((resolve) => setTimeout(resolve, 5))
  client.destroy()
  while (seen.outcome === null) await new Promise((resolve) => setTimeout(resolve, 5))
  assert.deepEqual(events, ['done client-aborted'], 'the client is gone; the exchange is not aborted and nothing is let go yet')
  seen.handler.onHead({ status: 201, statusMessage: 'Created', rawHeaders: ['Content-Length', '2'], framing: { kind: 'length', length: 2 }, keepAlive: true })
  assert.deepEqual(events, ['done client-aborted', 'answered', 'abort'], 'the engine answered: the hold ends, and the answer, nobody\'s now, is dropped')
})

test('without answered, a client that leaves aborts the exchange at once', async (t) => {
  const events: string[] = []
  let asked = false
  const exchange: EngineExchange = { resume () {}, abort () { events.push('abort') }, bytesSent: 0, socket: new net.Socket() }
  const upstream = { address: { url: 'unix:///engine.sock' }, pool: { request: () => { asked = true; return exchange } } } as unknown as Upstream
  let ended = false
  const server = http.createServer((req, res) => {
    forwardRequest(req, res, upstream, { path: '/v1.41/containers/json', framing: 'none' }, () => { ended = true })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.after(() => server.close())
  const client = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1')
  client.write('GET /v1.41/containers/json HTTP/1.1\r\nHost: x\r\n\r\n')
  while (!asked) await new Promise((resolve) => setTimeout(resolve, 5))
  client.destroy()
  while (!ended) await new Promise((resolve) => setTimeout(resolve, 5))
  assert.deepEqual(events, ['abort'])
})
