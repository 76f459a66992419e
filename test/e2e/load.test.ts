// A bounded load test: for a fixed time, 32 keep-alive clients (the benchmark's connection count)
// send a mix of the benchmark's requests through dockward (default policy, audit to a file, the
// engine behind it): pings, versions, container lists, and container create+delete pairs. Every
// request must be answered with its expected status, none may fail, every answer must have one
// audit record, and dockward's descriptors must come back once the clients are gone.
//   DOCKWARD_LOAD_SECONDS=60 node --import tsx --test test/e2e/load.test.ts   (the long form)
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import http from 'node:http'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { engineRequest, requireEngine, type TestEngine } from '../support/engine.ts'
import { startDockward, type RunningDockward } from '../support/dockward.ts'
import { fdCount, settledCount } from '../support/proc.ts'
import { uniqueName } from '../support/cli.ts'

const engine = requireEngine('load')
const SECONDS = Number(process.env['DOCKWARD_LOAD_SECONDS'] ?? '3')
const CLIENTS = 32
// Two of the clients create and delete containers; the rest read.
const WRITERS = 2

interface Answer { status: number, body: string }

function call (agent: http.Agent, socketPath: string, method: string, path: string, body?: unknown): Promise<Answer> {
  const data = body === undefined ? undefined : Buffer.from(JSON.stringify(body))
  const headers: Record<string, string | number> = data === undefined ? {} : { 'Content-Type': 'application/json', 'Content-Length': data.length }
  return new Promise((resolve, reject) => {
    const req = http.request({ socketPath, method, path, headers, agent }, (res) => {
      let text = ''
      res.setEncoding('utf8')
      res.on('data', (s: string) => { text += s })
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }))
      res.on('error', reject)
    })
    req.on('error', reject)
    req.end(data)
  })
}

describe('bounded load through dockward', { skip: engine === null ? 'no engine' : false, timeout: 120_000 + SECONDS * 1000 }, () => {
  const eng = engine as TestEngine
  let dw: RunningDockward
  let dir: string
  const label = uniqueName('dw-load')

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'dw-load-'))
    dw = await startDockward({
      upstream: eng.dockerHost,
      config: (socketPath) => `listen:\n  - unix://${socketPath}\npolicy: default\naudit:\n  destination: ${join(dir, 'audit.jsonl')}\n`
    })
  })
  after(async () => {
    await dw?.stop()
    // Anything a failed run left behind.
    const filters = encodeURIComponent(JSON.stringify({ label: [`dockward.test.load=${label}`] }))
    const left = (await engineRequest(eng, 'GET', `/containers/json?all=1&filters=${filters}`)).json as Array<{ Id: string }>
    for (const c of left) await engineRequest(eng, 'DELETE', `/containers/${c.Id}?force=1`)
    rmSync(dir, { recursive: true, force: true })
  })

  test(`${CLIENTS} clients for ${SECONDS} s: every request answered as expected, each one audited, no descriptor left`, async () => {
    const fdsBefore = fdCount(dw.pid)
    const agent = new http.Agent({ keepAlive: true, maxSockets: CLIENTS })
    const listPath = `/v1.41/containers/json?all=1&filters=${encodeURIComponent(JSON.stringify({ label: [`dockward.test.load=${label}`] }))}`
    const reads: Array<[string, number]> = [['/_ping', 200], ['/v1.41/version', 200], [listPath, 200]]
    const counts = { sent: 0, answered: 0, unexpected: [] as string[], errors: [] as string[] }
    const deadline = Date.now() + SECONDS * 1000

    const reader = async (n: number): Promise<void> => {
      for (let i = n; Date.now() < deadline; i++) {
        const [path, expected] = reads[i % reads.length]!
        counts.sent++
        try {
          const r = await call(agent, dw.socketPath, 'GET', path)
          counts.answered++
          if (r.status !== expected) counts.unexpected.push(`GET ${path}: ${r.status} ${r.body.slice(0, 200)}`)
        } catch (err) {
          counts.errors.push(`GET ${path}: ${(err as Error).message}`)
        }
      }
    }
    const writer = async (): Promise<void> => {
      while (Date.now() < deadline) {
        counts.sent++
        try {
          const created = await call(agent, dw.socketPath, 'POST', '/v1.41/containers/create', { Image: eng.image, Cmd: ['true'], Labels: { 'dockward.test.load': label } })
          counts.answered++
          if (created.status !== 201) { counts.unexpected.push(`create: ${created.status} ${created.body.slice(0, 200)}`); continue }
          const id = (JSON.parse(created.body) as { Id: string }).Id
          counts.sent++
          const removed = await call(agent, dw.socketPath, 'DELETE', `/v1.41/containers/${id}`)
          counts.answered++
          if (removed.status !== 204) counts.unexpected.push(`delete: ${removed.status} ${removed.body.slice(0, 200)}`)
        } catch (err) {
          counts.errors.push(`create/delete: ${(err as Error).message}`)
        }
      }
    }
    const started = Date.now()
    await Promise.all([
      ...Array.from({ length: CLIENTS - WRITERS }, async (_, n) => { await reader(n) }),
      ...Array.from({ length: WRITERS }, async () => { await writer() })
    ])
    const elapsed = (Date.now() - started) / 1000
    agent.destroy()
    console.log(`load: ${counts.sent} requests in ${elapsed.toFixed(1)} s (${(counts.sent / elapsed).toFixed(0)}/s) over ${CLIENTS} connections; unexpected ${counts.unexpected.length}, errors ${counts.errors.length}`)

    assert.deepEqual(counts.errors, [], 'no request failed')
    assert.deepEqual(counts.unexpected, [], 'every answer is the expected one')
    assert.equal(counts.answered, counts.sent)
    assert.ok(counts.sent > CLIENTS, 'the load ran')

    // One audit record per request, none lost (records are written when the answer is complete).
    const records = (): number => readFileSync(join(dir, 'audit.jsonl'), 'utf8').split('\n').filter((l) => l.includes('"event":"request"')).length
    const deadlineAudit = Date.now() + 5000
    while (records() < counts.sent && Date.now() < deadlineAudit) await new Promise((resolve) => setTimeout(resolve, 100))
    assert.equal(records(), counts.sent, 'every request has its audit record')

    // The clients are gone: dockward holds no more descriptors than before (pooled engine
    // connections may stay, up to the number of clients).
    const fds = await settledCount(() => fdCount(dw.pid), fdsBefore + CLIENTS, 5000)
    assert.ok(fds <= fdsBefore + CLIENTS, `descriptors: ${fdsBefore} before, ${fds} after`)
    const left = (await engineRequest(eng, 'GET', listPath.replace('/v1.41', ''))).json as unknown[]
    assert.equal(left.length, 0, 'every container created was deleted')
  })
})
