// Engine faults as dockward sees them, without touching the shared engine: dockward's upstream is
// a relay (a unix socket this test owns) in front of the real engine's socket. Taking the relay
// down is an engine whose socket is missing; cutting its connections is what an engine restart
// does to every request and stream in flight. dockward answers 502 in the engine's format,
// closes the affected streams as interrupted, /readyz says so, and it recovers by itself.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import net from 'node:net'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { requireEngine, type TestEngine } from '../support/engine.ts'
import { startDockward, type RunningDockward } from '../support/dockward.ts'
import { removeContainer, runContainer, uniqueName } from '../support/cli.ts'
import { fdCount, settledCount } from '../support/proc.ts'
import { openAttach, openStream } from '../support/open-stream.ts'
import { getText } from '../support/engine-reply.ts'

const engine = requireEngine('engine-faults')

/** A unix socket that relays every connection to the engine's socket, and can fail on demand. */
interface Relay {
  up: () => Promise<void>
  /** The socket is gone: new connections fail with ENOENT. */
  down: () => Promise<void>
  /** Every relayed connection is cut, as an engine restart cuts them. */
  cut: () => void
}

function relay (path: string, target: string): Relay {
  const pairs = new Set<net.Socket>()
  let server: net.Server | null = null
  return {
    up: () => new Promise((resolve) => {
      server = net.createServer({ allowHalfOpen: true }, (client) => {
        const upstream = net.connect({ path: target, allowHalfOpen: true })
        for (const s of [client, upstream]) {
          pairs.add(s)
          s.on('close', () => pairs.delete(s))
          s.on('error', () => { client.destroy(); upstream.destroy() })
        }
        client.pipe(upstream)
        upstream.pipe(client)
      })
      server.listen(path, resolve)
    }),
    down: () => new Promise((resolve) => {
      const s = server
      server = null
      if (s === null) { resolve(); return }
      s.close(() => resolve())
      for (const p of pairs) p.destroy()
    }),
    cut: () => { for (const p of pairs) p.destroy() }
  }
}

const get = getText

describe('engine faults behind a relay', { skip: engine === null || engine.socketPath === null ? 'no engine on a unix socket' : false }, () => {
  const eng = engine as TestEngine
  let dir: string
  let r: Relay
  let dw: RunningDockward
  const names: string[] = []

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'dw-enginefault-'))
    r = relay(join(dir, 'engine.sock'), eng.socketPath!)
    // The engine's socket is missing at start-up: dockward starts anyway.
    dw = await startDockward({
      upstream: `unix://${join(dir, 'engine.sock')}`,
      config: (socketPath) => `policy: admin\nlisten:\n  - unix://${socketPath}\nadmin:\n  listen: tcp://127.0.0.1:0\n`
    })
  })
  after(async () => {
    await dw?.stop()
    await r?.down()
    for (const name of names) await removeContainer(eng, name)
    rmSync(dir, { recursive: true, force: true })
  })

  const readyz = async (): Promise<{ status: number, body: any }> => {
    const res = await fetch(`http://127.0.0.1:${dw.adminPort!}/readyz`)
    return { status: res.status, body: await res.json() }
  }

  test('missing at start-up: 502 in the engine\'s format and not ready; back: answered and ready, with no restart', async () => {
    const down = await get(dw.socketPath, '/_ping')
    assert.equal(down.status, 502)
    assert.match(JSON.parse(down.body).message, /cannot reach the Docker engine .*ENOENT/)
    const notReady = await readyz()
    assert.equal(notReady.status, 503)
    assert.match(notReady.body.message, /engine/)

    await r.up()
    assert.deepEqual(await get(dw.socketPath, '/_ping'), { status: 200, body: 'OK' })
    assert.equal((await readyz()).status, 200)
  })

  test('connections cut mid-stream: logs -f, events and attach are closed as interrupted, then everything works again', async () => {
    const name = uniqueName('dw-enginefault')
    names.push(name)
    const id = await runContainer(eng, { name, cmd: ['sh', '-c', 'while true; do echo tick; sleep 0.2; done'] })
    // Warm the upstream pool, then count.
    await get(dw.socketPath, '/_ping')
    const baseline = fdCount(dw.pid)

    for (let round = 0; round < 3; round++) {
      const logs = await openStream(dw.socketPath, 'GET', `/containers/${id}/logs?follow=1&stdout=1`)
      const events = await openStream(dw.socketPath, 'GET', '/events')
      assert.equal(logs.status, 200)
      assert.equal(events.status, 200)
      const attach = await openAttach(dw.socketPath, id, (s) => s.includes('tick'))
      assert.match(attach.received(), /^HTTP\/1\.1 101 [\s\S]*tick/)

      // The engine "restarts": every connection is cut and the socket is gone for a moment.
      await r.down()
      assert.equal(await logs.ended, 'cut')
      assert.equal(await events.ended, 'cut')
      await attach.closed
      const meanwhile = await get(dw.socketPath, '/containers/json')
      assert.equal(meanwhile.status, 502)
      assert.equal(typeof JSON.parse(meanwhile.body).message, 'string')
      await r.up()
      assert.equal((await get(dw.socketPath, '/containers/json')).status, 200)
    }

    const now = await settledCount(() => fdCount(dw.pid), baseline + 2)
    assert.ok(now <= baseline + 2, `descriptors: ${baseline} before, ${now} after three cuts`)
    assert.equal((await readyz()).status, 200)
    assert.doesNotMatch(dw.stderr(), /Error:|at .*\.js:\d+/, 'no crash or stack trace in dockward\'s log')
  })
})
