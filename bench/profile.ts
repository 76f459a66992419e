// CPU profile of dockward under HTTP load: starts dockward with --cpu-prof, drives one endpoint
// with wrk (default GET /_ping, 32 keep-alive connections), stops dockward with SIGTERM (the profile
// is written at exit) and prints the functions with the most self time during the load phase.
//
//   node --import tsx bench/profile.ts [--path /_ping] [--seconds 10] [--top 25]
import { copyFileSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { startDockward } from '../test/support/dockward.ts'
import { selfTimes, type CpuProfile } from './cpuprofile.ts'
import { acquireEngine, BenchError, cpuSeconds, fmt, log, requireDist, requireWrk, ROOT, runWrk, tempDir, type Target, type WrkResult } from './support.ts'

const USAGE = `Usage: node --import tsx bench/profile.ts [options]

  --path PATH        Request path to load (default /_ping)
  --seconds N        Length of the profiled load phase (default 10)
  --connections N    wrk keep-alive connections (default 32)
  --interval US      V8 sampling interval in microseconds (default 250)
  --top N            How many functions to list (default 25)
  --audit DEST       dockward's --audit-destination (default none, as the bench's main rows; a file
                     path or stdout shows what the audit log adds)
  --out DIR          Where to put the .cpuprofile and the summary JSON (default bench/results)
`

async function main (): Promise<void> {
  let v
  try {
    v = parseArgs({
      args: process.argv.slice(2),
      strict: true,
      options: {
        path: { type: 'string' },
        seconds: { type: 'string' },
        connections: { type: 'string' },
        interval: { type: 'string' },
        top: { type: 'string' },
        audit: { type: 'string' },
        out: { type: 'string' },
        help: { type: 'boolean', short: 'h' }
      }
    }).values
  } catch (err) {
    throw new BenchError(`${(err as Error).message}\n\n${USAGE}`)
  }
  if (v.help === true) { process.stdout.write(USAGE); return }
  const path = v.path ?? '/_ping'
  const seconds = Number(v.seconds ?? 10)
  const connections = Number(v.connections ?? 32)
  const interval = Number(v.interval ?? 250)
  const top = Number(v.top ?? 25)
  const outDir = resolve(v.out ?? `${ROOT}bench/results`)
  requireDist()
  requireWrk()

  const be = acquireEngine()
  const profDir = tempDir('dw-prof.')
  try {
    const dw = await startDockward({
      upstream: be.engine.dockerHost,
      tcp: true,
      extraArgs: ['--audit-destination', v.audit ?? 'none'],
      nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${profDir.path}`, `--cpu-prof-interval=${interval}`]
    })
    let loaded: WrkResult
    let window: [number, number]
    let cpu: number
    try {
      const target: Target = { name: 'dockward', host: '127.0.0.1', port: dw.tcpPort! }
      log(`dockward pid ${dw.pid}: warming up, then ${seconds} s of wrk -c${connections} on GET ${path}`)
      await runWrk(target, path, { connections, threads: 1, seconds: 2 })
      const cpu0 = cpuSeconds(dw.pid)
      const from = Number(process.hrtime.bigint() / 1000n)
      loaded = await runWrk(target, path, { connections, threads: 1, seconds })
      const to = Number(process.hrtime.bigint() / 1000n)
      cpu = cpuSeconds(dw.pid) - cpu0
      window = [from, to]
      log(`${fmt(loaded.rps)} req/s, p50 ${fmt(loaded.p50ms)} ms, p99 ${fmt(loaded.p99ms)} ms; dockward used ${cpu.toFixed(2)} CPU s ` +
        `= ${fmt(cpu * 1e6 / loaded.requests)} us CPU per request`)
    } finally {
      await dw.stop()
    }
    const stopped = /SIGTERM: shutting down/.test(dw.stderr())
    const files = readdirSync(profDir.path).filter((f) => f.endsWith('.cpuprofile'))
    if (files.length === 0) {
      throw new BenchError(`dockward wrote no .cpuprofile on exit (${stopped ? 'it did handle SIGTERM' : 'it did not log a SIGTERM shutdown; it was probably killed'})`)
    }
    log(`profile written on SIGTERM exit: ${files[0]!}`)
    const profile = JSON.parse(readFileSync(join(profDir.path, files[0]!), 'utf8')) as CpuProfile
    // V8's profile clock and process.hrtime are both CLOCK_MONOTONIC, so the load window can be cut out.
    let st = selfTimes(profile, window[0], window[1])
    let scope = 'load phase only'
    if (st.samples === 0) { st = selfTimes(profile, null, null); scope = 'whole process lifetime (the load window matched no samples)' }
    const busy = st.rows.filter((r) => r.name !== '(idle)').reduce((a, r) => a + r.selfMs, 0)

    const modules = new Map<string, number>()
    for (const r of st.rows) modules.set(r.module, (modules.get(r.module) ?? 0) + r.selfMs)

    const lines: string[] = []
    lines.push('', `dockward CPU profile, GET ${path}, ${connections} connections, ${seconds} s (${scope}; ${st.samples} samples every ${interval} us)`)
    lines.push(`${fmt(loaded.rps)} req/s; ${fmt(cpu * 1e6 / loaded.requests)} us of dockward CPU (user+sys, from /proc) per request; ` +
      `profiled JS-thread time ${fmt(st.totalMs)} ms, of it not idle ${fmt(busy)} ms`)
    lines.push('', 'self ms   % busy  function (location)')
    for (const r of st.rows.slice(0, top)) {
      lines.push(`${fmt(r.selfMs).padStart(7)}  ${(r.name === '(idle)' ? '-' : (100 * r.selfMs / busy).toFixed(1)).padStart(6)}  ${r.name}${r.where === '' ? '' : ` (${r.where})`}`)
    }
    lines.push('', 'self ms   % busy  by module')
    for (const [m, ms] of [...modules.entries()].sort((a, b) => b[1] - a[1]).slice(0, 15)) {
      lines.push(`${fmt(ms).padStart(7)}  ${(m === '(idle)' ? '-' : (100 * ms / busy).toFixed(1)).padStart(6)}  ${m}`)
    }
    mkdirSync(outDir, { recursive: true })
    const slug = path.replace(/[^A-Za-z0-9]+/g, '-').replace(/^-|-$/g, '') || 'root'
    const copy = join(outDir, `profile-${slug}.cpuprofile`)
    copyFileSync(join(profDir.path, files[0]!), copy)
    writeFileSync(join(outDir, `profile-${slug}.json`), `${JSON.stringify({
      path, connections, seconds, interval, wrk: loaded, cpuSeconds: cpu, cpuUsPerRequest: cpu * 1e6 / loaded.requests,
      scope, samples: st.samples, busyMs: busy, top: st.rows.slice(0, 100), modules: Object.fromEntries(modules)
    }, null, 2)}\n`)
    lines.push('', `profile: ${copy} (open in Chrome DevTools > Performance, or speedscope)`)
    process.stdout.write(`${lines.join('\n')}\n`)
  } finally {
    profDir.remove()
    be.release()
  }
}

main().catch((err: unknown) => {
  log(err instanceof BenchError ? `profile: ${err.message}` : `profile: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`)
  process.exit(1)
})
