// A real engine restart under dockward: dockerd is stopped and started again (scripts/engine.sh
// restart) while logs -f, events and an attach are open through dockward and requests keep
// coming. dockward closes the streams as interrupted, answers 502 in the engine's format while the
// engine is away, /readyz says so, and everything works again once it is back, with no descriptor
// left and no restart of dockward. Runs after every other suite (scripts/test.mjs,
// test/exclusive/) and only on an engine the test runner started itself.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { requireEngine, type TestEngine } from '../support/engine.ts'
import { startDockward, type RunningDockward } from '../support/dockward.ts'
import { removeContainer, runContainer, uniqueName } from '../support/cli.ts'
import { fdCount, settledCount } from '../support/proc.ts'
import { openAttach, openStream } from '../support/open-stream.ts'
import { getText } from '../support/engine-reply.ts'

const engine = requireEngine('engine-restart')
const engineDir = process.env['DOCKWARD_TEST_ENGINE_DIR'] ?? ''
const ownEngine = process.env['DOCKWARD_TEST_ENGINE_STARTED'] === '1' && engineDir !== ''
const ENGINE_SH = fileURLToPath(new URL('../../scripts/engine.sh', import.meta.url))

if (engine !== null && !ownEngine) {
  // Restarting someone else's engine is never acceptable; under CI the runner always starts its own.
  if (process.env['CI'] === 'true') throw new Error('engine-restart: under CI=true the test runner must start its own engine (DOCKWARD_TEST_ENGINE_DIR)')
  console.log('SKIPPED: engine-restart needs an engine the test runner started itself (scripts/test.mjs); this one is shared, so it is not restarted')
}

const get = getText

/** `engine.sh restart DIR`, resolved with its exit code. */
function restartEngine (): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn('bash', [ENGINE_SH, 'restart', engineDir], { stdio: ['ignore', 'ignore', 'inherit'] })
    child.on('exit', (code) => resolve(code ?? 1))
  })
}

describe('a real engine restart under dockward', { skip: engine === null || !ownEngine ? 'no engine of the runner\'s own' : false, timeout: 180_000 }, () => {
  const eng = engine as TestEngine
  let dw: RunningDockward
  const names: string[] = []

  before(async () => {
    dw = await startDockward({
      upstream: eng.dockerHost,
      config: (socketPath) => `policy: admin\nlisten:\n  - unix://${socketPath}\naudit:\n  destination: none\nadmin:\n  listen: tcp://127.0.0.1:0\n`
    })
  })
  after(async () => {
    await dw?.stop()
    for (const name of names) await removeContainer(eng, name)
  })

  const readyz = async (): Promise<number> => (await fetch(`http://127.0.0.1:${dw.adminPort!}/readyz`)).status

  test('streams are closed as interrupted, requests meanwhile get 502, everything works again after', async () => {
    const name = uniqueName('dw-restart')
    names.push(name)
    // A shell that ends on SIGTERM, so dockerd's shutdown does not wait out its stop timeout.
    const id = await runContainer(eng, { name, cmd: ['sh', '-c', 'trap "exit 0" TERM; while true; do echo tick; sleep 0.2; done'] })
    await get(dw.socketPath, '/_ping')
    const baseline = fdCount(dw.pid)

    const logs = await openStream(dw.socketPath, 'GET', `/containers/${id}/logs?follow=1&stdout=1`)
    const events = await openStream(dw.socketPath, 'GET', '/events')
    assert.equal(logs.status, 200)
    assert.equal(events.status, 200)
    const attach = await openAttach(dw.socketPath, id, (s) => s.includes('tick'))
    assert.match(attach.received(), /^HTTP\/1\.1 101 [\s\S]*tick/)

    // Ask through dockward while the engine restarts: some answers are 502, none is anything else.
    const restarted = restartEngine()
    const seen = new Set<number>()
    let done = false
    void restarted.then(() => { done = true })
    while (!done) {
      const r = await get(dw.socketPath, '/_ping')
      seen.add(r.status)
      if (r.status !== 200) assert.equal(typeof JSON.parse(r.body).message, 'string', `a ${r.status} in the engine's format`)
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
    assert.equal(await restarted, 0, 'engine.sh restart succeeded')
    assert.ok([...seen].every((s) => s === 200 || s === 502), `statuses seen while the engine restarted: ${[...seen].join(', ')}`)
    assert.ok(seen.has(502), 'the engine was away for at least one request')

    // The streams the restart cut are closed (the follow stream may also end cleanly as the
    // container stops before the engine does), never left hanging.
    assert.ok(['cut', 'end'].includes(await logs.ended))
    assert.ok(['cut', 'end'].includes(await events.ended))
    await attach.closed

    // Back: answered and ready without restarting dockward, and nothing left behind.
    assert.deepEqual(await get(dw.socketPath, '/_ping'), { status: 200, body: 'OK' })
    assert.equal((await get(dw.socketPath, '/containers/json')).status, 200)
    assert.equal(await readyz(), 200)
    const now = await settledCount(() => fdCount(dw.pid), baseline + 2, 5000)
    assert.ok(now <= baseline + 2, `descriptors: ${baseline} before, ${now} after the restart`)
    assert.doesNotMatch(dw.stderr(), /Error:|at .*\.js:\d+/, 'no crash or stack trace in dockward\'s log')
  })
})
