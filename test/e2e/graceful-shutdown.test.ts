// Graceful shutdown of a running dockward in front of the real engine: SIGTERM stops accepting,
// lets an answer in flight arrive, cuts streams at limits.shutdownTimeout and exits 0; a second
// signal exits at once.
import { after, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import http from 'node:http'
import net from 'node:net'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { engineRequest, requireEngine, type TestEngine } from '../support/engine.ts'
import { startDockward, type RunningDockward } from '../support/dockward.ts'
import { removeContainer, runContainer, uniqueName } from '../support/cli.ts'
import { openAttach, openStream } from '../support/open-stream.ts'

const engine = requireEngine('graceful-shutdown')

/** A config with a unix and a loopback TCP listener and the given shutdown deadline. */
const config = (shutdownTimeout: number, auditFile?: string) => (socketPath: string): string =>
  `policy: admin\nlisten:\n  - unix://${socketPath}\n  - tcp://127.0.0.1:0\nlimits:\n  shutdownTimeout: ${shutdownTimeout}\n` +
  (auditFile === undefined ? '' : `audit:\n  destination: ${auditFile}\n`)

/** Connects and reports how: 'connected', or the error code (ENOENT, ECONNREFUSED). */
function tryConnect (options: net.NetConnectOpts): Promise<string> {
  return new Promise((resolve) => {
    const s = net.connect(options)
    s.once('connect', () => { s.destroy(); resolve('connected') })
    s.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message))
  })
}

describe('graceful shutdown', { skip: engine === null ? 'no engine' : false }, () => {
  const eng = engine as TestEngine
  const names: string[] = []
  const running: RunningDockward[] = []
  after(async () => {
    for (const dw of running) await dw.stop()
    for (const name of names) await removeContainer(eng, name)
  })

  async function container (cmd: string[]): Promise<string> {
    const name = uniqueName('dw-shutdown')
    names.push(name)
    return await runContainer(eng, { name, cmd })
  }

  test('SIGTERM: no new connections, the answer in flight arrives, streams are cut at the deadline, exit 0', async () => {
    const auditDir = mkdtempSync(join(tmpdir(), 'dw-shutdown-audit-'))
    const auditFile = join(auditDir, 'audit.jsonl')
    const dw = await startDockward({ upstream: eng.dockerHost, config: config(2500, auditFile) })
    running.push(dw)
    const exiting = await container(['sh', '-c', 'sleep 1; exit 3'])
    const ticking = await container(['sh', '-c', 'while true; do echo tick; sleep 0.2; done'])
    const sleeping = await container(['sleep', '600'])

    // In flight when the signal comes: a wait that answers in about a second, an event stream,
    // a log stream that never ends, a hijacked attach, and an idle keep-alive connection.
    // The wait on a keep-alive connection: its answer said keep-alive before the signal came.
    const keepAlive = new http.Agent({ keepAlive: true })
    const wait = await openStream(dw.socketPath, 'POST', `/containers/${exiting}/wait`, keepAlive)
    assert.equal(wait.status, 200)
    const events = await openStream(dw.socketPath, 'GET', '/events')
    assert.equal(events.status, 200)
    const logs = await openStream(dw.socketPath, 'GET', `/containers/${ticking}/logs?follow=1&stdout=1`)
    assert.equal(logs.status, 200)
    const attach = await openAttach(dw.socketPath, sleeping)
    const idle = net.connect(dw.socketPath)
    idle.on('error', () => {})
    idle.write('GET /_ping HTTP/1.1\r\nHost: x\r\n\r\n')
    await new Promise((resolve) => idle.once('data', resolve))
    const idleClosed = new Promise<number>((resolve) => idle.once('close', () => resolve(Date.now())))
    assert.match(attach.received(), /^HTTP\/1\.1 101 UPGRADED/)

    process.kill(dw.pid, 'SIGTERM')
    await new Promise((resolve) => setTimeout(resolve, 200))
    assert.notEqual(await tryConnect({ path: dw.socketPath }), 'connected', 'the unix listener is gone')
    assert.equal(await tryConnect({ port: dw.tcpPort!, host: '127.0.0.1' }), 'ECONNREFUSED', 'the TCP listener is gone')

    // The wait was answered in full, with the engine's result.
    assert.equal(await wait.ended, 'end')
    const waitedAt = Date.now()
    assert.equal(JSON.parse(wait.text()).StatusCode, 3)
    assert.ok(await idleClosed <= waitedAt, 'the idle connection was closed at once, not at the deadline')
    // The streams that never end were cut, not ended as if complete; the wait's connection was
    // closed once it was answered, before that.
    assert.equal(await events.ended, 'cut')
    const cutAt = Date.now()
    assert.ok(await wait.connectionClosed < cutAt, 'the keep-alive connection of the answered wait closed before the deadline')
    keepAlive.destroy()
    assert.equal(await logs.ended, 'cut')
    assert.match(logs.text(), /tick/)
    await attach.closed
    assert.deepEqual(await dw.exited, { code: 0, signal: null })
    assert.match(dw.stderr(), /SIGTERM: shutting down/)
    assert.match(dw.stderr(), /closed 3 connection\(s\) still open at the deadline/)

    // The engine is as it was: the containers behind the cut streams still run.
    for (const id of [ticking, sleeping]) {
      assert.equal((await engineRequest(eng, 'GET', `/containers/${id}/json`)).json.State.Running, true)
    }

    // Every exchange in flight has its record, the cut ones too, and the attach its stream-end:
    // the log closed after them.
    const records = readFileSync(auditFile, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { event: string, operation: string | null, status: number | null, end: string | null })
    rmSync(auditDir, { recursive: true, force: true })
    const of = (event: string, operation: string) => records.filter((r) => r.event === event && r.operation === operation)
    assert.equal(of('request', 'ContainerWait').length, 1)
    assert.equal(of('request', 'ContainerWait')[0]!.end, 'complete')
    for (const operation of ['SystemEvents', 'ContainerLogs']) {
      assert.equal(of('request', operation).length, 1, `${operation}: ${JSON.stringify(records)}`)
      assert.equal(of('request', operation)[0]!.end, 'client-aborted', operation)
    }
    assert.equal(of('request', 'ContainerAttach').length, 1)
    assert.equal(of('stream-end', 'ContainerAttach').length, 1, 'the cut attach stream has its stream-end')
  })

  test('a request that arrives during the drain on an open connection is answered, then the connection closes', async () => {
    const dw = await startDockward({ upstream: eng.dockerHost, config: config(5000) })
    running.push(dw)
    const exiting = await container(['sh', '-c', 'sleep 1'])
    // One connection busy with a wait, which keeps the drain going; one keep-alive connection
    // in the middle of sending its next request when the signal comes.
    const wait = await openStream(dw.socketPath, 'POST', `/containers/${exiting}/wait`)
    const conn = net.connect(dw.socketPath)
    let out = ''
    conn.setEncoding('latin1')
    conn.on('data', (s: string) => { out += s })
    const closed = new Promise<void>((resolve) => conn.once('close', () => resolve()))
    conn.write('GET /_ping HTTP/1.1\r\nHost: x\r\n\r\nGET /vers')
    for (let i = 0; i < 50 && !out.includes('OK'); i++) await new Promise((resolve) => setTimeout(resolve, 20))
    process.kill(dw.pid, 'SIGTERM')
    await new Promise((resolve) => setTimeout(resolve, 200))
    conn.write('ion HTTP/1.1\r\nHost: x\r\n\r\n')
    await closed
    assert.match(out, /^HTTP\/1\.1 200 [\s\S]*OK\s*HTTP\/1\.1 200 [\s\S]*[Cc]onnection: close[\s\S]*"ApiVersion"/)
    assert.equal(await wait.ended, 'end')
    assert.deepEqual(await dw.exited, { code: 0, signal: null })
  })

  test('a second signal exits at once, without waiting for the deadline', async () => {
    const dw = await startDockward({ upstream: eng.dockerHost, config: config(600_000) })
    running.push(dw)
    const events = await openStream(dw.socketPath, 'GET', '/events')
    process.kill(dw.pid, 'SIGINT')
    const first = await Promise.race([dw.exited, new Promise((resolve) => setTimeout(() => resolve('draining'), 500))])
    assert.equal(first, 'draining', 'still draining after the first signal')
    process.kill(dw.pid, 'SIGTERM')
    assert.deepEqual(await dw.exited, { code: 143, signal: null })
    assert.equal(await events.ended, 'cut')
    assert.match(dw.stderr(), /SIGTERM again: exiting now/)
  })
})
