// Shared pieces of the benchmark scripts: the engine, the load tool (wrk), plain HTTP and
// hijacked requests to a target over loopback TCP, and small statistics helpers.
import { spawn, spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import http, { type IncomingHttpHeaders } from 'node:http'
import type { Socket } from 'node:net'
import { fileURLToPath } from 'node:url'
import { testEngine, type TestEngine } from '../test/support/engine.ts'
import { MAIN } from '../test/support/dockward.ts'

export const ROOT = fileURLToPath(new URL('..', import.meta.url))
const ENGINE_SH = fileURLToPath(new URL('../scripts/engine.sh', import.meta.url))

/** A failure the user can act on: printed without a stack. */
export class BenchError extends Error {}

/** An HTTP endpoint on loopback TCP: the engine's own listener (direct), dockward's, or the bare relay's. */
export interface Target {
  readonly name: 'direct' | 'dockward' | 'relay' | 'passthrough'
  readonly host: string
  readonly port: number
  /** Extra request headers (`Name: value`), e.g. a tenant's token. */
  readonly headers?: readonly string[]
}

export function log (message: string): void {
  process.stderr.write(`${message}\n`)
}

// ---------------------------------------------------------------------------------------------
// Preconditions

/** wrk is the one load tool for both targets; the bench installs nothing itself. */
export function requireWrk (): string {
  const r = spawnSync('wrk', ['--version'], { encoding: 'utf8' })
  if (r.error !== undefined) {
    throw new BenchError('wrk is not installed (or not on PATH); the benchmark uses it as its HTTP load tool.\n' +
      '  Debian/Ubuntu: apt-get install -y wrk   (then run the benchmark again)')
  }
  const m = /wrk\s+(\S+)/.exec(`${r.stdout}${r.stderr}`)
  return m?.[1] ?? 'unknown'
}

export function requireDist (): void {
  if (!existsSync(MAIN)) throw new BenchError(`${MAIN} is missing: run \`npm run build\` first (or \`npm run bench\`, which builds)`)
}

export const DOCKER_CLI = existsSync('/usr/local/bin/docker') ? '/usr/local/bin/docker' : 'docker'

export function requireDockerCli (): string {
  const r = spawnSync(DOCKER_CLI, ['version', '--format', '{{.Client.Version}}'], { encoding: 'utf8', env: cliEnv(null) })
  if (r.error !== undefined) throw new BenchError(`docker CLI not found (${DOCKER_CLI}); it is needed for the docker ps / docker run rows`)
  return r.stdout.trim().split('\n')[0] ?? 'unknown'
}

/** Environment for the docker CLI: no inherited host or context, a private config dir. */
export function cliEnv (configDir: string | null): NodeJS.ProcessEnv {
  const env = { ...process.env }
  delete env['DOCKER_HOST']
  delete env['DOCKER_CONTEXT']
  delete env['DOCKER_TLS_VERIFY']
  delete env['DOCKER_CERT_PATH']
  if (configDir !== null) env['DOCKER_CONFIG'] = configDir
  return env
}

// ---------------------------------------------------------------------------------------------
// Engine

export interface BenchEngine {
  readonly engine: TestEngine
  /** True when this process started the engine (and `release` stops it). */
  readonly started: boolean
  readonly release: () => void
}

/**
 * The engine named by DOCKWARD_TEST_DOCKER_HOST (and DOCKWARD_TEST_ENGINE_TCP), or a private one
 * started with `scripts/engine.sh up DIR` and stopped by `release` with `scripts/engine.sh down DIR`.
 */
export function acquireEngine (): BenchEngine {
  const named = testEngine()
  if (named !== null) return { engine: named, started: false, release: () => {} }
  const dir = mkdtempSync('/tmp/dw-engine.')
  log(`no DOCKWARD_TEST_DOCKER_HOST: starting an engine with scripts/engine.sh up ${dir}`)
  const up = spawnSync('bash', [ENGINE_SH, 'up', dir], { stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8' })
  let released = false
  const release = (): void => {
    if (released) return
    released = true
    log(`stopping the engine: scripts/engine.sh down ${dir}`)
    spawnSync('bash', [ENGINE_SH, 'down', dir], { stdio: ['ignore', 'inherit', 'inherit'] })
  }
  if (up.status !== 0) {
    release()
    throw new BenchError(`scripts/engine.sh up ${dir} failed (exit ${up.status ?? up.signal}); see its messages above`)
  }
  for (const line of readFileSync(`${dir}/env`, 'utf8').split('\n')) {
    const m = /^([A-Z0-9_]+)=(.*)$/.exec(line)
    if (m !== null) process.env[m[1]!] = m[2]!
  }
  const engine = testEngine()
  if (engine === null) { release(); throw new BenchError(`${dir}/env names no engine`) }
  return { engine, started: true, release }
}

/** The engine's own plain-HTTP TCP listener: the baseline every row is compared with. */
export function directTarget (engine: TestEngine): Target {
  if (engine.tcp === null) {
    throw new BenchError('the engine has no plain-HTTP TCP listener (DOCKWARD_TEST_ENGINE_TCP); the baseline needs one. ' +
      'Unset DOCKWARD_TEST_DOCKER_HOST to let scripts/engine.sh start an engine with one.')
  }
  const url = new URL(engine.tcp.replace(/^tcp:\/\//, 'http://'))
  return { name: 'direct', host: url.hostname.replace(/^\[|\]$/g, ''), port: Number(url.port || 2375) }
}

// ---------------------------------------------------------------------------------------------
// wrk

export interface WrkResult {
  readonly rps: number
  readonly p50ms: number
  readonly p99ms: number
  readonly requests: number
  readonly non2xx: number
  readonly socketErrors: number
}

export async function runWrk (target: Target, path: string, o: { connections: number, threads: number, seconds: number }): Promise<WrkResult> {
  const url = `http://${target.host}:${target.port}${path}`
  const args = [`-t${o.threads}`, `-c${o.connections}`, `-d${o.seconds}s`, '--latency', ...(target.headers ?? []).flatMap((h) => ['-H', h]), url]
  const out = await capture('wrk', args, (o.seconds + 30) * 1000)
  return parseWrk(out)
}

export function parseWrk (out: string): WrkResult {
  const num = (re: RegExp): number | null => {
    const m = re.exec(out)
    return m === null ? null : Number(m[1])
  }
  const rps = num(/Requests\/sec:\s+([\d.]+)/)
  const p50 = latencyMs(out, '50')
  const p99 = latencyMs(out, '99')
  if (rps === null || p50 === null || p99 === null) throw new BenchError(`could not parse wrk output:\n${out}`)
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out)
  const socketErrors = sock === null ? 0 : sock.slice(1).reduce((a, b) => a + Number(b), 0)
  return { rps, p50ms: p50, p99ms: p99, requests: num(/(\d+) requests in/) ?? 0, non2xx: num(/Non-2xx or 3xx responses: (\d+)/) ?? 0, socketErrors }
}

function latencyMs (out: string, pct: string): number | null {
  const m = new RegExp(`^\\s*${pct}%\\s+([\\d.]+)(us|ms|s|m)\\s*$`, 'm').exec(out)
  if (m === null) return null
  const scale: Record<string, number> = { us: 0.001, ms: 1, s: 1000, m: 60_000 }
  return Number(m[1]) * scale[m[2]!]!
}

/** Runs a command and returns its stdout; fails on a non-zero exit or after `timeoutMs`. */
export function capture (cmd: string, args: readonly string[], timeoutMs: number, env?: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env: env ?? process.env })
    let out = ''
    let err = ''
    child.stdout.setEncoding('utf8').on('data', (s: string) => { out += s })
    child.stderr.setEncoding('utf8').on('data', (s: string) => { err += s })
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
    child.on('error', (e) => { clearTimeout(timer); reject(e) })
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      if (code === 0) resolve(out)
      else reject(new BenchError(`${cmd} ${args.join(' ')} failed (${code ?? signal}):\n${err}${out}`))
    })
  })
}

// ---------------------------------------------------------------------------------------------
// HTTP to a target

export interface Reply { status: number, headers: IncomingHttpHeaders, body: Buffer, json: any }

/** One request to a target over loopback TCP; the agent decides whether the connection is reused. */
export function call (target: Target, method: string, path: string, body?: unknown, agent: http.Agent | false = false): Promise<Reply> {
  const data = body === undefined ? null : Buffer.from(JSON.stringify(body))
  const headers: Record<string, string | number> = {}
  for (const h of target.headers ?? []) {
    const colon = h.indexOf(':')
    headers[h.slice(0, colon)] = h.slice(colon + 1).trim()
  }
  if (data !== null) { headers['Content-Type'] = 'application/json'; headers['Content-Length'] = data.length }
  return new Promise((resolve, reject) => {
    const req = http.request({ host: target.host, port: target.port, method, path, headers, agent }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('error', reject)
      res.on('end', () => {
        const buf = Buffer.concat(chunks)
        let json: any
        if (/json/.test(res.headers['content-type'] ?? '') && buf.length > 0) {
          try { json = JSON.parse(buf.toString('utf8')) } catch { json = undefined }
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: buf, json })
      })
    })
    req.on('error', reject)
    req.end(data ?? undefined)
  })
}

export async function callOk (target: Target, method: string, path: string, body?: unknown, agent: http.Agent | false = false): Promise<Reply> {
  const r = await call(target, method, path, body, agent)
  if (r.status < 200 || r.status > 299) {
    throw new BenchError(`${target.name}: ${method} ${path} -> ${r.status} ${r.body.toString('utf8').slice(0, 300)}`)
  }
  return r
}

/** Streams a GET response body, counting bytes without keeping them. */
export function download (target: Target, path: string): Promise<{ status: number, bytes: number }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: target.host, port: target.port, method: 'GET', path, agent: false }, (res) => {
      let bytes = 0
      res.on('data', (c: Buffer) => { bytes += c.length })
      res.on('error', reject)
      res.on('end', () => resolve({ status: res.statusCode ?? 0, bytes }))
    })
    req.on('error', reject)
    req.end()
  })
}

/**
 * Sends a hijacking request (`Connection: Upgrade`, `Upgrade: tcp`) and resolves with the raw
 * socket once the server answered 101, plus any stream bytes that arrived with the head.
 */
export function hijack (target: Target, path: string, body: unknown): Promise<{ socket: Socket, head: Buffer }> {
  const data = Buffer.from(JSON.stringify(body))
  return new Promise((resolve, reject) => {
    const req = http.request({
      host: target.host,
      port: target.port,
      method: 'POST',
      path,
      agent: false,
      headers: { 'Content-Type': 'application/json', 'Content-Length': data.length, Connection: 'Upgrade', Upgrade: 'tcp' }
    })
    req.on('upgrade', (res, socket: Socket, head: Buffer) => {
      if (res.statusCode !== 101) { socket.destroy(); reject(new BenchError(`${target.name}: ${path} upgrade answered ${res.statusCode}`)); return }
      resolve({ socket, head })
    })
    req.on('response', (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => reject(new BenchError(`${target.name}: ${path} was not upgraded: ${res.statusCode} ${Buffer.concat(chunks).toString('utf8').slice(0, 300)}`)))
    })
    req.on('error', reject)
    req.end(data)
  })
}

/** Payloads of one stream (1 = stdout, 2 = stderr) in a multiplexed (non-TTY) attach stream. */
export function demux (buf: Buffer, stream: number): Buffer {
  const parts: Buffer[] = []
  let i = 0
  while (i + 8 <= buf.length) {
    const size = buf.readUInt32BE(i + 4)
    if (buf[i] === stream) parts.push(buf.subarray(i + 8, i + 8 + size))
    i += 8 + size
  }
  return Buffer.concat(parts)
}

// ---------------------------------------------------------------------------------------------
// Statistics and formatting

export function median (xs: readonly number[]): number {
  if (xs.length === 0) return Number.NaN
  const s = [...xs].sort((a, b) => a - b)
  const mid = Math.floor(s.length / 2)
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2
}

/** Three significant digits, no exponent: 31256, 412, 1.23, 0.0457. */
export function fmt (x: number): string {
  if (!Number.isFinite(x)) return '-'
  const a = Math.abs(x)
  if (a >= 1000) return Math.round(x).toString()
  if (a >= 100) return x.toFixed(0)
  if (a >= 10) return x.toFixed(1)
  if (a >= 1) return x.toFixed(2)
  return x.toPrecision(3)
}

export function elapsedSec (start: bigint): number {
  return Number(process.hrtime.bigint() - start) / 1e9
}

export function tempDir (prefix: string): { path: string, remove: () => void } {
  const path = mkdtempSync(`/tmp/${prefix}`)
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) }
}

/** Peak resident set size of a process in MiB (VmHWM), or null when it cannot be read. */
export function peakRssMiB (pid: number): number | null {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
    return m === null ? null : Number(m[1]) / 1024
  } catch {
    return null
  }
}

/** CPU seconds (user + system) a process has used so far, from /proc/PID/stat (10 ms resolution). */
export function cpuSeconds (pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  // utime and stime are fields 14 and 15; comm (field 2) may hold spaces, so count from its ')'.
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return (Number(f[11]) + Number(f[12])) / 100
}
