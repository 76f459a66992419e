// dockward benchmark: the engine's own plain-HTTP TCP listener (direct) against dockward
// (upstream: the engine's unix socket; clients on dockward's loopback TCP listener), measured by
// the same clients in one run. See bench/README.md.
//
//   node --import tsx bench/run.ts [--quick] [--only GROUPS] [--repeats N]
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdirSync, writeFileSync } from 'node:fs'
import http from 'node:http'
import type { Socket } from 'node:net'
import os from 'node:os'
import { dirname, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { hashToken } from '../src/identify/static-token.ts'
import { startDockward, type RunningDockward } from '../test/support/dockward.ts'
import { engineRequest, type TestEngine } from '../test/support/engine.ts'
import {
  acquireEngine, BenchError, call, callOk, capture, cliEnv, cpuSeconds, demux, directTarget, DOCKER_CLI, download, elapsedSec, fmt, hijack,
  log, median, peakRssMiB, requireDist, requireDockerCli, requireWrk, ROOT, runWrk, tempDir, type Target
} from './support.ts'

const MiB = 1024 * 1024
const GiB = 1024 * MiB
const GROUPS = ['http', 'audit', 'tenancy', 'create', 'logs', 'exec', 'cli'] as const
type Group = typeof GROUPS[number]

const USAGE = `Usage: node --import tsx bench/run.ts [options]

Compares the engine's own TCP listener (direct) with dockward in front of the engine's unix socket.

Options:
  --quick          Smoke run: 1 repeat, 2 s load phases, 256 MiB streams
  --only GROUPS    Comma-separated subset of: ${GROUPS.join(', ')}
  --repeats N      Repeats per row (default 3; the docker CLI rows use max(N, 5), or 1 with --quick)
  --out FILE       Where to write the JSON results (default bench/results/latest.json)
  --relay          Also measure two reference proxies: a bare Node TCP relay (bench/tcp-relay.ts)
                   on the http, logs and exec rows, the floor any Node proxy pays on this machine;
                   and a plain Node HTTP pass-through (bench/http-passthrough.ts) on the http and
                   logs rows, what Node's HTTP stack alone costs. For reading the ratios.
  -h, --help       Show this help

Uses the engine named by DOCKWARD_TEST_DOCKER_HOST / DOCKWARD_TEST_ENGINE_TCP, or starts one with
scripts/engine.sh (and stops it at the end). Needs wrk, the docker CLI and a built dist/ (npm run build).
`

interface Settings {
  readonly quick: boolean
  readonly groups: ReadonlySet<Group>
  readonly repeats: number
  readonly cliRepeats: number
  readonly wrkSeconds: number
  readonly wrkWarmupSeconds: number
  readonly wrkConnections: number
  readonly wrkThreads: number
  readonly createSeconds: number
  readonly createConcurrency: number
  readonly listContainers: number
  /** Containers of other tenants on the engine for the tenancy list row. */
  readonly otherTenantContainers: number
  readonly logBytes: number
  readonly execOutBytes: number
  readonly execInBytes: number
  readonly out: string
  /** Measure the reference proxies (TCP relay, HTTP pass-through) beside dockward where they apply. */
  readonly relay: boolean
}

function parseSettings (argv: string[]): Settings | null {
  let v
  try {
    v = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        quick: { type: 'boolean' },
        only: { type: 'string' },
        repeats: { type: 'string' },
        out: { type: 'string' },
        relay: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' }
      }
    }).values
  } catch (err) {
    throw new BenchError(`${(err as Error).message}\n\n${USAGE}`)
  }
  if (v.help === true) { process.stdout.write(USAGE); return null }
  const quick = v.quick === true
  let groups: Set<Group> = new Set(GROUPS)
  if (v.only !== undefined) {
    groups = new Set()
    for (const g of v.only.split(',').map((s) => s.trim()).filter((s) => s !== '')) {
      if (!(GROUPS as readonly string[]).includes(g)) throw new BenchError(`--only: unknown group ${JSON.stringify(g)} (groups: ${GROUPS.join(', ')})`)
      groups.add(g as Group)
    }
  }
  let repeats = quick ? 1 : 3
  if (v.repeats !== undefined) {
    repeats = Number(v.repeats)
    if (!Number.isInteger(repeats) || repeats < 1) throw new BenchError('--repeats must be a positive integer')
  }
  return {
    quick,
    groups,
    repeats,
    cliRepeats: quick && v.repeats === undefined ? 1 : Math.max(repeats, 5),
    wrkSeconds: quick ? 2 : 5,
    wrkWarmupSeconds: quick ? 1 : 2,
    wrkConnections: 32,
    wrkThreads: 1,
    createSeconds: quick ? 2 : 5,
    createConcurrency: 2,
    listContainers: 50,
    otherTenantContainers: quick ? 200 : 1000,
    logBytes: quick ? 256 * MiB : GiB,
    execOutBytes: quick ? 256 * MiB : GiB,
    execInBytes: 256 * MiB,
    out: resolve(v.out ?? `${ROOT}bench/results/latest.json`),
    relay: v.relay === true
  }
}

// ---------------------------------------------------------------------------------------------
// Rows

type Better = 'higher' | 'lower'

interface Row {
  readonly id: string
  readonly label: string
  readonly unit: string
  readonly better: Better
  /** Pass condition on dockward/direct: at least `min` (throughput) or at most `max` (time). */
  readonly target: { readonly min: number } | { readonly max: number } | null
  readonly direct: number[]
  readonly dockward: number[]
  /** The reference proxies (`--relay`), on the rows where they were measured. */
  readonly relay: number[]
  readonly passthrough: number[]
  /** dockward's own CPU use (user + system) per unit of work, one sample per dockward run. */
  readonly cpu: number[]
  readonly cpuUnit: string | null
  readonly notes: string[]
}

const rows: Row[] = []

function row (id: string, label: string, unit: string, better: Better, target: Row['target'], cpuUnit: string | null = null): Row {
  const r: Row = { id, label, unit, better, target, direct: [], dockward: [], relay: [], passthrough: [], cpu: [], cpuUnit, notes: [] }
  rows.push(r)
  return r
}

function note (r: Row, text: string): void {
  if (!r.notes.includes(text)) r.notes.push(text)
}

/** Alternates which target goes first, so drift in the machine's load hits both alike. */
function order<T> (rep: number, direct: T, dockward: T): [T, T] {
  return rep % 2 === 0 ? [direct, dockward] : [dockward, direct]
}

/**
 * The targets of a row the references apply to: direct and dockward in turn, and with --relay the
 * TCP relay and (on HTTP rows, not hijacks) the HTTP pass-through too.
 */
function compared (ctx: Ctx, rep: number, http = true): Target[] {
  const two = order(rep, ctx.direct, ctx.dockward)
  const refs = [ctx.relay, http ? ctx.passthrough : null].filter((t): t is Target => t !== null)
  return rep % 2 === 0 ? [...two, ...refs] : [...refs.reverse(), ...two]
}

/** Runs `fn` and, for dockward, also returns the CPU seconds dockward used meanwhile. */
async function measured<T> (ctx: Ctx, t: Target, fn: () => Promise<T>): Promise<{ value: T, cpu: number | null }> {
  const before = t.name === 'dockward' ? cpuSeconds(ctx.dw.pid) : null
  const value = await fn()
  return { value, cpu: before === null ? null : cpuSeconds(ctx.dw.pid) - before }
}

function progress (t: { name: string }, what: string, rep: number, of: number, result: string): void {
  log(`  [${t.name.padEnd(8)}] ${what.padEnd(26)} ${rep + 1}/${of}: ${result}`)
}

interface Evaluated {
  readonly direct: number
  readonly dockward: number
  readonly ratio: number
  readonly targetText: string
  readonly result: 'PASS' | 'MISS' | 'info'
}

function evaluate (r: Row): Evaluated {
  const direct = median(r.direct)
  const dockward = median(r.dockward)
  const ratio = dockward / direct
  if (r.target === null) return { direct, dockward, ratio, targetText: '-', result: 'info' }
  if ('min' in r.target) {
    return { direct, dockward, ratio, targetText: `>= ${r.target.min.toFixed(2)}`, result: ratio >= r.target.min ? 'PASS' : 'MISS' }
  }
  return { direct, dockward, ratio, targetText: `<= ${r.target.max.toFixed(2)}`, result: ratio <= r.target.max ? 'PASS' : 'MISS' }
}

function table (): string {
  const shown = rows.filter((r) => r.direct.length > 0 && r.dockward.length > 0)
  const refs = (['relay', 'passthrough'] as const).filter((ref) => shown.some((r) => r[ref].length > 0))
  const header = ['row', 'direct', 'dockward', 'ratio', 'target', 'result', ...refs.flatMap((ref) => [ref, 'ratio'])]
  const lines = shown.map((r) => {
    const e = evaluate(r)
    const ratio = `${e.ratio.toFixed(2)}${r.better === 'lower' ? '*' : ' '}`
    const measuredRefs = refs.flatMap((ref) => r[ref].length === 0 ? ['-', '-'] : [fmt(median(r[ref])), (median(r[ref]) / e.direct).toFixed(2)])
    return [`${r.label} (${r.unit})`, fmt(e.direct), fmt(e.dockward), ratio, e.targetText, e.result, ...measuredRefs]
  })
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)))
  const render = (cells: string[]): string => cells.map((c, i) => i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!)).join('  ')
  return [
    render(header),
    widths.map((w) => '-'.repeat(w)).join('  '),
    ...lines.map(render),
    '',
    'ratio = dockward / direct (medians). Throughput rows: higher is better.',
    ...(refs.includes('relay') ? ['relay = a bare Node TCP relay (bench/tcp-relay.ts), no HTTP parsing or checks; its ratio is relay / direct.'] : []),
    ...(refs.includes('passthrough') ? ['passthrough = a plain Node HTTP proxy (bench/http-passthrough.ts: node:http, keep-alive Agent, no checks); its ratio is passthrough / direct.'] : []),
    '* time/latency row: ratio = dockward time / direct time, LOWER is better.'
  ].join('\n')
}

// ---------------------------------------------------------------------------------------------
// Cleanup: everything the run created goes away, also on Ctrl-C.

const cleanups: Array<() => unknown> = []
let cleaning: Promise<void> | null = null

function runCleanups (): Promise<void> {
  cleaning ??= (async () => {
    while (cleanups.length > 0) {
      const fn = cleanups.pop()!
      try { await fn() } catch (err) { log(`cleanup: ${(err as Error).message}`) }
    }
  })()
  return cleaning
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    log(`\n${signal}: cleaning up`)
    runCleanups().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143))
  })
}

function withTimeout<T> (p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const t = new Promise<never>((_resolve, reject) => { timer = setTimeout(() => reject(new BenchError(`${what}: no result after ${ms / 1000} s`)), ms) })
  return Promise.race([p, t]).finally(() => clearTimeout(timer))
}

// ---------------------------------------------------------------------------------------------
// The run

interface Ctx {
  readonly s: Settings
  readonly engine: TestEngine
  readonly direct: Target
  readonly dockward: Target
  /** The reference proxies, with --relay. */
  readonly relay: Target | null
  readonly passthrough: Target | null
  readonly dw: RunningDockward
  readonly runId: string
}

const LABEL = 'dockward.bench'

function labels (ctx: Ctx, extra: Record<string, string> = {}): Record<string, string> {
  return { [LABEL]: ctx.runId, ...extra }
}

async function engineOk (engine: TestEngine, method: string, path: string, body?: unknown): Promise<any> {
  const r = await engineRequest(engine, method, path, body)
  if (r.status < 200 || r.status > 299) throw new BenchError(`engine: ${method} ${path} -> ${r.status} ${r.body.toString('utf8').slice(0, 300)}`)
  return r.json
}

async function createContainer (ctx: Ctx, cmd: string[], extraLabels: Record<string, string> = {}): Promise<string> {
  const j = await engineOk(ctx.engine, 'POST', '/containers/create', { Image: ctx.engine.image, Cmd: cmd, Labels: labels(ctx, extraLabels) })
  return j.Id as string
}

/** Removes every container this run labelled (also the ones an interrupted loop left behind). */
async function removeRunContainers (engine: TestEngine, runId: string, extra?: string): Promise<number> {
  const filters = encodeURIComponent(JSON.stringify({ label: [extra ?? `${LABEL}=${runId}`] }))
  const list = await engineOk(engine, 'GET', `/containers/json?all=1&filters=${filters}`) as Array<{ Id: string }>
  for (const c of list) await engineRequest(engine, 'DELETE', `/containers/${c.Id}?force=1&v=1`)
  return list.length
}

async function httpRows (ctx: Ctx): Promise<void> {
  const { s } = ctx
  log(`creating ${s.listContainers} containers for the list row`)
  for (let i = 0; i < s.listContainers; i++) await createContainer(ctx, ['true'], { [`${LABEL}.list`]: ctx.runId })
  const listFilter = encodeURIComponent(JSON.stringify({ label: [`${LABEL}.list=${ctx.runId}`] }))
  const endpoints = [
    { id: 'ping', label: 'GET /_ping', path: '/_ping', min: 0.35 },
    { id: 'version', label: 'GET /version', path: '/version', min: 0.95 },
    { id: 'list', label: `GET /containers/json (${s.listContainers})`, path: `/containers/json?all=1&filters=${listFilter}`, min: 0.95 }
  ]
  for (const t of compared(ctx, 0)) {
    const n = (await callOk(t, 'GET', endpoints[2]!.path)).json as unknown[]
    if (n.length !== s.listContainers) throw new BenchError(`${t.name}: the list returned ${n.length} containers, expected ${s.listContainers}`)
  }
  await wrkRows(ctx, endpoints, true, true)
  const removed = await removeRunContainers(ctx.engine, ctx.runId, `${LABEL}.list=${ctx.runId}`)
  log(`removed the ${removed} list containers`)
}

interface Endpoint { readonly id: string, readonly label: string, readonly path: string, readonly min: number }

/** wrk on each endpoint, both targets, after a warm-up: req/s rows (and p50/p99 rows when `latency`). */
async function wrkRows (ctx: Ctx, endpoints: readonly Endpoint[], latency: boolean, relayRows = false): Promise<void> {
  const { s } = ctx
  const wrk = { connections: s.wrkConnections, threads: s.wrkThreads }
  log(`warming up (${s.wrkWarmupSeconds} s per endpoint and target)`)
  for (const e of endpoints) for (const t of (relayRows ? compared(ctx, 0) : [ctx.direct, ctx.dockward])) await runWrk(t, e.path, { ...wrk, seconds: s.wrkWarmupSeconds })

  for (const e of endpoints) {
    const rps = row(`${e.id}.rps`, e.label, `req/s, ${s.wrkConnections} conns`, 'higher', { min: e.min }, 'us/request')
    const p50 = latency ? row(`${e.id}.p50`, `${e.label} p50`, 'ms', 'lower', null) : null
    const p99 = latency ? row(`${e.id}.p99`, `${e.label} p99`, 'ms', 'lower', null) : null
    for (let rep = 0; rep < s.repeats; rep++) {
      for (const t of (relayRows ? compared(ctx, rep) : order(rep, ctx.direct, ctx.dockward))) {
        const { value: r, cpu } = await measured(ctx, t, () => runWrk(t, e.path, { ...wrk, seconds: s.wrkSeconds }))
        if (cpu !== null) rps.cpu.push(cpu * 1e6 / r.requests)
        rps[t.name].push(r.rps)
        p50?.[t.name].push(r.p50ms)
        p99?.[t.name].push(r.p99ms)
        let result = `${fmt(r.rps)} req/s, p50 ${fmt(r.p50ms)} ms, p99 ${fmt(r.p99ms)} ms`
        if (r.non2xx > 0 || r.socketErrors > 0) {
          result += ` (non-2xx ${r.non2xx}, socket errors ${r.socketErrors})`
          note(rps, `${t.name}: wrk saw non-2xx or socket errors (${r.non2xx}/${r.socketErrors})`)
        }
        progress(t, e.label, rep, s.repeats, result)
      }
    }
  }
}

/**
 * The audit log's cost on the hot path: a second dockward with audit records going to a file
 * (batched, the default) and a third writing them synchronously (fail-closed), each against
 * direct in the same run. The main dockward runs with audit off, so its rows are the proxy alone.
 */
async function auditRows (ctx: Ctx): Promise<void> {
  const dir = tempDir('dw-bench-audit.')
  cleanups.push(dir.remove)
  const variants = [
    { id: 'audit', label: 'audit to a file', args: ['--audit-destination', `${dir.path}/audit.jsonl`] },
    { id: 'audit-fc', label: 'audit fail-closed', args: ['--audit-destination', `${dir.path}/audit-fc.jsonl`, '--audit-fail-closed'] }
  ]
  for (const v of variants) {
    const dw = await startDockward({ upstream: ctx.engine.dockerHost, tcp: true, extraArgs: v.args })
    cleanups.push(() => dw.stop())
    log(`dockward with ${v.label}: pid ${dw.pid}`)
    const dockward: Target = { name: 'dockward', host: '127.0.0.1', port: dw.tcpPort! }
    await wrkRows({ ...ctx, dw, dockward }, [
      { id: `${v.id}.ping`, label: `GET /_ping, ${v.label}`, path: '/_ping', min: 0.35 },
      { id: `${v.id}.version`, label: `GET /version, ${v.label}`, path: '/version', min: 0.95 }
    ], false)
    await dw.stop()
  }
}

/**
 * `GET /containers/json` for one tenant while other tenants' containers fill the engine: dockward
 * (tenancy on, a token for tenant bench-a) against the same list asked of the engine directly with
 * the owner filter dockward adds, so the ratio is dockward's own cost of scoping the list.
 */
async function tenancyRows (ctx: Ctx): Promise<void> {
  const { s } = ctx
  const token = 'dwt_bench_tenancy_token_0123456789abcdef'
  const owner = 'io.dockward.tenant'
  const dw = await startDockward({
    upstream: ctx.engine.dockerHost,
    config: (socketPath) => `
listen:
  - url: unix://${socketPath}
  - url: tcp://127.0.0.1:0
    authentication: [token]
authentication:
  tokens: [{ name: bench-a, tenant: bench-a, sha256: ${hashToken(token)} }]
tenancy: {}
policy: admin
audit: { destination: none }
`
  })
  cleanups.push(async () => { await dw.stop() })
  if (dw.tcpPort === null) throw new BenchError('tenancy dockward did not report its TCP port')
  const tenant: Target = { name: 'dockward', host: '127.0.0.1', port: dw.tcpPort, headers: [`Authorization: Bearer ${token}`] }
  log(`creating ${s.otherTenantContainers} containers of other tenants and ${s.listContainers} of bench-a`)
  for (let i = 0; i < s.otherTenantContainers; i++) await createContainer(ctx, ['true'], { [owner]: `bench-other-${i % 10}`, [`${LABEL}.tenancy`]: ctx.runId })
  for (let i = 0; i < s.listContainers; i++) await createContainer(ctx, ['true'], { [owner]: 'bench-a', [`${LABEL}.tenancy`]: ctx.runId })
  const directPath = `/containers/json?all=1&filters=${encodeURIComponent(JSON.stringify({ label: [`${owner}=bench-a`] }))}`
  const wrk = { connections: s.wrkConnections, threads: s.wrkThreads }
  const label = `GET /containers/json, tenant (${s.listContainers} own, ${s.otherTenantContainers} others')`
  const r = row('tenancy.list.rps', label, `req/s, ${s.wrkConnections} conns`, 'higher', { min: 0.95 }, 'us/request')
  for (const [t, path] of [[ctx.direct, directPath], [tenant, '/containers/json?all=1']] as const) {
    const n = (await callOk(t, 'GET', path)).json as unknown[]
    if (n.length !== s.listContainers) throw new BenchError(`${t.name}: the tenant's list returned ${n.length} containers, expected ${s.listContainers}`)
    await runWrk(t, path, { ...wrk, seconds: s.wrkWarmupSeconds })
  }
  for (let rep = 0; rep < s.repeats; rep++) {
    for (const [t, path] of order(rep, [ctx.direct, directPath] as const, [tenant, '/containers/json?all=1'] as const)) {
      const { value: w, cpu } = await measured({ ...ctx, dw }, t, () => runWrk(t, path, { ...wrk, seconds: s.wrkSeconds }))
      if (cpu !== null) r.cpu.push(cpu * 1e6 / w.requests)
      r[t.name].push(w.rps)
      if (w.non2xx > 0 || w.socketErrors > 0) note(r, `${t.name}: wrk saw non-2xx or socket errors (${w.non2xx}/${w.socketErrors})`)
      progress(t, label, rep, s.repeats, `${fmt(w.rps)} req/s, p50 ${fmt(w.p50ms)} ms`)
    }
  }
  note(r, 'direct = the same list asked of the engine with the owner filter dockward adds')
  const removed = await removeRunContainers(ctx.engine, ctx.runId, `${LABEL}.tenancy=${ctx.runId}`)
  log(`removed the ${removed} tenancy containers`)
}

/** Container create + delete pairs per second, `concurrency` loops for `seconds`, keep-alive client. */
async function createDeleteRate (ctx: Ctx, t: Target): Promise<{ rate: number, pairs: number }> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: ctx.s.createConcurrency })
  const body = { Image: ctx.engine.image, Cmd: ['true'], Labels: labels(ctx) }
  const start = process.hrtime.bigint()
  const deadline = performance.now() + ctx.s.createSeconds * 1000
  let pairs = 0
  const loop = async (): Promise<void> => {
    while (performance.now() < deadline) {
      const created = await callOk(t, 'POST', '/containers/create', body, agent)
      await callOk(t, 'DELETE', `/containers/${created.json.Id as string}`, undefined, agent)
      pairs++
    }
  }
  try {
    await Promise.all(Array.from({ length: ctx.s.createConcurrency }, loop))
  } finally {
    agent.destroy()
  }
  return { rate: pairs / elapsedSec(start), pairs }
}

async function createRows (ctx: Ctx): Promise<void> {
  const r = row('create', 'container create+delete', `pairs/s, ${ctx.s.createConcurrency} loops`, 'higher', { min: 0.95 }, 'us/pair')
  for (let rep = 0; rep < ctx.s.repeats; rep++) {
    for (const t of order(rep, ctx.direct, ctx.dockward)) {
      const { value: { rate, pairs }, cpu } = await measured(ctx, t, () => withTimeout(createDeleteRate(ctx, t), (ctx.s.createSeconds + 120) * 1000, `${t.name} create+delete`))
      if (cpu !== null) r.cpu.push(cpu * 1e6 / pairs)
      r[t.name].push(rate)
      progress(t, 'create+delete', rep, ctx.s.repeats, `${fmt(rate)} pairs/s`)
    }
  }
}

async function logRows (ctx: Ctx): Promise<void> {
  const { s } = ctx
  // Lines of 16000 bytes: the json-file driver stores each as one entry (it splits at 16 KiB), so the
  // log on disk stays close to the payload size.
  const script = `yes "$(head -c 16000 /dev/zero | tr '\\0' x)" | head -c ${s.logBytes}`
  const id = await createContainer(ctx, ['sh', '-c', script])
  log(`writing ${s.logBytes / MiB} MiB to a container's log`)
  const start = process.hrtime.bigint()
  await engineOk(ctx.engine, 'POST', `/containers/${id}/start`)
  const waited = await engineOk(ctx.engine, 'POST', `/containers/${id}/wait`)
  if (waited.StatusCode !== 0) throw new BenchError(`the log writer exited with ${waited.StatusCode as number}`)
  log(`  done in ${elapsedSec(start).toFixed(1)} s`)
  const r = row('logs', `logs, ${s.logBytes / MiB} MiB`, 'MB/s', 'higher', { min: 0.95 }, 'CPU s/GB')
  for (let rep = 0; rep < s.repeats; rep++) {
    for (const t of compared(ctx, rep)) {
      const t0 = process.hrtime.bigint()
      const { value: d, cpu } = await measured(ctx, t, () => withTimeout(download(t, `/containers/${id}/logs?stdout=1`), 600_000, `${t.name} logs`))
      const sec = elapsedSec(t0)
      if (cpu !== null) r.cpu.push(cpu / (d.bytes / 1e9))
      if (d.status !== 200 || d.bytes < s.logBytes) throw new BenchError(`${t.name}: logs answered ${d.status} with ${d.bytes} bytes, expected >= ${s.logBytes}`)
      const mbps = d.bytes / 1e6 / sec
      r[t.name].push(mbps)
      progress(t, 'logs', rep, s.repeats, `${fmt(mbps)} MB/s (${(d.bytes / 1e6).toFixed(0)} MB in ${sec.toFixed(2)} s)`)
    }
  }
  await engineRequest(ctx.engine, 'DELETE', `/containers/${id}?force=1&v=1`)
}

function readToEnd (socket: Socket, first: Buffer, keep: boolean): Promise<{ bytes: number, data: Buffer }> {
  return new Promise((resolve, reject) => {
    let bytes = first.length
    const chunks: Buffer[] = keep ? [first] : []
    socket.on('data', (c: Buffer) => { bytes += c.length; if (keep) chunks.push(c) })
    socket.on('end', () => resolve({ bytes, data: Buffer.concat(chunks) }))
    socket.on('error', reject)
    socket.on('close', () => resolve({ bytes, data: Buffer.concat(chunks) }))
  })
}

async function writeZeros (socket: Socket, total: number): Promise<void> {
  const chunk = Buffer.alloc(MiB)
  let sent = 0
  while (sent < total) {
    if (socket.destroyed) throw new BenchError('the exec stream closed while stdin was being sent')
    const n = Math.min(chunk.length, total - sent)
    const ok = socket.write(n === chunk.length ? chunk : chunk.subarray(0, n))
    sent += n
    if (!ok) await drained(socket)
  }
  socket.end()
}

/** Resolves on 'drain', or on 'close' (the next write then fails the loop); leaves no listener behind. */
function drained (socket: Socket): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      socket.removeListener('drain', done)
      socket.removeListener('close', done)
      resolve()
    }
    socket.on('drain', done)
    socket.on('close', done)
  })
}

/** exec create + hijacked start of `head -c N /dev/zero`, stream read to its end: MB/s of the raw stream. */
async function execStdout (ctx: Ctx, t: Target, runner: string): Promise<{ mbps: number, bytes: number, sec: number }> {
  const t0 = process.hrtime.bigint()
  const ex = await callOk(t, 'POST', `/containers/${runner}/exec`, { AttachStdout: true, AttachStderr: true, Cmd: ['head', '-c', String(ctx.s.execOutBytes), '/dev/zero'] })
  const { socket, head } = await hijack(t, `/exec/${ex.json.Id as string}/start`, { Detach: false, Tty: false })
  const { bytes } = await readToEnd(socket, head, false)
  const sec = elapsedSec(t0)
  socket.destroy()
  if (bytes < ctx.s.execOutBytes) throw new BenchError(`${t.name}: exec stdout ended after ${bytes} bytes, expected >= ${ctx.s.execOutBytes}`)
  return { mbps: bytes / 1e6 / sec, bytes, sec }
}

/** exec create + hijacked start of `wc -c`, N bytes sent on stdin, half-close, wait for the count. */
async function execStdin (ctx: Ctx, t: Target, runner: string): Promise<{ mbps: number, sec: number }> {
  const total = ctx.s.execInBytes
  const t0 = process.hrtime.bigint()
  const ex = await callOk(t, 'POST', `/containers/${runner}/exec`, { AttachStdin: true, AttachStdout: true, AttachStderr: true, Cmd: ['wc', '-c'] })
  const { socket, head } = await hijack(t, `/exec/${ex.json.Id as string}/start`, { Detach: false, Tty: false })
  const output = readToEnd(socket, head, true)
  await writeZeros(socket, total)
  const { data } = await output
  const sec = elapsedSec(t0)
  socket.destroy()
  const counted = Number(demux(data, 1).toString('utf8').trim())
  if (counted !== total) throw new BenchError(`${t.name}: wc -c counted ${demux(data, 1).toString('utf8').trim() || '(nothing)'} of ${total} bytes sent`)
  return { mbps: total / 1e6 / sec, sec }
}

async function execRows (ctx: Ctx): Promise<void> {
  const { s } = ctx
  const runner = await createContainer(ctx, ['sleep', '86400'])
  await engineOk(ctx.engine, 'POST', `/containers/${runner}/start`)
  const out = row('exec.stdout', `exec stdout, ${s.execOutBytes / MiB} MiB`, 'MB/s', 'higher', { min: 0.95 }, 'CPU s/GB')
  for (let rep = 0; rep < s.repeats; rep++) {
    for (const t of compared(ctx, rep, false)) {
      const { value: r, cpu } = await measured(ctx, t, () => withTimeout(execStdout(ctx, t, runner), 600_000, `${t.name} exec stdout`))
      if (cpu !== null) out.cpu.push(cpu / (r.bytes / 1e9))
      out[t.name].push(r.mbps)
      progress(t, 'exec stdout', rep, s.repeats, `${fmt(r.mbps)} MB/s (${r.sec.toFixed(2)} s)`)
    }
  }
  const inp = row('exec.stdin', `exec stdin, ${s.execInBytes / MiB} MiB`, 'MB/s', 'higher', { min: 0.95 }, 'CPU s/GB')
  for (let rep = 0; rep < s.repeats; rep++) {
    for (const t of compared(ctx, rep, false)) {
      const { value: r, cpu } = await measured(ctx, t, () => withTimeout(execStdin(ctx, t, runner), 600_000, `${t.name} exec stdin`))
      if (cpu !== null) inp.cpu.push(cpu / (s.execInBytes / 1e9))
      inp[t.name].push(r.mbps)
      progress(t, 'exec stdin', rep, s.repeats, `${fmt(r.mbps)} MB/s (${r.sec.toFixed(2)} s)`)
    }
  }
  await engineRequest(ctx.engine, 'DELETE', `/containers/${runner}?force=1&v=1`)
}

async function cliRows (ctx: Ctx): Promise<void> {
  const { s } = ctx
  const config = tempDir('dw-bench-cli.')
  cleanups.push(config.remove)
  const env = cliEnv(config.path)
  // The CLI reaches both over unix sockets: the engine's own and dockward's.
  const hosts = { direct: ctx.engine.dockerHost, dockward: ctx.dw.dockerHost }
  const time = async (t: Target, args: string[]): Promise<{ ms: number, out: string }> => {
    const t0 = process.hrtime.bigint()
    if (t.name === 'relay' || t.name === 'passthrough') throw new BenchError('the CLI rows do not measure the reference proxies')
    const out = await capture(DOCKER_CLI, ['-H', hosts[t.name], ...args], 120_000, env)
    return { ms: elapsedSec(t0) * 1000, out }
  }
  const runArgs = ['run', '--rm', '--label', `${LABEL}=${ctx.runId}`, ctx.engine.image, 'echo', 'hi']
  for (const t of [ctx.direct, ctx.dockward]) { await time(t, ['ps']); await time(t, runArgs) }

  const ps = row('cli.ps', 'docker ps', 'ms wall', 'lower', null)
  const run = row('cli.run', 'docker run --rm echo', 'ms wall', 'lower', { max: 1.05 })
  for (const [r, args, what] of [[ps, ['ps'], 'docker ps'], [run, runArgs, 'docker run --rm echo hi']] as const) {
    for (let rep = 0; rep < s.cliRepeats; rep++) {
      for (const t of order(rep, ctx.direct, ctx.dockward)) {
        const { ms, out } = await time(t, [...args])
        if (r === run && out.trim() !== 'hi') throw new BenchError(`${t.name}: docker run printed ${JSON.stringify(out)}, expected "hi"`)
        r[t.name].push(ms)
        progress(t, what, rep, s.cliRepeats, `${fmt(ms)} ms`)
      }
    }
  }
}

/**
 * Starts a reference proxy (bench/tcp-relay.ts or bench/http-passthrough.ts) on an ephemeral
 * loopback port; stopped (by PID) at cleanup.
 */
async function startReference (name: 'relay' | 'passthrough', script: string, args: string[], upstream: string): Promise<Target> {
  const child = spawn(process.execPath, ['--import', 'tsx', `${ROOT}bench/${script}`, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] })
  cleanups.push(() => { if (child.exitCode === null) child.kill('SIGTERM') })
  const port = await new Promise<number>((resolve, reject) => {
    let out = ''
    child.stdout!.setEncoding('utf8')
    child.stdout!.on('data', (s: string) => {
      out += s
      const m = / listening on (\d+)/.exec(out)
      if (m !== null) resolve(Number(m[1]))
    })
    child.once('exit', (code: number | null) => reject(new BenchError(`bench/${script} exited with ${code ?? 'a signal'} before listening`)))
  })
  log(`${name} (bench/${script}) pid ${child.pid!} on tcp://127.0.0.1:${port} -> ${upstream}`)
  return { name, host: '127.0.0.1', port }
}

async function main (): Promise<void> {
  const s = parseSettings(process.argv.slice(2))
  if (s === null) return
  const started = new Date()
  const t0 = process.hrtime.bigint()
  const loadStart = os.loadavg()
  requireDist()
  const wrkVersion = s.groups.has('http') ? requireWrk() : null
  const cliVersion = s.groups.has('cli') ? requireDockerCli() : null

  const be = acquireEngine()
  cleanups.push(be.release)
  const engine = be.engine
  const direct = directTarget(engine)
  const runId = randomBytes(6).toString('hex')
  cleanups.push(async () => {
    const n = await removeRunContainers(engine, runId)
    if (n > 0) log(`removed ${n} leftover bench containers`)
  })
  const engineVersion = await engineOk(engine, 'GET', '/version')
  log(`engine ${engineVersion.Version as string} (API ${engineVersion.ApiVersion as string}); direct: tcp://${direct.host}:${direct.port}; dockward upstream: ${engine.dockerHost}`)

  // Audit off: these rows measure the proxy alone; the audit group measures the log's cost.
  const dw = await startDockward({ upstream: engine.dockerHost, tcp: true, extraArgs: ['--audit-destination', 'none'] })
  let dwPeakRss: number | null = null
  cleanups.push(async () => { dwPeakRss ??= peakRssMiB(dw.pid); await dw.stop() })
  if (dw.tcpPort === null) throw new BenchError('dockward did not report its TCP port')
  const dockward: Target = { name: 'dockward', host: '127.0.0.1', port: dw.tcpPort }
  for (const t of [direct, dockward]) {
    const r = await call(t, 'GET', '/_ping')
    if (r.status !== 200 || r.body.toString('utf8') !== 'OK') throw new BenchError(`${t.name}: /_ping answered ${r.status} ${r.body.toString('utf8')}`)
  }
  log(`dockward pid ${dw.pid} on tcp://127.0.0.1:${dw.tcpPort} and ${dw.dockerHost}`)
  log(`mode: ${s.quick ? 'quick' : 'full'}; repeats ${s.repeats} (docker CLI rows ${s.cliRepeats}); groups: ${[...s.groups].join(', ')}`)

  const relay = s.relay ? await startReference('relay', 'tcp-relay.ts', [direct.host, String(direct.port)], `tcp://${direct.host}:${direct.port}`) : null
  if (s.relay && engine.socketPath === null) throw new BenchError('--relay: the HTTP pass-through reaches the engine by unix socket, as dockward does; name the engine by a unix:// path')
  const passthrough = s.relay ? await startReference('passthrough', 'http-passthrough.ts', [engine.socketPath!], engine.dockerHost) : null
  const ctx: Ctx = { s, engine, direct, dockward, relay, passthrough, dw, runId }
  const steps: Array<[Group, (c: Ctx) => Promise<void>]> = [['http', httpRows], ['audit', auditRows], ['tenancy', tenancyRows], ['create', createRows], ['logs', logRows], ['exec', execRows], ['cli', cliRows]]
  for (const [group, fn] of steps) {
    if (!s.groups.has(group)) continue
    log(`\n== ${group}`)
    await fn(ctx)
  }
  dwPeakRss = peakRssMiB(dw.pid)
  await runCleanups()
  const durationSec = elapsedSec(t0)

  const evaluated = rows.filter((r) => r.direct.length > 0).map((r) => ({ r, e: evaluate(r) }))
  const miss = evaluated.filter(({ e }) => e.result === 'MISS').length
  const pass = evaluated.filter(({ e }) => e.result === 'PASS').length
  const results = {
    version: 1,
    startedAt: started.toISOString(),
    durationSec: Math.round(durationSec),
    mode: s.quick ? 'quick' : 'full',
    settings: { ...s, groups: [...s.groups] },
    machine: { cpus: os.cpus().length, loadavgStart: loadStart, loadavgEnd: os.loadavg(), node: process.version, platform: `${os.type()} ${os.release()}` },
    engine: { version: engineVersion.Version, apiVersion: engineVersion.ApiVersion, dockerHost: engine.dockerHost, tcp: engine.tcp, startedHere: be.started },
    dockward: { upstream: engine.dockerHost, peakRssMiB: dwPeakRss },
    tools: { wrk: wrkVersion, dockerCli: cliVersion },
    rows: evaluated.map(({ r, e }) => ({
      id: r.id,
      label: r.label,
      unit: r.unit,
      better: r.better,
      direct: { median: e.direct, samples: r.direct },
      dockward: { median: e.dockward, samples: r.dockward },
      ...(r.relay.length === 0 ? {} : { relay: { median: median(r.relay), samples: r.relay, ratio: median(r.relay) / e.direct } }),
      ...(r.passthrough.length === 0 ? {} : { passthrough: { median: median(r.passthrough), samples: r.passthrough, ratio: median(r.passthrough) / e.direct } }),
      ratio: e.ratio,
      dockwardCpu: r.cpuUnit === null ? null : { unit: r.cpuUnit, median: median(r.cpu), samples: r.cpu },
      target: r.target === null ? null : 'min' in r.target ? { op: '>=', value: r.target.min } : { op: '<=', value: r.target.max },
      result: e.result,
      notes: r.notes
    })),
    summary: { pass, miss }
  }
  mkdirSync(dirname(s.out), { recursive: true })
  writeFileSync(s.out, `${JSON.stringify(results, null, 2)}\n`)

  const out = [
    '',
    `dockward benchmark (${s.quick ? 'QUICK smoke run' : 'full run'}): engine ${engineVersion.Version as string}, ${os.cpus().length} CPUs, load ${loadStart.map((l) => l.toFixed(2)).join(' ')} -> ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`,
    `direct = engine's own TCP listener; dockward = dockward on loopback TCP, upstream the engine's unix socket; medians of ${s.repeats} (CLI rows: ${s.cliRepeats})`,
    '',
    table(),
    ''
  ]
  const cpuRows = evaluated.filter(({ r }) => r.cpuUnit !== null && r.cpu.length > 0)
  if (cpuRows.length > 0) {
    out.push('dockward\'s own CPU (user+sys from /proc, median of its runs):')
    for (const { r } of cpuRows) out.push(`  ${`${r.label}:`.padEnd(34)} ${fmt(median(r.cpu))} ${r.cpuUnit!}`)
    out.push('')
  }
  for (const { r } of evaluated) for (const n of r.notes) out.push(`note: ${r.label}: ${n}`)
  out.push(`${pass} PASS, ${miss} MISS; dockward peak RSS ${dwPeakRss === null ? '?' : `${dwPeakRss.toFixed(0)} MiB`}; run took ${durationSec.toFixed(0)} s; results in ${s.out}`)
  process.stdout.write(`${out.join('\n')}\n`)
}

main().catch(async (err: unknown) => {
  log(err instanceof BenchError ? `bench: ${err.message}` : `bench: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`)
  await runCleanups()
  process.exit(1)
})
