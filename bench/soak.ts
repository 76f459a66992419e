// Long-form reliability run, not part of CI: many idle hijacked sessions and open event streams
// through one dockward (its RSS and file descriptors before, with them open, and after they
// close), and a slow reader on a large `logs -f` stream (dockward's RSS must stay bounded).
//   npm run soak                               1,000 attach sessions, 1,000 event streams, 1 GiB of logs
//   node --import tsx bench/soak.ts --quick    100 of each and 64 MiB (under a minute)
// Uses the engine named by DOCKWARD_TEST_DOCKER_HOST, or starts one (bench/support.ts).
import { execFileSync } from 'node:child_process'
import { readdirSync, readlinkSync } from 'node:fs'
import http from 'node:http'
import net from 'node:net'
import { parseArgs } from 'node:util'
import { engineRequest, type TestEngine } from '../test/support/engine.ts'
import { startDockward, type RunningDockward } from '../test/support/dockward.ts'
import { removeContainer, rssKiB, runContainer, uniqueName } from '../test/support/cli.ts'
import { fdCount, settledCount } from '../test/support/proc.ts'
import { acquireEngine, BenchError, elapsedSec, fmt, log, requireDist } from './support.ts'

const USAGE = `Usage: node --import tsx bench/soak.ts [--quick] [--sessions N] [--streams N] [--log-mib N]

  --quick        100 sessions, 100 event streams, 64 MiB of logs (under a minute)
  --sessions N   idle hijacked attach sessions held open at once (default 1000)
  --streams N    event streams held open at once (default 1000)
  --log-mib N    size of the logs stream read by the slow reader (default 1024)
`

interface Settings { sessions: number, streams: number, logBytes: number, readRate: number }

function settings (): Settings | null {
  const { values: v } = parseArgs({
    options: {
      quick: { type: 'boolean' },
      sessions: { type: 'string' },
      streams: { type: 'string' },
      'log-mib': { type: 'string' },
      help: { type: 'boolean', short: 'h' }
    }
  })
  if (v.help === true) { process.stdout.write(USAGE); return null }
  const quick = v.quick === true
  const count = (s: string | undefined, fallback: number): number => {
    if (s === undefined) return fallback
    if (!/^[1-9][0-9]*$/.test(s)) throw new BenchError(`expected a positive number, not ${JSON.stringify(s)}\n\n${USAGE}`)
    return Number(s)
  }
  return {
    sessions: count(v.sessions, quick ? 100 : 1000),
    streams: count(v.streams, quick ? 100 : 1000),
    logBytes: count(v['log-mib'], quick ? 64 : 1024) * 1024 * 1024,
    // Slower than the engine writes, so the stream backs up in front of the reader.
    readRate: (quick ? 16 : 32) * 1024 * 1024
  }
}

/** One row of the table: a count of streams held open and what dockward used for them. */
interface Row {
  readonly what: string
  readonly n: number
  readonly rssBefore: number
  readonly rssOpen: number
  readonly rssAfter: number
  readonly fdsBefore: number
  readonly fdsOpen: number
  readonly fdsAfter: number
  /** Client connections still open after the clients closed theirs: must be 0. */
  readonly clientsAfter: number
  /** Connections to the engine kept after: the keep-alive pool of ordinary requests (lookups). */
  readonly engineAfter: number
}

/** Runs `open` for 0..n-1 with at most `width` at a time. */
async function openAll<T> (n: number, width: number, open: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = new Array(n)
  let next = 0
  await Promise.all(Array.from({ length: Math.min(width, n) }, async () => {
    while (next < n) {
      const i = next++
      out[i] = await open(i)
    }
  }))
  return out
}

/** An attach session through dockward's unix socket, idle once the engine switched protocols. */
function attach (socketPath: string, id: string): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect(socketPath)
    let head = ''
    s.setEncoding('latin1')
    const onData = (chunk: string): void => {
      head += chunk
      if (!head.includes('\r\n\r\n')) return
      s.removeListener('data', onData)
      if (!head.startsWith('HTTP/1.1 101 ')) { s.destroy(); reject(new BenchError(`attach ${id}: ${head.split('\r\n')[0] ?? ''}`)); return }
      resolve(s)
    }
    s.on('data', onData)
    s.on('error', reject)
    s.write(`POST /containers/${id}/attach?stream=1&stdout=1&stderr=1 HTTP/1.1\r\nHost: soak\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n`)
  })
}

/** An event stream through dockward, open once its head arrived. */
function events (socketPath: string): Promise<http.ClientRequest> {
  return new Promise((resolve, reject) => {
    const req = http.get({ socketPath, path: '/events', agent: false }, (res) => {
      if (res.statusCode !== 200) { reject(new BenchError(`events: ${res.statusCode ?? 0}`)); return }
      res.resume()
      res.on('error', () => {})
      resolve(req)
    })
    req.on('error', reject)
  })
}

/** Holds `n` streams open, measures dockward with them, closes them and measures again. */
async function hold (dw: RunningDockward, engineSocket: string, what: string, n: number, open: (i: number) => Promise<{ destroy: () => unknown }>): Promise<Row> {
  const rssBefore = rss(dw.pid)
  const fdsBefore = fdCount(dw.pid)
  log(`${what}: opening ${n}`)
  const started = process.hrtime.bigint()
  const streams = await openAll(n, 50, open)
  log(`${what}: ${n} open in ${fmt(elapsedSec(started))} s`)
  // Let allocation settle before reading RSS.
  await new Promise((resolve) => setTimeout(resolve, 1000))
  const rssOpen = rss(dw.pid)
  const fdsOpen = fdCount(dw.pid)
  for (const s of streams) s.destroy()
  await settledCount(() => connections(dw, engineSocket).clients, 0, 30_000)
  // The engine side of each closes a moment after its client: wait until the count holds still.
  for (let last = -1, same = 0, end = Date.now() + 30_000; same < 4 && Date.now() < end;) {
    await new Promise((resolve) => setTimeout(resolve, 250))
    const now = fdCount(dw.pid)
    same = now === last ? same + 1 : 0
    last = now
  }
  const { clients, engine } = connections(dw, engineSocket)
  return { what, n, rssBefore, rssOpen, rssAfter: rss(dw.pid), fdsBefore, fdsOpen, fdsAfter: fdCount(dw.pid), clientsAfter: clients, engineAfter: engine }
}

/**
 * dockward's unix socket connections by what is at the other end, from `ss -xan` and /proc:
 * clients (accepted on its own socket) and the engine (pooled and hijacked connections).
 */
function connections (dw: RunningDockward, engineSocket: string): { clients: number, engine: number } {
  const local = new Map<string, { path: string, peer: string }>()
  for (const line of execFileSync('ss', ['-xan'], { encoding: 'utf8' }).split('\n').slice(1)) {
    const f = line.trim().split(/\s+/)
    // The listening socket has the same path as accepted ones; it is no connection.
    if (f.length >= 8 && f[1] !== 'LISTEN') local.set(f[5]!, { path: f[4]!, peer: f[7]! })
  }
  let clients = 0
  let engine = 0
  for (const fd of readdirSync(`/proc/${dw.pid}/fd`)) {
    let target = ''
    try { target = readlinkSync(`/proc/${dw.pid}/fd/${fd}`) } catch { continue }
    const inode = /^socket:\[(\d+)\]$/.exec(target)?.[1]
    const mine = inode === undefined ? undefined : local.get(inode)
    if (mine === undefined) continue
    if (mine.path === dw.socketPath) clients++
    else if (local.get(mine.peer)?.path === engineSocket) engine++
  }
  return { clients, engine }
}

function rss (pid: number): number {
  const kib = rssKiB(pid)
  if (kib === null) throw new BenchError(`dockward (pid ${pid}) is gone`)
  return kib
}

/** Reads a `logs -f` stream at `rate` bytes/s, sampling dockward's RSS as it goes. */
async function slowReader (dw: RunningDockward, id: string, bytes: number, rate: number): Promise<{ read: number, seconds: number, rssBefore: number, rssMax: number, rssAfter: number }> {
  const rssBefore = rss(dw.pid)
  let rssMax = rssBefore
  const sampler = setInterval(() => { rssMax = Math.max(rssMax, rssKiB(dw.pid) ?? 0) }, 100)
  const started = process.hrtime.bigint()
  const read = await new Promise<number>((resolve, reject) => {
    http.get({ socketPath: dw.socketPath, path: `/containers/${id}/logs?follow=1&stdout=1`, agent: false }, (res) => {
      let got = 0
      res.on('data', (c: Buffer) => {
        got += c.length
        // Ahead of the rate: stop reading until the clock catches up.
        const due = got / rate - elapsedSec(started)
        if (due > 0.005) {
          res.pause()
          setTimeout(() => res.resume(), due * 1000)
        }
      })
      res.on('end', () => resolve(got))
      res.on('error', reject)
    }).on('error', reject)
  })
  clearInterval(sampler)
  if (read < bytes) throw new BenchError(`logs: read ${read} of ${bytes} bytes`)
  return { read, seconds: elapsedSec(started), rssBefore, rssMax, rssAfter: rss(dw.pid) }
}

async function main (): Promise<void> {
  const s = settings()
  if (s === null) return
  requireDist()
  const be = acquireEngine()
  const engine: TestEngine = be.engine
  const names: string[] = []
  let dw: RunningDockward | null = null
  try {
    dw = await startDockward({ upstream: engine.dockerHost, extraArgs: ['--audit-destination', 'none'] })
    log(`dockward pid ${dw.pid} on ${dw.dockerHost}`)
    // Attach sessions spread over a few nearly silent containers. They write a byte every few
    // seconds: a client that closes a session without stdin is noticed at the engine's next write,
    // by the engine on its own socket as by dockward, so a container that never writes would keep
    // closed sessions open in both.
    const targets: string[] = []
    for (let i = 0; i < 10; i++) {
      const name = uniqueName('dw-soak')
      names.push(name)
      targets.push(await runContainer(engine, { name, cmd: ['sh', '-c', 'while true; do sleep 4; echo .; done'] }))
    }
    const logName = uniqueName('dw-soak-logs')
    names.push(logName)
    // Lines of 16000 bytes, one json-file entry each (as in bench/run.ts's logs row).
    const logId = await runContainer(engine, { name: logName, cmd: ['sh', '-c', `yes "$(head -c 16000 /dev/zero | tr '\\0' x)" | head -c ${s.logBytes}`] })
    // Warm-up: the upstream pool and Node's lazily made handles are in every baseline.
    for (let i = 0; i < 5; i++) await engineRequest({ ...engine, socketPath: dw.socketPath, dockerHost: dw.dockerHost }, 'GET', '/_ping')

    const sock = dw.socketPath
    const engineSocket = engine.socketPath
    if (engineSocket === null) throw new BenchError('the soak counts connections by unix socket; name the engine by unix:// path')
    const rows = [
      await hold(dw, engineSocket, 'attach sessions (idle)', s.sessions, async (i) => await attach(sock, targets[i % targets.length]!)),
      await hold(dw, engineSocket, 'event streams', s.streams, async () => await events(sock))
    ]
    log(`slow reader: ${s.logBytes / 1024 / 1024} MiB of logs at ${s.readRate / 1024 / 1024} MiB/s`)
    const slow = await slowReader(dw, logId, s.logBytes, s.readRate)

    const out: string[] = []
    out.push('', `dockward soak (${new Date().toISOString()}, node ${process.version})`, '')
    const header = ['', 'open', 'RSS before MiB', 'RSS open MiB', 'KiB per stream', 'fds before', 'fds open', 'fds per stream', 'fds after close', 'clients left', 'engine pool', 'RSS after MiB']
    const cells = rows.map((r) => [
      r.what, String(r.n), fmt(r.rssBefore / 1024), fmt(r.rssOpen / 1024), fmt((r.rssOpen - r.rssBefore) / r.n),
      String(r.fdsBefore), String(r.fdsOpen), fmt((r.fdsOpen - r.fdsBefore) / r.n), String(r.fdsAfter), String(r.clientsAfter), String(r.engineAfter), fmt(r.rssAfter / 1024)
    ])
    out.push(...renderTable([header, ...cells]))
    out.push('', ...renderTable([
      ['', 'MiB read', 'seconds', 'MiB/s', 'RSS before MiB', 'RSS max MiB', 'RSS growth MiB', 'RSS after MiB'],
      ['slow reader, logs -f', fmt(slow.read / 1024 / 1024), fmt(slow.seconds), fmt(slow.read / 1024 / 1024 / slow.seconds),
        fmt(slow.rssBefore / 1024), fmt(slow.rssMax / 1024), fmt((slow.rssMax - slow.rssBefore) / 1024), fmt(slow.rssAfter / 1024)]
    ]))
    // What stays is the engine pool: keep-alive connections of the lookups made while opening.
    const leaked = rows.filter((r) => r.clientsAfter > 0 || r.fdsAfter > r.fdsBefore + r.engineAfter)
    out.push('', 'RSS is sampled without forcing a garbage collection: per-stream figures are meaningful at full size, noisy in --quick',
      'engine pool: keep-alive connections to the engine kept for reuse after the lookups the opening made',
      leaked.length === 0 ? 'no client connection and no other descriptor was left after the streams closed' : `LEAK: ${leaked.map((r) => `${r.what}: ${r.clientsAfter} client connection(s) left, fds ${r.fdsBefore} -> ${r.fdsAfter}`).join('; ')}`)
    process.stdout.write(`${out.join('\n')}\n`)
    if (leaked.length > 0) process.exitCode = 1
  } finally {
    await dw?.stop()
    for (const name of names) await removeContainer(engine, name).catch(() => {})
    be.release()
  }
}

function renderTable (rows: string[][]): string[] {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)))
  return rows.map((r) => r.map((c, i) => i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!)).join('  '))
}

main().catch((err: unknown) => {
  process.stderr.write(`soak: ${err instanceof BenchError ? err.message : err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`)
  process.exitCode = 1
})
