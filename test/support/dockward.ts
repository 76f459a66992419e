import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

/** A dockward process started from the built `dist/main.js`, the way users run it. */
export interface RunningDockward {
  readonly pid: number
  /** The unix socket dockward listens on. */
  readonly socketPath: string
  /** `unix://...` for DOCKER_HOST / `docker -H`. */
  readonly dockerHost: string
  /** The loopback TCP port, when `tcp: true` was asked for. */
  readonly tcpPort: number | null
  /** The port of the first `tls://` listener, when the config has one. */
  readonly tlsPort: number | null
  /** The admin API's loopback TCP port, when it listens on one. */
  readonly adminPort: number | null
  /** Everything dockward printed on stderr so far. */
  stderr: () => string
  /** Settles when the process exits: its exit code, or the signal that ended it. */
  readonly exited: Promise<{ code: number | null, signal: NodeJS.Signals | null }>
  stop: () => Promise<void>
}

export const MAIN = fileURLToPath(new URL('../../dist/main.js', import.meta.url))

export interface StartOptions {
  readonly upstream: string
  readonly tcp?: boolean
  readonly extraArgs?: readonly string[]
  readonly nodeArgs?: readonly string[]
  /**
   * A config file's text, given the unix socket path to use: written beside the socket and passed
   * with --config. The config's `listen` list is used as it is (no --listen is added), so it must
   * name the socket itself.
   */
  readonly config?: (socketPath: string) => string
  /** Variables added to dockward's environment (docker-socket-proxy's, for socket-proxy-env). */
  readonly env?: Readonly<Record<string, string>>
}

/** Starts `dockward serve` on a temp unix socket (and a loopback port) and waits until it listens. */
export async function startDockward (options: StartOptions): Promise<RunningDockward> {
  const dir = mkdtempSync(join(tmpdir(), 'dw-'))
  const socketPath = join(dir, 'dw.sock')
  const args = [...(options.nodeArgs ?? []), MAIN, 'serve', '--upstream', options.upstream]
  if (options.config !== undefined) {
    const file = join(dir, 'dockward.yaml')
    writeFileSync(file, options.config(socketPath))
    args.push('--config', file)
  } else {
    args.push('--listen', `unix://${socketPath}`)
    if (options.tcp === true) args.push('--listen', 'tcp://127.0.0.1:0')
  }
  args.push(...(options.extraArgs ?? []))
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ...options.env } })
  let err = ''
  const exited = new Promise<{ code: number | null, signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })))
  child.stderr!.setEncoding('utf8')
  child.stderr!.on('data', (s: string) => { err += s })
  const ports = await new Promise<{ tcp: number | null, tls: number | null, admin: number | null }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`dockward did not start:\n${err}`)), 10_000)
    const check = (): void => {
      if (!err.includes('forwarding to')) return
      clearTimeout(timer)
      const tcp = /listening on tcp:\/\/127\.0\.0\.1:(\d+)/.exec(err)
      const tls = /listening on tls:\/\/127\.0\.0\.1:(\d+)/.exec(err)
      const admin = /admin API on tcp:\/\/127\.0\.0\.1:(\d+)/.exec(err)
      resolve({ tcp: tcp === null ? null : Number(tcp[1]), tls: tls === null ? null : Number(tls[1]), admin: admin === null ? null : Number(admin[1]) })
    }
    child.stderr!.on('data', check)
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`dockward exited with ${code}:\n${err}`)) })
  })
  return {
    pid: child.pid!,
    socketPath,
    dockerHost: `unix://${socketPath}`,
    tcpPort: ports.tcp,
    tlsPort: ports.tls,
    adminPort: ports.admin,
    stderr: () => err,
    exited,
    stop: () => stopChild(child).finally(() => rmSync(dir, { recursive: true, force: true }))
  }
}

function stopChild (child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve()
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000)
    child.once('exit', () => { clearTimeout(timer); resolve() })
    child.kill('SIGTERM')
  })
}
