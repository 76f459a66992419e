// Regressions for the first security review of the data path: each test is named after what the
// review found, and checks what the engine really did on its own socket.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import net from 'node:net'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { engineRequest, requireEngine, type TestEngine } from '../support/engine.ts'
import { startDockward, type RunningDockward } from '../support/dockward.ts'
import { rawExchange, statusCodes } from '../support/raw-client.ts'
import { socketCount } from '../support/proc.ts'

const engine = requireEngine('review regressions')
const suffix = Math.random().toString(36).slice(2, 8)

describe('review findings', { skip: engine === null ? 'no engine' : false }, () => {
  const eng = engine as TestEngine
  let dw: RunningDockward
  let dir: string
  const containers: string[] = []

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'dw-review-'))
    const cfg = join(dir, 'dockward.yaml')
    writeFileSync(cfg, 'limits:\n  headersTimeout: 1000\n')
    dw = await startDockward({ upstream: eng.dockerHost, tcp: true, extraArgs: ['--config', cfg] })
  })
  after(async () => {
    for (const id of containers) await engineRequest(eng, 'DELETE', `/containers/${id}?force=1`)
    await engineRequest(eng, 'DELETE', `/volumes/dw-smuggled-${suffix}`)
    await dw?.stop()
    rmSync(dir, { recursive: true, force: true })
  })

  async function container (cmd: string[], extra: Record<string, unknown> = {}, start = true): Promise<string> {
    const created = await engineRequest(eng, 'POST', '/containers/create', { Image: eng.image, Cmd: cmd, ...extra })
    assert.equal(created.status, 201, created.body.toString())
    containers.push(created.json.Id)
    if (start) assert.equal((await engineRequest(eng, 'POST', `/containers/${created.json.Id as string}/start`)).status, 204)
    return created.json.Id
  }

  test('Connection: Content-Length cannot smuggle a body to the engine as a second request', async () => {
    const inner = JSON.stringify({ Name: `dw-smuggled-${suffix}` })
    const smuggled = `POST /volumes/create HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${inner.length}\r\n\r\n${inner}`
    for (const [line, extra] of [
      ['GET /_ping', 'Connection: Content-Length\r\n'],
      ['GET /_ping', 'Connection: keep-alive, content-length\r\n'],
      ['GET /containers/nope/attach/ws', 'Connection: Upgrade, Content-Length\r\nUpgrade: websocket\r\n']
    ] as const) {
      const out = await rawExchange(dw.socketPath, `${line} HTTP/1.1\r\nHost: x\r\n${extra}Content-Length: ${smuggled.length}\r\n\r\n${smuggled}`)
      assert.deepEqual(statusCodes(out), [400], out)
      assert.match(out, /Connection header must not name content-length/)
    }
    assert.equal((await engineRequest(eng, 'GET', `/volumes/dw-smuggled-${suffix}`)).status, 404, 'no volume was created')
  })

  test('slow or silent clients are closed by the header timeout', async () => {
    const silent = await rawExchange(dw.socketPath, [], 5000)
    assert.equal(silent, '', 'a connection that sends nothing is closed without an answer')
    const slow = await rawExchange(dw.socketPath, 'GET /_ping HTTP/1.1\r\nHost', 5000)
    assert.match(slow, /^HTTP\/1\.1 408 /)
    // Headers complete, then an upgrade body that never arrives.
    const body = await rawExchange(dw.socketPath, 'POST /exec/x/start HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: tcp\r\nContent-Length: 100\r\n\r\n{', 5000)
    assert.equal(body, '')
    // And after one request on a keep-alive connection, a second that never completes.
    const second = await rawExchange(dw.socketPath, 'GET /_ping HTTP/1.1\r\nHost: x\r\n\r\nGET /_ping HTTP/1.1\r\n', 5000)
    assert.deepEqual(statusCodes(second), [200, 408])
  })

  test('a client that half-closes before or during a request leaves no socket behind', async () => {
    const before = socketCount(dw.pid)
    for (let i = 0; i < 20; i++) {
      await halfClose(dw.socketPath, '')
      await halfClose(dw.socketPath, 'POST /exec/x/start HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: tcp\r\nContent-Length: 100\r\n\r\n{')
      await halfClose(dw.socketPath, 'GET /_pi')
    }
    let now = socketCount(dw.pid)
    for (let i = 0; i < 30 && now > before; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100))
      now = socketCount(dw.pid)
    }
    assert.ok(now <= before, `sockets: ${before} before, ${now} after`)
  })

  test('web browsers are refused on TCP listeners: Origin, or a non-loopback Host (DNS rebinding)', async () => {
    const port = dw.tcpPort!
    const viaTcp = (bytes: string): Promise<string> => rawExchange({ port, host: '127.0.0.1' }, bytes)
    assert.deepEqual(statusCodes(await viaTcp('GET /_ping HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n')), [200])
    assert.deepEqual(statusCodes(await viaTcp('GET /_ping HTTP/1.1\r\nHost: localhost:2375\r\nConnection: close\r\n\r\n')), [200])
    assert.deepEqual(statusCodes(await viaTcp('GET /_ping HTTP/1.1\r\nHost: [::1]:2375\r\nConnection: close\r\n\r\n')), [200])
    const origin = await viaTcp('GET /_ping HTTP/1.1\r\nHost: 127.0.0.1\r\nOrigin: http://evil.example\r\nConnection: close\r\n\r\n')
    assert.deepEqual(statusCodes(origin), [403])
    assert.match(origin, /refuses requests sent by web browsers/)
    const rebound = await viaTcp('GET /containers/json HTTP/1.1\r\nHost: evil.example:2375\r\nConnection: close\r\n\r\n')
    assert.deepEqual(statusCodes(rebound), [403])
    const ws = await viaTcp('GET /containers/x/attach/ws HTTP/1.1\r\nHost: 127.0.0.1\r\nOrigin: http://evil.example\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n')
    assert.deepEqual(statusCodes(ws), [403])
    // The unix socket is out of a browser's reach and keeps working for every Host.
    assert.deepEqual(statusCodes(await rawExchange(dw.socketPath, 'GET /_ping HTTP/1.1\r\nHost: api.moby.localhost\r\nConnection: close\r\n\r\n')), [200])
  })

  test('an upgrade pipelined behind a streaming response waits for it instead of writing into it', async () => {
    const id = await container(['sh', '-c', 'echo one; echo two'], {}, true)
    await engineRequest(eng, 'POST', `/containers/${id}/wait`)
    const out = await rawExchange(dw.socketPath,
      `GET /containers/${id}/logs?stdout=1 HTTP/1.1\r\nHost: x\r\n\r\n` +
      'POST /exec/no-such-exec/start HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: tcp\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}' +
      'GET /_ping HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
    assert.deepEqual(statusCodes(out), [200, 404, 200], out)
    const logsEnd = out.indexOf('0\r\n\r\n')
    assert.ok(logsEnd > 0 && logsEnd < out.indexOf('HTTP/1.1 404'), 'the logs response ends before the next one starts')
    assert.match(out, /one[\s\S]*two[\s\S]*No such exec instance[\s\S]*OK$/)
  })

  test('an attached exec start without Upgrade is refused after the first request; a detached one is forwarded', async () => {
    const id = await container(['sleep', '60'])
    const exec = await engineRequest(eng, 'POST', `/containers/${id}/exec`, { Cmd: ['sh', '-c', 'echo ran > /tmp/detached'] })
    const execId = exec.json.Id as string
    const send = (body: string): Promise<string> => rawExchange(dw.socketPath,
      'GET /_ping HTTP/1.1\r\nHost: x\r\n\r\n' +
      `POST /exec/${execId}/start HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`)
    for (const body of ['{"Detach":false}', '{}', '{"detach":true,"Detach":false}', '{"Detach":"yes"}', '{"Detach":true} {}', 'nope']) {
      const out = await send(body)
      assert.deepEqual(statusCodes(out), [200, 400], `${body}: ${out}`)
    }
    assert.equal((await engineRequest(eng, 'GET', `/exec/${execId}/json`)).json.Running, false)
    assert.equal((await engineRequest(eng, 'GET', `/exec/${execId}/json`)).json.ExitCode, null, 'the refused exec never ran')
    const ok = await send('{"detach":true}')
    assert.deepEqual(statusCodes(ok), [200, 200], ok)
    let exit = null
    for (let i = 0; i < 50 && exit === null; i++) {
      exit = (await engineRequest(eng, 'GET', `/exec/${execId}/json`)).json.ExitCode
      if (exit === null) await new Promise((resolve) => setTimeout(resolve, 100))
    }
    assert.equal(exit, 0)
  })

  test('when the engine ends a hijacked stream, the client connection is closed too', async () => {
    const id = await container(['sh', '-c', 'sleep 1; echo bye'])
    const started = Date.now()
    const out = await rawExchange(dw.socketPath, `POST /containers/${id}/attach?stream=1&stdout=1 HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n`, 20_000, 30_000)
    assert.match(out, /101 UPGRADED[\s\S]*bye/)
    assert.ok(Date.now() - started < 15_000, 'closed by dockward, not by the test\'s idle timer')
  })
})

function halfClose (socketPath: string, bytes: string): Promise<void> {
  return new Promise((resolve) => {
    const s = net.connect({ path: socketPath, allowHalfOpen: true }, () => {
      if (bytes !== '') s.write(bytes)
      s.end()
      setTimeout(() => { s.destroy(); resolve() }, 20)
    })
    s.on('error', () => resolve())
  })
}
