// Reload under steady load: while keep-alive clients send a fixed number of requests through a
// running dockward, the policy file changes and dockward is told to reload (SIGHUP and the admin
// API's POST /reload) several times. Every request sent is answered, none fails, no connection
// is dropped, and the last policy is the one in force.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import http from 'node:http'
import { createHash } from 'node:crypto'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { requireEngine, type TestEngine } from '../support/engine.ts'
import { startDockward, type RunningDockward } from '../support/dockward.ts'

const engine = requireEngine('reload-under-load')

const PINGS = 2000
const LISTS = 300
const CLIENTS = 8
const RELOADS = 6
const TOKEN = 'reload-under-load-admin-token-0123456789'

/** Version `n` of the policy: lists and pings always allowed, image lists allowed on even n only. */
const policy = (n: number): string => `policy: load-${n}
version: 1
rules:
  - id: ${n % 2 === 0 ? 'allow' : 'deny'}-images-${n}
    ${n % 2 === 0 ? 'allow: true' : `deny: closed in version ${n}`}
    match:
      operations: [ImageList]
  - id: allow-rest
    allow: true
`

describe('reload under steady load', { skip: engine === null ? 'no engine' : false }, () => {
  const eng = engine as TestEngine
  let dw: RunningDockward
  let dir: string
  let file: string

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'dw-load-'))
    file = join(dir, 'policy.yaml')
    writeFileSync(file, policy(0))
    const digest = createHash('sha256').update(TOKEN).digest('hex')
    dw = await startDockward({
      upstream: eng.dockerHost,
      config: (socketPath) => `policy: ${file}\nlisten:\n  - unix://${socketPath}\nadmin:\n  listen: tcp://127.0.0.1:0\n  tokenSha256: ${digest}\n`
    })
  })
  after(async () => {
    await dw?.stop()
    rmSync(dir, { recursive: true, force: true })
  })

  test(`${PINGS} pings and ${LISTS} container lists over keep-alive, ${RELOADS} reloads meanwhile: all answered`, async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: CLIENTS })
    const connections = new WeakSet<object>()
    let opened = 0
    const work: string[] = []
    for (let i = 0; i < PINGS + LISTS; i++) work.push(i % Math.floor((PINGS + LISTS) / LISTS) === 0 ? '/containers/json?all=1' : '/_ping')
    const sent = work.length
    let answered = 0
    const failures: string[] = []
    let next = 0

    const one = (path: string): Promise<void> => new Promise((resolve) => {
      const req = http.get({ socketPath: dw.socketPath, path, agent }, (res) => {
        res.resume()
        res.on('end', () => {
          if (res.statusCode === 200) answered++
          else failures.push(`${path}: ${res.statusCode ?? 0}`)
          resolve()
        })
        res.on('error', (err) => { failures.push(`${path}: ${err.message}`); resolve() })
      })
      req.on('socket', (s) => { if (!connections.has(s)) { connections.add(s); opened++ } })
      req.on('error', (err) => { failures.push(`${path}: ${err.message}`); resolve() })
    })
    const client = async (): Promise<void> => {
      while (next < work.length) await one(work[next++]!)
    }

    // Reloads spread over the run: the file changes, then SIGHUP or POST /reload, alternately.
    const reloads = (async () => {
      for (let n = 1; n <= RELOADS; n++) {
        while (next < (work.length * n) / (RELOADS + 1)) await new Promise((resolve) => setTimeout(resolve, 5))
        writeFileSync(file, policy(n))
        if (n % 2 === 1) {
          process.kill(dw.pid, 'SIGHUP')
        } else {
          const r = await fetch(`http://127.0.0.1:${dw.adminPort!}/reload`, { method: 'POST', headers: { Authorization: `Bearer ${TOKEN}` } })
          assert.equal(r.status, 200, await r.text())
        }
      }
    })()

    await Promise.all([...Array.from({ length: CLIENTS }, client), reloads])
    agent.destroy()
    assert.deepEqual(failures, [])
    assert.equal(answered, sent, `${sent} sent, ${answered} answered`)
    assert.ok(opened <= CLIENTS, `no connection was dropped and reopened (${opened} opened for ${CLIENTS} clients)`)
    assert.ok((dw.stderr().match(/policy reloaded/g) ?? []).length >= 1, dw.stderr())

    // The last version written is the one in force.
    const last = await fetch(`http://127.0.0.1:${dw.adminPort!}/policy`).then(async (r) => await r.json() as { name: string })
    assert.equal(last.name, `load-${RELOADS}`)
  })
})
