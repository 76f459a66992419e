// Raw-socket tests of the whole data path (listen → route → forward/hijack) against the real
// engine: exact bytes in, exact bytes out, and what the engine did checked on its own socket.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import net from 'node:net'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { engineRequest, requireEngine, type TestEngine } from './support/engine.ts'
import { startDockward, type RunningDockward } from './support/dockward.ts'
import { rawExchange, statusCodes } from './support/raw-client.ts'
import { socketCount } from './support/proc.ts'

const engine = requireEngine('gateway raw-socket')
const suffix = Math.random().toString(36).slice(2, 8)

describe('gateway against the real engine', { skip: engine === null ? 'no engine' : false }, () => {
  let dw: RunningDockward
  const containers: string[] = []
  const eng = engine as TestEngine

  before(async () => { dw = await startDockward({ upstream: eng.dockerHost }) })
  after(async () => {
    for (const id of containers) await engineRequest(eng, 'DELETE', `/containers/${id}?force=1`)
    await dw?.stop()
  })

  async function runningContainer (cmd: string[], extra: Record<string, unknown> = {}): Promise<string> {
    const created = await engineRequest(eng, 'POST', `/containers/create?name=dw-gw-${suffix}-${containers.length}`, { Image: eng.image, Cmd: cmd, ...extra })
    assert.equal(created.status, 201, created.body.toString())
    const id = created.json.Id as string
    containers.push(id)
    const started = await engineRequest(eng, 'POST', `/containers/${id}/start`)
    assert.equal(started.status, 204, started.body.toString())
    return id
  }

  test('pipelined requests on one connection are each routed and answered in order', async () => {
    const out = await rawExchange(dw.socketPath,
      'GET /_ping HTTP/1.1\r\nHost: x\r\n\r\n' +
      'GET /v1.41/version HTTP/1.1\r\nHost: x\r\n\r\n' +
      'GET /v1.41/nope HTTP/1.1\r\nHost: x\r\n\r\n' +
      'GET /v1.41/containers/json HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
    assert.deepEqual(statusCodes(out), [200, 200, 404, 200])
    assert.match(out, /"ApiVersion"/)
    assert.match(out, /\{"message":"page not found"\}/)
  })

  test('garbage pipelined behind a streaming answer is answered 400 after that answer, never inside it', async () => {
    const until = Math.floor(Date.now() / 1000) + 2
    // The events stream is open (and quiet) when the garbage arrives, 50 ms after the request.
    const out = await rawExchange(dw.socketPath, [`GET /v1.41/events?until=${until} HTTP/1.1\r\nHost: x\r\n\r\n`, 'NOT HTTP\r\n\r\n'], 3000, 6000)
    assert.deepEqual(statusCodes(out), [200, 400])
    // The events answer ended (its last chunk) before the 400 began.
    assert.ok(out.indexOf('\r\n0\r\n\r\nHTTP/1.1 400') !== -1, out)
  })

  test('a request the route never upgrades stays HTTP and the next request is parsed', async () => {
    for (const split of [false, true]) {
      const first = 'GET /_ping HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n'
      const second = 'GET /v1.41/version HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'
      const out = await rawExchange(dw.socketPath, split ? [first, second] : first + second)
      assert.deepEqual(statusCodes(out), [200, 200], out)
      assert.match(out, /\r\n\r\nOK/)
      assert.match(out, /"ApiVersion"/)
      assert.doesNotMatch(out, /101/)
    }
  })

  test('exec start with Detach and Upgrade: the engine does not switch, the connection stays HTTP', async () => {
    const id = await runningContainer(['sleep', '60'])
    const exec = await engineRequest(eng, 'POST', `/containers/${id}/exec`, { Cmd: ['true'] })
    assert.equal(exec.status, 201)
    const body = JSON.stringify({ Detach: true, Tty: false })
    const out = await rawExchange(dw.socketPath,
      `POST /v1.41/exec/${exec.json.Id as string}/start HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: tcp\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}` +
      'GET /_ping HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
    assert.deepEqual(statusCodes(out), [200, 200], out)
    assert.match(out, /\r\n\r\nOK$/)
  })

  test('exec start with Upgrade: tcp relays the 101 as the engine sent it, then the raw stream', async () => {
    const id = await runningContainer(['sleep', '60'])
    const exec = await engineRequest(eng, 'POST', `/containers/${id}/exec`, { Cmd: ['cat'], AttachStdin: true, AttachStdout: true, Tty: true })
    const body = JSON.stringify({ Detach: false, Tty: true })
    const head = `POST /v1.41/exec/${exec.json.Id as string}/start HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: tcp\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`
    // The body arrives in a later packet than the headers; it must still be read and forwarded.
    const out = await rawExchange(dw.socketPath, [head, body, 'hello-hijack\n'])
    assert.match(out, /^HTTP\/1\.1 101 UPGRADED\r\nContent-Type: application\/vnd\.docker\.raw-stream\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n/)
    assert.match(out, /hello-hijack/)
  })

  test('an exec start upgrade body is canonicalized: any key case works, an ambiguous body is refused', async () => {
    const id = await runningContainer(['sleep', '60'])
    const exec = await engineRequest(eng, 'POST', `/containers/${id}/exec`, { Cmd: ['cat'], AttachStdin: true, AttachStdout: true, Tty: true })
    const start = (body: string): string => `POST /v1.41/exec/${exec.json.Id as string}/start HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: tcp\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`
    const refused = await rawExchange(dw.socketPath, start('{"Detach":false,"detach":true}'))
    assert.match(refused, /^HTTP\/1\.1 400 /)
    assert.match(refused, /both set Detach/)
    const out = await rawExchange(dw.socketPath, [start('{"detach":false,"tty":true}'), 'hello-canonical\n'])
    assert.match(out, /^HTTP\/1\.1 101 UPGRADED\r\n/)
    assert.match(out, /hello-canonical/)
  })

  test('/grpc with Upgrade: h2c is relayed to the engine\'s HTTP/2 server', async () => {
    // BuildKit clients (buildx) speak gRPC here; the v20 CLI only uses /session, so check the bytes.
    const out = await rawExchange(dw.socketPath, 'POST /grpc HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\nPRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00', 1000)
    const head = 'HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n'
    assert.ok(out.startsWith(head), JSON.stringify(out.slice(0, 120)))
    // The engine's first HTTP/2 frame is its SETTINGS (type 4) on stream 0.
    assert.equal(out.charCodeAt(head.length + 3), 4)
  })

  test('the websocket attach is relayed', async () => {
    const id = await runningContainer(['sh', '-c', 'while true; do echo ws-tick; sleep 0.2; done'])
    const out = await rawExchange(dw.socketPath, `GET /containers/${id}/attach/ws?stream=1&stdout=1 HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nOrigin: http://x\r\n\r\n`, 1000, 2000)
    assert.match(out, /^HTTP\/1\.1 101 Switching Protocols\r\n/)
    assert.match(out, /Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK\+xOo=\r\n/)
    assert.match(out, /ws-tick/)
  })

  test('the pre-Upgrade attach form gets the engine\'s 200 raw-stream answer and both directions', async () => {
    const id = await runningContainer(['cat'], { OpenStdin: true, Tty: true })
    const req = `POST /v1.41/containers/${id}/attach?stream=1&stdin=1&stdout=1 HTTP/1.1\r\nHost: x\r\n\r\n`
    const out = await rawExchange(dw.socketPath, [req, 'legacy-stdin\n'])
    assert.match(out, /^HTTP\/1\.1 200 OK\r\nContent-Type: application\/vnd\.docker\.raw-stream\r\n/)
    assert.doesNotMatch(out, /Upgrade|Transfer-Encoding/i)
    assert.match(out, /legacy-stdin/)
    // The same request to the engine directly opens the same way.
    const direct = await rawExchange(eng.socketPath!, [req, 'direct-stdin\n'])
    assert.match(direct, /^HTTP\/1\.1 200 OK\r\nContent-Type: application\/vnd\.docker\.raw-stream\r\n/)
  })

  test('an h2c upgrade outside /session and /grpc is refused or stripped, never relayed', async () => {
    const id = await runningContainer(['sleep', '60'])
    const refused = await rawExchange(dw.socketPath, `POST /containers/${id}/attach?stream=1&stdout=1 HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n`)
    assert.deepEqual(statusCodes(refused), [400])
    assert.match(refused, /upgrades to \\"tcp\\" only/)
    const stripped = await rawExchange(dw.socketPath, 'GET /_ping HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAoAAAAAIAAAAA\r\n\r\n')
    assert.deepEqual(statusCodes(stripped), [200])
  })

  test('ambiguous paths and bad version prefixes are 400, unknown routes 404, before the engine sees them', async () => {
    const cases: Array<[string, number, RegExp]> = [
      ['/v1.41/containers/%2Fjson', 400, /encoded slash/],
      ['/v1.41/containers/%2fjson', 400, /encoded slash/],
      ['/containers/x%2E%2E/json', 400, /encoded dot/],
      ['/containers//json', 400, /empty segment/],
      ['/containers/./json', 400, /dot segment/],
      ['/v1.41/containers/abc/../../_ping', 400, /dot segment/],
      ['/containers/%252F/json', 400, /double encoding/],
      ['/containers/a%00/json', 400, /NUL/],
      ['/containers/a%zz/json', 400, /malformed percent/],
      ['/v1.41.1/_ping', 400, /invalid API version/],
      ['/v01.41/_ping', 400, /invalid API version/],
      ['/v1/_ping', 400, /invalid API version/],
      ['/v1..41/_ping', 400, /invalid API version/],
      ['http://localhost/_ping', 400, /absolute-form/],
      ['*', 400, /asterisk-form/],
      ['/nope', 404, /page not found/],
      ['/v1.41/containers/json/', 404, /page not found/]
    ]
    for (const [path, status, message] of cases) {
      const out = await rawExchange(dw.socketPath, `GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`)
      assert.deepEqual(statusCodes(out), [status], `${path}: ${out}`)
      assert.match(out, /Content-Type: application\/json/)
      assert.match(out, message, path)
    }
  })

  test('HTTP/2 with prior knowledge is refused with a clear 505', async () => {
    const out = await rawExchange(dw.socketPath, 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n')
    assert.deepEqual(statusCodes(out), [505])
    assert.match(out, /HTTP\/2 with prior knowledge is not supported/)
  })

  test('HEAD /_ping answers without a body and the connection goes on', async () => {
    const out = await rawExchange(dw.socketPath, 'HEAD /_ping HTTP/1.1\r\nHost: x\r\n\r\nGET /_ping HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
    assert.deepEqual(statusCodes(out), [200, 200])
    assert.match(out, /Api-Version: 1\.\d+/)
    assert.equal(out.split('OK').length - 1, 3, out) // two status lines and one body
  })

  test('Expect: 100-continue gets a 100 before the body is sent, and the request goes through', async () => {
    const name = `dw-gw-${suffix}-expect`
    const body = JSON.stringify({ Image: eng.image, Cmd: ['true'] })
    const out = await new Promise<string>((resolve, reject) => {
      const s = net.connect(dw.socketPath)
      let got = ''
      s.on('data', (c) => {
        got += c.toString('latin1')
        if (got.startsWith('HTTP/1.1 100 Continue\r\n\r\n') && !got.includes('201')) s.write(body)
      })
      s.on('end', () => resolve(got))
      s.on('error', reject)
      s.write(`POST /containers/create?name=${name} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n`)
    })
    assert.deepEqual(statusCodes(out), [100, 201], out)
    const inspect = await engineRequest(eng, 'GET', `/containers/${name}/json`)
    assert.equal(inspect.status, 200)
    containers.push(inspect.json.Id)
    assert.deepEqual(inspect.json.Config.Cmd, ['true'])
  })

  test('a chunked request body reaches the engine intact; unknown transfer codings are 501', async () => {
    const name = `dw-gw-${suffix}-chunked`
    const body = JSON.stringify({ Image: eng.image, Cmd: ['echo', 'chunked'] })
    const a = body.slice(0, 10)
    const b = body.slice(10)
    const out = await rawExchange(dw.socketPath,
      `POST /containers/create?name=${name} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n` +
      `${a.length.toString(16)}\r\n${a}\r\n${b.length.toString(16)}\r\n${b}\r\n0\r\n\r\n`)
    assert.deepEqual(statusCodes(out), [201], out)
    const inspect = await engineRequest(eng, 'GET', `/containers/${name}/json`)
    containers.push(inspect.json.Id)
    assert.deepEqual(inspect.json.Config.Cmd, ['echo', 'chunked'])

    const gz = await rawExchange(dw.socketPath, 'POST /containers/create HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\nConnection: close\r\n\r\n0\r\n\r\n')
    assert.deepEqual(statusCodes(gz), [501], gz)
  })

  test('an upgrade request with a chunked body is refused (its body must be read before forwarding)', async () => {
    const out = await rawExchange(dw.socketPath, 'POST /exec/abc/start HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: tcp\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n')
    assert.deepEqual(statusCodes(out), [411])
  })

  test('a client that leaves a streaming response aborts the engine request', async () => {
    const id = await runningContainer(['sh', '-c', 'while true; do echo tick; sleep 0.2; done'])
    const fresh = await startDockward({ upstream: eng.dockerHost })
    try {
      const before = socketCount(fresh.pid)
      const s = net.connect(fresh.socketPath)
      s.write(`GET /containers/${id}/logs?follow=1&stdout=1 HTTP/1.1\r\nHost: x\r\n\r\n`)
      await new Promise<void>((resolve) => s.once('data', () => resolve()))
      assert.ok(socketCount(fresh.pid) >= before + 2, 'client and engine connections open while streaming')
      s.destroy()
      let now = socketCount(fresh.pid)
      for (let i = 0; i < 50 && now > before; i++) {
        await new Promise((r) => setTimeout(r, 100))
        now = socketCount(fresh.pid)
      }
      assert.equal(now, before, 'both connections closed after the client left')
    } finally {
      await fresh.stop()
    }
  })

  test('quiet streams outlive every server timeout (logs -f and an attach, with 500 ms limits)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dw-quiet-'))
    const cfg = join(dir, 'dockward.yaml')
    writeFileSync(cfg, 'limits:\n  headersTimeout: 500\n  keepAliveTimeout: 500\n')
    const quiet = await startDockward({ upstream: eng.dockerHost, extraArgs: ['--config', cfg] })
    try {
      const id = await runningContainer(['sh', '-c', 'echo first; sleep 3; echo second; sleep 60'])
      const logs = rawExchange(quiet.socketPath, `GET /containers/${id}/logs?follow=1&stdout=1 HTTP/1.1\r\nHost: x\r\n\r\n`, 5000, 8000)
      const attach = rawExchange(quiet.socketPath, `POST /containers/${id}/attach?stream=1&stdout=1 HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n`, 5000, 8000)
      const [l, a] = await Promise.all([logs, attach])
      assert.match(l, /first[\s\S]*second/)
      assert.match(a, /101 UPGRADED[\s\S]*second/)
    } finally {
      await quiet.stop()
      rmSync(dir, { recursive: true, force: true })
    }
  })

  test('a tcp:// upstream works as the unix one does', { skip: eng.tcp === null ? 'engine has no TCP listener' : false }, async () => {
    const viaTcp = await startDockward({ upstream: eng.tcp! })
    try {
      const out = await rawExchange(viaTcp.socketPath, 'GET /v1.41/version HTTP/1.1\r\nHost: x\r\n\r\nHEAD /_ping HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
      assert.deepEqual(statusCodes(out), [200, 200])
      const direct = await engineRequest(eng, 'GET', '/version')
      assert.match(out, new RegExp(`"Version":"${(direct.json.Version as string).replace(/[.+]/g, '\\$&')}"`))
    } finally {
      await viaTcp.stop()
    }
  })

  test('an unreachable engine is a 502 in the engine\'s format', async () => {
    const down = await startDockward({ upstream: `unix:///tmp/dw-no-engine-${suffix}.sock` })
    try {
      const out = await rawExchange(down.socketPath, 'GET /v1.41/version HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
      assert.deepEqual(statusCodes(out), [502])
      assert.match(out, /\{"message":"dockward: cannot reach the Docker engine at unix:\/\/\/tmp\/dw-no-engine-[a-z0-9]+\.sock \(ENOENT\)/)
      const hijack = await rawExchange(down.socketPath, 'POST /exec/abc/start HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: tcp\r\nContent-Length: 2\r\n\r\n{}')
      assert.deepEqual(statusCodes(hijack), [502])
    } finally {
      await down.stop()
    }
  })
})
