import { spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { accessSync, constants, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { engineRequest, type TestEngine } from './engine.ts'

/** A docker CLI binary the e2e tests drive. */
export interface DockerCli {
  /** Short label for test names: 'v28', 'v20'. */
  readonly name: string
  readonly path: string
}

/** The CLIs the e2e suites run against: a current one and the Debian one that still speaks BuildKit's /session. */
export const DOCKER_CLIS: readonly DockerCli[] = [
  { name: 'v28', path: '/usr/local/bin/docker' },
  { name: 'v20', path: '/usr/bin/docker' }
]

/** null when the CLI can be run, else why not (for a skip message). */
export function cliMissing (cli: DockerCli): string | null {
  try {
    accessSync(cli.path, constants.X_OK)
    return null
  } catch {
    return `SKIPPED: docker CLI ${cli.name} not found at ${cli.path}`
  }
}

/** The first CLI that exists, preferring the order of DOCKER_CLIS; null when there is none. */
export function firstCli (): DockerCli | null {
  return DOCKER_CLIS.find((c) => cliMissing(c) === null) ?? null
}

/** Unique resource name: the suites share an engine with other runs, so nothing may collide. */
export function uniqueName (prefix: string): string {
  return `${prefix}-${randomBytes(4).toString('hex')}`
}

// One empty config dir per test process, so the user's config, contexts and plugins stay out.
let configDir: string | null = null
function dockerConfigDir (): string {
  if (configDir === null) {
    const dir = mkdtempSync(join(tmpdir(), 'dw-cli-config-'))
    configDir = dir
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }))
  }
  return configDir
}

function cliEnv (extra: Readonly<Record<string, string>> | undefined): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env }
  // Anything that could point the CLI elsewhere than the -H given, or change how it talks.
  for (const k of ['DOCKER_HOST', 'DOCKER_CONTEXT', 'DOCKER_TLS_VERIFY', 'DOCKER_CERT_PATH', 'DOCKER_API_VERSION', 'DOCKER_BUILDKIT']) delete env[k]
  env['DOCKER_CONFIG'] = dockerConfigDir()
  env['DOCKER_CLI_HINTS'] = 'false'
  return { ...env, ...extra }
}

export interface CliOptions {
  /** Killed (SIGKILL) after this long; every call must have one. */
  readonly timeoutMs: number
  readonly env?: Readonly<Record<string, string>>
  /** 'pipe' to write stdin yourself; default 'ignore' (stdin at EOF, /dev/null). */
  readonly stdin?: 'pipe' | 'ignore'
  readonly cwd?: string
}

export interface CliExit {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
  readonly timedOut: boolean
  /** Everything the CLI wrote on stderr. */
  readonly stderr: string
}

export interface SpawnedCli {
  readonly child: ChildProcess
  /** Resolves when the CLI exits (killed by the timeout or not). */
  readonly exit: Promise<CliExit>
  /** SIGKILL now (no-op when it already exited). */
  kill: () => void
}

/** Starts `docker -H host ARGS` with stdout left to the caller (stream it, or use `docker()`). */
export function spawnDocker (cli: DockerCli, host: string, args: readonly string[], options: CliOptions): SpawnedCli {
  const child = spawn(cli.path, ['-H', host, ...args], {
    env: cliEnv(options.env),
    stdio: [options.stdin ?? 'ignore', 'pipe', 'pipe'],
    ...(options.cwd === undefined ? {} : { cwd: options.cwd })
  })
  let stderr = ''
  child.stderr!.setEncoding('utf8')
  child.stderr!.on('data', (s: string) => { stderr += s })
  let timedOut = false
  const timer = setTimeout(() => { timedOut = true; child.kill('SIGKILL') }, options.timeoutMs)
  const exit = new Promise<CliExit>((resolve, reject) => {
    child.once('error', (err) => { clearTimeout(timer); reject(err) })
    child.once('close', (code, signal) => {
      clearTimeout(timer)
      resolve({ code, signal, timedOut, stderr })
    })
  })
  const kill = (): void => { if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL') }
  return { child, exit, kill }
}

export interface CliResult extends CliExit {
  readonly stdout: string
}

export interface RunOptions extends Omit<CliOptions, 'stdin'> {
  /** Written to stdin, which is then closed; without it stdin is /dev/null. */
  readonly input?: string | Buffer
}

/** Runs `docker -H host ARGS` to completion and returns its exit and output. */
export async function docker (cli: DockerCli, host: string, args: readonly string[], options: RunOptions): Promise<CliResult> {
  const run = spawnDocker(cli, host, args, { ...options, stdin: options.input === undefined ? 'ignore' : 'pipe' })
  const chunks: Buffer[] = []
  run.child.stdout!.on('data', (c: Buffer) => chunks.push(c))
  if (options.input !== undefined) {
    // The CLI may exit before reading all of stdin; that is its answer, not a test error.
    run.child.stdin!.on('error', () => {})
    run.child.stdin!.end(options.input)
  }
  const exit = await run.exit
  return { ...exit, stdout: Buffer.concat(chunks).toString('utf8') }
}

/** Like `docker()`, but throws unless the CLI exited 0; returns stdout. */
export async function dockerOk (cli: DockerCli, host: string, args: readonly string[], options: RunOptions): Promise<string> {
  const r = await docker(cli, host, args, options)
  if (r.code !== 0) throw new Error(describeFailure(cli, args, r))
  return r.stdout
}

/** A message naming the command and everything it printed, for assertion failures. */
export function describeFailure (cli: DockerCli, args: readonly string[], r: CliResult | CliExit): string {
  const how = r.timedOut ? 'timed out' : r.signal !== null ? `was killed by ${r.signal}` : `exited ${r.code}`
  const out = 'stdout' in r ? `\nstdout: ${r.stdout.slice(-2000)}` : ''
  return `docker ${cli.name} ${args.join(' ')} ${how}${out}\nstderr: ${r.stderr.slice(-2000)}`
}

/**
 * Collects a streaming CLI's stdout until `done(text)` holds, then resolves with the text; rejects
 * when the CLI exits first or `timeoutMs` passes. The CLI keeps running: kill it yourself.
 */
export function readUntil (run: SpawnedCli, done: (text: string) => boolean, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = ''
    const stdout = run.child.stdout!
    const finish = (err: Error | null): void => {
      clearTimeout(timer)
      stdout.removeListener('data', onData)
      if (err === null) resolve(text); else reject(err)
    }
    const onData = (chunk: Buffer): void => {
      text += chunk.toString('utf8')
      if (done(text)) finish(null)
    }
    const timer = setTimeout(() => finish(new Error(`no expected output within ${timeoutMs} ms; got:\n${text}`)), timeoutMs)
    stdout.on('data', onData)
    void run.exit.then((e) => finish(new Error(`CLI exited (code ${e.code}, signal ${e.signal}) before the expected output; got:\n${text}\nstderr: ${e.stderr}`)))
  })
}

// Direct-engine helpers: fixtures are made and checked without dockward, so a dockward bug can't
// hide behind its own setup.

export interface ContainerSpec {
  readonly name: string
  readonly cmd: readonly string[]
  readonly labels?: Readonly<Record<string, string>>
  /** Keep stdin open for a later attach (OpenStdin + StdinOnce, like `docker create -i`). */
  readonly openStdin?: boolean
}

/** Creates a container through the engine directly; returns its id. */
export async function createContainer (engine: TestEngine, spec: ContainerSpec): Promise<string> {
  const body = {
    Image: engine.image,
    Cmd: spec.cmd,
    Labels: spec.labels ?? {},
    ...(spec.openStdin === true ? { OpenStdin: true, StdinOnce: true, AttachStdin: true, AttachStdout: true, AttachStderr: true } : {})
  }
  const r = await engineRequest(engine, 'POST', `/containers/create?name=${encodeURIComponent(spec.name)}`, body)
  if (r.status !== 201) throw new Error(`create ${spec.name}: ${r.status} ${r.body.toString()}`)
  return (r.json as { Id: string }).Id
}

/** Starts a container through the engine directly. */
export async function startContainer (engine: TestEngine, id: string): Promise<void> {
  const r = await engineRequest(engine, 'POST', `/containers/${id}/start`)
  if (r.status !== 204 && r.status !== 304) throw new Error(`start ${id}: ${r.status} ${r.body.toString()}`)
}

/** Creates and starts a container through the engine directly; returns its id. */
export async function runContainer (engine: TestEngine, spec: ContainerSpec): Promise<string> {
  const id = await createContainer(engine, spec)
  await startContainer(engine, id)
  return id
}

/** Removes a container (running or not) through the engine directly; a missing one is fine. */
export async function removeContainer (engine: TestEngine, nameOrId: string): Promise<void> {
  const r = await engineRequest(engine, 'DELETE', `/containers/${nameOrId}?force=1&v=1`)
  if (r.status !== 204 && r.status !== 404) throw new Error(`remove ${nameOrId}: ${r.status} ${r.body.toString()}`)
}

/** Removes an image through the engine directly; a missing one is fine. */
export async function removeImage (engine: TestEngine, name: string): Promise<void> {
  const r = await engineRequest(engine, 'DELETE', `/images/${name}?force=1`)
  if (r.status !== 200 && r.status !== 404) throw new Error(`rmi ${name}: ${r.status} ${r.body.toString()}`)
}

/** The engine's inspect of a container, or null when it does not exist (404). */
export async function inspectContainer (engine: TestEngine, nameOrId: string): Promise<any> {
  const r = await engineRequest(engine, 'GET', `/containers/${nameOrId}/json`)
  if (r.status === 404) return null
  if (r.status !== 200) throw new Error(`inspect ${nameOrId}: ${r.status} ${r.body.toString()}`)
  return r.json
}

/** VmRSS of a process in KiB, or null once it is gone. */
export function rssKiB (pid: number): number | null {
  try {
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
    return m === null ? null : Number(m[1])
  } catch {
    return null
  }
}
