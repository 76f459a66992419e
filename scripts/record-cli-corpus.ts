/**
 * Records the JSON request bodies real docker CLIs send, for the differential test
 * (test/e2e/differential-body.test.ts). Run by hand when the CLIs change, then commit the result:
 *
 *   set -a; . $ENGINE_DIR/env; set +a
 *   node --import tsx scripts/record-cli-corpus.ts [out-dir]    # default test/fixtures/cli-corpus
 *
 * A loopback relay (a unix socket this script owns) sits in front of the engine named by
 * DOCKWARD_TEST_DOCKER_HOST and copies every byte both ways unchanged, so the CLIs behave as they
 * do on the engine's socket; the client's bytes are also kept and read afterwards as HTTP/1.1
 * requests. Each body that creates a container, exec, network or volume, updates a container or
 * connects one to a network becomes one file holding the CLI, the command, method, path and the
 * body exactly as sent (a string, so no byte changes).
 *
 * Every object the commands make is named `dwcorpus-…` (the test swaps that prefix for a unique
 * one) and removed at the end; the only image is the test image and the only host path is /tmp.
 */
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import net from 'node:net'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createRouteMatcher } from '../src/route/route-matcher.ts'
import { parseRequestTarget } from '../src/route/request-target.ts'
import { routeTable } from '../src/route/route-table.ts'
import { DOCKER_CLIS, cliMissing, docker, type DockerCli } from '../test/support/cli.ts'
import { engineRequest, testEngine, type TestEngine } from '../test/support/engine.ts'

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const IMAGE = 'dockward-test/busybox:latest'

/** The operations whose bodies the differential test can compare through an inspect. */
const RECORDED = new Set(['ContainerCreate', 'ContainerExec', 'ContainerUpdate', 'NetworkConnect', 'NetworkCreate', 'VolumeCreate'])

/** One recorded request: what the corpus files hold. */
export interface CorpusEntry {
  readonly cli: string
  /** The docker command that sent it (without `-H`). */
  readonly command: readonly string[]
  readonly operation: string
  readonly method: string
  /** The request target as sent (version prefix and query included). */
  readonly path: string
  /** The body exactly as sent. */
  readonly body: string
}

/**
 * The sessions: each list runs in order on one CLI. Flags are the ones users put on `docker
 * create`/`run`, limited to what this engine (dockerd 20.10 in a sandbox) accepts.
 */
const SESSIONS: readonly (readonly string[])[] = [
  ['network', 'create', '--label', 'com.example.team=ci', '--opt', 'com.docker.network.bridge.enable_icc=false', '--internal', '--attachable', 'dwcorpus-net'],
  ['network', 'create', '--driver', 'bridge', '--subnet', '172.31.213.0/24', '--gateway', '172.31.213.1', '--ip-range', '172.31.213.128/25', 'dwcorpus-net2'],
  ['volume', 'create', '--label', 'com.example.tier=cache', 'dwcorpus-vol'],
  ['volume', 'create', '--driver', 'local', '--opt', 'type=tmpfs', '--opt', 'device=tmpfs', '--opt', 'o=size=16m', 'dwcorpus-vol2'],
  ['network', 'create', '--ipam-driver', 'default', '--ipam-opt', 'com.example.ipam=1', '--subnet', '172.31.214.0/24',
    '--aux-address', 'reserved=172.31.214.5', '-o', 'com.docker.network.driver.mtu=1400', '--ipv6', '--subnet', 'fd00:dead:beef::/64', 'dwcorpus-net3'],
  ['create', '--name', 'dwcorpus-plain', IMAGE, 'true'],
  ['create', '--name', 'dwcorpus-env', '-e', 'A=1', '-e', 'B=two words', '--env', 'EMPTY=', '-w', '/tmp', '-u', '1000:1000',
    '--entrypoint', '/bin/sh', '--label', 'com.example.a=1', '--label', 'b=', '--hostname', 'box', '--domainname', 'example.test',
    '--stop-signal', 'SIGINT', '--stop-timeout', '7', '-t', '-i', IMAGE, '-c', 'echo hi'],
  ['create', '--name', 'dwcorpus-volumes', '-v', 'dwcorpus-vol:/data:ro', '-v', '/anon', '--tmpfs', '/run:rw,size=8m,mode=1777',
    '--mount', 'type=volume,source=dwcorpus-vol2,target=/cache,volume-nocopy', '--mount', 'type=tmpfs,target=/scratch,tmpfs-size=4m',
    '--mount', 'type=bind,source=/tmp,target=/hosttmp,readonly', '--read-only', IMAGE, 'true'],
  ['create', '--name', 'dwcorpus-ports', '-p', '127.0.0.1::80', '-p', '8080/udp', '--expose', '9000', '-P', IMAGE, 'true'],
  ['create', '--name', 'dwcorpus-limits', '--restart', 'on-failure:3', '--memory', '64m', '--memory-reservation', '32m',
    '--memory-swap', '128m', '--cpus', '0.5', '--cpu-shares', '512', '--pids-limit', '100', '--ulimit', 'nofile=1024:2048',
    '--ulimit', 'nproc=64', '--shm-size', '32m', '--oom-score-adj', '100', '--blkio-weight', '300', IMAGE, 'true'],
  ['create', '--name', 'dwcorpus-security', '--cap-drop', 'ALL', '--cap-drop', 'net_raw', '--security-opt', 'no-new-privileges',
    '--init', '--device-cgroup-rule', 'c 1:3 r', '--group-add', '123', '--ipc', 'private', '--cgroupns', 'private', IMAGE, 'true'],
  ['create', '--name', 'dwcorpus-health', '--health-cmd', 'true', '--health-interval', '5s', '--health-timeout', '2s',
    '--health-retries', '3', '--health-start-period', '1s', IMAGE, 'sleep', '60'],
  ['create', '--name', 'dwcorpus-network', '--network', 'dwcorpus-net', '--network-alias', 'web', '--dns', '192.0.2.53',
    '--dns-search', 'example.test', '--dns-option', 'ndots:2', '--add-host', 'db.example.test:192.0.2.10', '--sysctl', 'net.ipv4.ip_forward=0',
    '--log-driver', 'json-file', '--log-opt', 'max-size=1m', '--log-opt', 'max-file=2', IMAGE, 'true'],
  ['create', '--name', 'dwcorpus-static-ip', '--network', 'dwcorpus-net2', '--ip', '172.31.213.200', IMAGE, 'true'],
  ['create', '--name', 'dwcorpus-nonet', '--network', 'none', '--rm', IMAGE, 'true'],
  ['create', '--name', 'dwcorpus-host-access', '--privileged', '--pid', 'host', '--ipc', 'host', '--uts', 'host', '--userns', 'host',
    '--cap-add', 'NET_ADMIN', '--cap-add', 'cap_sys_ptrace', '--device', '/dev/null:/dev/xnull:rwm', '--gpus', 'all',
    '--security-opt', 'seccomp=unconfined', '--security-opt', 'apparmor=unconfined', '--security-opt', 'label=disable',
    '--network', 'host', IMAGE, 'true'],
  ['create', '--name', 'dwcorpus-cpu', '--cpuset-cpus', '0', '--cpuset-mems', '0', '--cpu-period', '100000', '--cpu-quota', '50000',
    '--memory', '64m', '--memory-swappiness', '10', '--oom-kill-disable', '--cgroup-parent', 'dwcorpus.slice', '--runtime', 'runc',
    '--device-read-bps', '/dev/null:1mb', '--device-write-iops', '/dev/null:100', '--blkio-weight-device', '/dev/null:200', IMAGE, 'true'],
  ['create', '--name', 'dwcorpus-mounts', '--mount', 'type=volume,source=dwcorpus-vol3,target=/v,volume-driver=local,volume-label=com.example.v=1,volume-opt=type=tmpfs,volume-opt=device=tmpfs',
    '--mount', 'type=bind,source=/tmp,target=/b,bind-propagation=rslave', '--mount', 'type=tmpfs,target=/t,tmpfs-mode=1770',
    '--volumes-from', 'dwcorpus-plain:ro', '--volume-driver', 'local', IMAGE, 'true'],
  ['create', '--name', 'dwcorpus-legacy', '--link', 'dwcorpus-plain:db', '--no-healthcheck',
    '-p', '127.0.0.1:18080:80/tcp', '--expose', '7000-7002', '-a', 'stdout', '--label', 'ſ=folded label key', '--label', 'KEY=upper',
    '-e', 'PATH=/bin', IMAGE, 'true'],
  ['create', '--name', 'dwcorpus-updated', IMAGE, 'true'],
  ['update', '--memory', '96m', '--memory-swap', '192m', '--memory-reservation', '48m', '--cpus', '0.25', '--cpu-shares', '256',
    '--cpuset-cpus', '0', '--restart', 'on-failure:2', '--pids-limit', '50', '--blkio-weight', '400', 'dwcorpus-updated'],
  ['create', '--name', 'dwcorpus-connected', '--network', 'dwcorpus-net', IMAGE, 'true'],
  ['network', 'connect', '--alias', 'extra', '--ip', '172.31.213.201', '--driver-opt', 'com.example.opt=1', 'dwcorpus-net2', 'dwcorpus-connected'],
  ['run', '-d', '--name', 'dwcorpus-exec', IMAGE, 'sleep', '60'],
  ['create', '--name', 'dwcorpus-shared-ns', '--network', 'container:dwcorpus-exec', '--pid', 'container:dwcorpus-exec', '--ipc', 'container:dwcorpus-exec', IMAGE, 'true'],
  ['exec', '-d', '-e', 'X=1', '-w', '/tmp', '-u', '1000', 'dwcorpus-exec', 'true'],
  ['exec', '-d', '--env', 'Y=2', '-u', 'root', 'dwcorpus-exec', 'true'],
  ['exec', 'dwcorpus-exec', 'true'],
]

/** Removes what the sessions made, directly on the engine; missing objects are fine. */
async function cleanUp (engine: TestEngine): Promise<void> {
  const list = await engineRequest(engine, 'GET', '/containers/json?all=1&filters=' + encodeURIComponent('{"name":["dwcorpus-"]}'))
  for (const c of (list.json ?? []) as { Id: string }[]) await engineRequest(engine, 'DELETE', `/containers/${c.Id}?force=1&v=1`)
  for (const n of ['dwcorpus-net', 'dwcorpus-net2', 'dwcorpus-net3']) await engineRequest(engine, 'DELETE', `/networks/${n}`)
  for (const v of ['dwcorpus-vol', 'dwcorpus-vol2', 'dwcorpus-vol3']) await engineRequest(engine, 'DELETE', `/volumes/${v}?force=1`)
}

/** A relay that passes bytes unchanged and keeps each connection's client→engine bytes. */
function startRelay (path: string, target: string): Promise<{ sent: Buffer[][], close: () => Promise<void> }> {
  const sent: Buffer[][] = []
  const server = net.createServer({ allowHalfOpen: true }, (client) => {
    const chunks: Buffer[] = []
    sent.push(chunks)
    const upstream = net.connect({ path: target, allowHalfOpen: true })
    client.on('data', (c: Buffer) => chunks.push(c))
    for (const s of [client, upstream]) s.on('error', () => { client.destroy(); upstream.destroy() })
    client.pipe(upstream)
    upstream.pipe(client)
  })
  return new Promise((resolve) => server.listen(path, () => resolve({
    sent,
    close: () => new Promise<void>((done) => server.close(() => done()))
  })))
}

interface RawRequest { method: string, target: string, headers: Map<string, string>, body: Buffer }

/**
 * Reads a connection's client bytes as HTTP/1.1 requests. Stops at an upgrade (what follows is
 * the hijacked stream) and at anything it cannot frame; the Go client frames JSON bodies with
 * Content-Length, and chunked bodies are decoded for completeness.
 */
export function parseRequests (bytes: Buffer): RawRequest[] {
  const out: RawRequest[] = []
  let at = 0
  while (at < bytes.length) {
    const end = bytes.indexOf('\r\n\r\n', at)
    if (end < 0) break
    const lines = bytes.subarray(at, end).toString('latin1').split('\r\n')
    const [method = '', target = ''] = (lines[0] ?? '').split(' ')
    const headers = new Map<string, string>()
    for (const line of lines.slice(1)) {
      const colon = line.indexOf(':')
      if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim())
    }
    at = end + 4
    let body: Buffer
    if (headers.get('transfer-encoding')?.toLowerCase() === 'chunked') {
      const parts: Buffer[] = []
      for (;;) {
        const lineEnd = bytes.indexOf('\r\n', at)
        if (lineEnd < 0) return out
        const size = parseInt(bytes.subarray(at, lineEnd).toString('latin1'), 16)
        at = lineEnd + 2
        if (!Number.isFinite(size)) return out
        if (size === 0) { at = bytes.indexOf('\r\n\r\n', at - 2) + 4; break }
        parts.push(bytes.subarray(at, at + size))
        at += size + 2
      }
      body = Buffer.concat(parts)
    } else {
      const length = Number(headers.get('content-length') ?? '0')
      body = bytes.subarray(at, at + length)
      at += length
    }
    out.push({ method, target, headers, body })
    if (headers.has('upgrade')) break
  }
  return out
}

async function record (engine: TestEngine, cli: DockerCli, relayPath: string): Promise<CorpusEntry[]> {
  const match = createRouteMatcher(routeTable)
  const relay = await startRelay(relayPath, engine.socketPath!)
  const commands: string[][] = []
  try {
    for (const args of SESSIONS) {
      const r = await docker(cli, `unix://${relayPath}`, args, { timeoutMs: 60_000 })
      if (r.code !== 0) throw new Error(`docker ${cli.name} ${args.join(' ')} exited ${r.code}: ${r.stderr}`)
      commands.push([...args])
    }
  } finally {
    await relay.close()
  }
  // Connections are kept in the order they opened; the CLI opens at least one per command,
  // so a request is matched to its command by the resource name it carries.
  const entries: CorpusEntry[] = []
  for (const conn of relay.sent) {
    for (const req of parseRequests(Buffer.concat(conn))) {
      const target = parseRequestTarget(req.target)
      const route = match(req.method, target.path)
      if (route === null || !RECORDED.has(route.operation) || req.body.length === 0) continue
      const command = commandFor(commands, route.operation, req, route.params, entries.filter((e) => e.operation === 'ContainerExec').length)
      entries.push({ cli: cli.name, command, operation: route.operation, method: req.method, path: req.target, body: req.body.toString('utf8') })
    }
  }
  return entries
}

/**
 * The command that sent a request: the one naming the same object. Execs all name one container;
 * each CLI process opens its own connections, in order, so the n-th exec request is the n-th exec.
 */
function commandFor (commands: readonly string[][], operation: string, req: RawRequest, params: Readonly<Record<string, string>>, execsSeen: number): string[] {
  if (operation === 'ContainerExec') {
    const execs = commands.filter((c) => kindOf(c) === operation)
    const found = execs[execsSeen]
    if (found === undefined) throw new Error(`more exec requests than exec commands: ${req.target}`)
    return found
  }
  const query = new URLSearchParams(req.target.split('?')[1] ?? '')
  const body = JSON.parse(req.body.toString('utf8')) as { Name?: string, Container?: string }
  const name = operation === 'ContainerCreate'
    ? query.get('name')
    : operation === 'ContainerUpdate' ? params['id'] ?? null : body.Container ?? body.Name ?? null
  const candidates = commands.filter((c) => name !== null && c.includes(name) && kindOf(c) === operation)
  if (candidates.length !== 1) throw new Error(`cannot tell which command sent ${req.method} ${req.target}`)
  return candidates[0]!
}

function kindOf (command: readonly string[]): string {
  switch (command[0]) {
    case 'create': case 'run': return 'ContainerCreate'
    case 'exec': return 'ContainerExec'
    case 'update': return 'ContainerUpdate'
    case 'network': return command[1] === 'connect' ? 'NetworkConnect' : 'NetworkCreate'
    case 'volume': return 'VolumeCreate'
    default: return ''
  }
}

/** A file name: cli, operation and the object's name, e.g. `v28-container-create-dwcorpus-env.json`. */
function fileName (e: CorpusEntry, taken: Set<string>): string {
  // The object the command is about: a container's --name, else the last object named.
  const nameAt = e.command.indexOf('--name')
  const what = nameAt >= 0 ? e.command[nameAt + 1] : e.command.findLast((a) => /^dwcorpus-[a-z0-9-]+$/.test(a))
  if (what === undefined) throw new Error(`no object named in ${e.command.join(' ')}`)
  const kind = e.operation.replace(/[A-Z]/g, (c, i: number) => (i === 0 ? '' : '-') + c.toLowerCase())
  let base = `${e.cli}-${kind}-${what}`
  for (let n = 2; taken.has(base); n++) base = `${e.cli}-${kind}-${what}-${n}`
  taken.add(base)
  return `${base}.json`
}

async function main (): Promise<void> {
  const engine = testEngine()
  if (engine === null || engine.socketPath === null) throw new Error('set DOCKWARD_TEST_DOCKER_HOST to the engine\'s unix socket (unix://…)')
  const outDir = resolve(process.argv[2] ?? join(repoRoot, 'test', 'fixtures', 'cli-corpus'))
  const dir = mkdtempSync(join(tmpdir(), 'dw-corpus-'))
  const entries: CorpusEntry[] = []
  try {
    for (const cli of DOCKER_CLIS) {
      const missing = cliMissing(cli)
      if (missing !== null) throw new Error(missing)
      await cleanUp(engine)
      entries.push(...await record(engine, cli, join(dir, `${cli.name}.sock`)))
    }
  } finally {
    await cleanUp(engine)
    rmSync(dir, { recursive: true, force: true })
  }
  mkdirSync(outDir, { recursive: true })
  for (const f of readdirSync(outDir)) if (f.endsWith('.json')) rmSync(join(outDir, f))
  const taken = new Set<string>()
  for (const e of entries) writeFileSync(join(outDir, fileName(e, taken)), JSON.stringify(e, null, 2) + '\n')
  console.log(`${entries.length} requests written to ${outDir}`)
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await main()
