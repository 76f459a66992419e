import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { chownSync, mkdtempSync, rmSync, statSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describeFailure, docker, dockerOk, firstCli, inspectContainer, removeContainer, removeImage, uniqueName, type DockerCli } from '../support/cli.ts'
import { engineRequest, requireEngine, type TestEngine } from '../support/engine.ts'

// deploy/Dockerfile, built with the classic builder against the real engine on a Node base made
// from this machine's node (scripts/node-base-image.sh: there is no registry here), then run the
// way the README says: engine socket bind-mounted, a host folder for dockward's own socket, the
// socket's group added. What a client sees through the container's socket is checked against the
// engine directly.

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const UID = 10001
const engine = requireEngine('container-image')
const cli = firstCli()

function skipReason (): string | null {
  if (engine === null) return 'no engine'
  if (engine.socketPath === null) return 'SKIPPED: the test engine has no unix socket to bind-mount (DOCKWARD_TEST_DOCKER_HOST is tcp://); container image not tested'
  if (cli === null) return 'SKIPPED: no docker CLI; container image not tested'
  return null
}

const reason = skipReason()
if (reason !== null) {
  if (reason !== 'no engine') console.log(reason)
  test('container image', { skip: reason }, () => {})
} else {
  suite(engine!, cli!, engine!.socketPath!)
}

/** Runs a repository script with the engine as DOCKER_HOST; returns its stdout, trimmed. */
function script (eng: TestEngine, name: string): string {
  const r = spawnSync('bash', [join(ROOT, 'scripts', name)], { env: { ...process.env, DOCKER_HOST: eng.dockerHost }, encoding: 'utf8', timeout: 180_000 })
  assert.equal(r.status, 0, `${name} failed:\n${r.stderr}`)
  return r.stdout.trim()
}

function suite (eng: TestEngine, cli: DockerCli, engineSocket: string): void {
  describe('deploy/Dockerfile against the real engine', () => {
    const tag = `dockward-test/${uniqueName('dockward-image')}:e2e`
    const containers: string[] = []
    const dirs: string[] = []
    const host = eng.dockerHost
    const opts = { timeoutMs: 60_000 }

    before(async () => {
      const base = script(eng, 'node-base-image.sh')
      script(eng, 'npm-offline-cache.sh')
      const args = ['build', '-q', '-f', 'deploy/Dockerfile', '--build-arg', `NODE_IMAGE=${base}`, '-t', tag, '.']
      const r = await docker(cli, host, args, { timeoutMs: 300_000, cwd: ROOT, env: { DOCKER_BUILDKIT: '0' } })
      assert.equal(r.code, 0, describeFailure(cli, args, r))
    })

    after(async () => {
      for (const c of containers) await removeContainer(eng, c)
      await removeImage(eng, tag)
      for (const d of dirs) rmSync(d, { recursive: true, force: true })
    })

    /** Starts the image with the engine socket and a host folder for dockward's socket; returns that socket. */
    async function start (extra: readonly string[], command: readonly string[]): Promise<{ name: string, socket: string }> {
      const dir = mkdtempSync(join(tmpdir(), 'dw-image-'))
      dirs.push(dir)
      // The image's user must be able to create its socket in the folder.
      chownSync(dir, UID, UID)
      const name = uniqueName('dw-image')
      containers.push(name)
      const group = String(statSync(engineSocket).gid)
      await dockerOk(cli, host, ['run', '-d', '--name', name, '--group-add', group, '-v', `${engineSocket}:/var/run/docker.sock`, '-v', `${dir}:/run/dockward`, ...extra, tag, ...command], opts)
      const socket = join(dir, 'docker.sock')
      const deadline = Date.now() + 20_000
      for (;;) {
        const logs = await docker(cli, host, ['logs', name], opts)
        if (logs.stderr.includes('forwarding to')) break
        const state = (await inspectContainer(eng, name))?.State
        assert.ok(state?.Running === true && Date.now() < deadline, `dockward in ${name} did not start:\n${logs.stderr}`)
        await new Promise((resolve) => setTimeout(resolve, 200))
      }
      return { name, socket }
    }

    test('the image runs dockward as a non-root user with only its runtime files', async () => {
      const img = (await engineRequest(eng, 'GET', `/images/${tag}/json`)).json as { Config: { User: string, Entrypoint: string[] } }
      assert.equal(img.Config.User, 'dockward')
      assert.deepEqual(img.Config.Entrypoint, ['node', '/app/dist/main.js'])
      const listing = await dockerOk(cli, host, ['run', '--rm', '--entrypoint', 'sh', tag, '-c', 'id -u; ls /app; ls /app/node_modules; command -v npm || echo no-npm; test -e /app/src || echo no-src'], opts)
      assert.deepEqual(listing.trim().split('\n'), [String(UID), 'dist', 'node_modules', 'package.json', 'policies', ...runtimePackages(), 'no-npm', 'no-src'])
      assert.match(await dockerOk(cli, host, ['run', '--rm', tag, '--version'], opts), /^dockward \d+\.\d+\.\d+/)
    })

    test('docker ps works through the container, docker run --privileged is denied and never reaches the engine', async () => {
      const { name, socket } = await start([], [])
      const dockward = `unix://${socket}`
      // The container lists itself: the request went through dockward to the engine.
      const ps = await dockerOk(cli, dockward, ['ps', '--format', '{{.Names}}'], opts)
      assert.ok(ps.split('\n').includes(name), `docker ps through dockward did not list ${name}:\n${ps}`)
      const denied = uniqueName('dw-image-priv')
      containers.push(denied)
      const r = await docker(cli, dockward, ['run', '--rm', '--privileged', '--name', denied, eng.image, 'true'], opts)
      assert.notEqual(r.code, 0)
      assert.match(r.stderr, /dockward: deny-privileged:/)
      assert.equal(await inspectContainer(eng, denied), null, 'the engine has the privileged container')
      // The process in the container is the image's user, with the socket's group added.
      const inspect = await inspectContainer(eng, name)
      assert.equal(inspect.Config.User, 'dockward')
      assert.deepEqual(inspect.HostConfig.GroupAdd, [String(statSync(engineSocket).gid)])
      assert.equal(statSync(socket).uid, UID)
    })

    test('the image\'s health check asks the admin API: healthy while the engine answers', async () => {
      // A short interval: the engine runs the first check only after one interval.
      const { name } = await start(['--health-interval', '1s', '--health-start-period', '0s'], [])
      const img = (await engineRequest(eng, 'GET', `/images/${tag}/json`)).json as { Config: { Healthcheck?: { Test: string[] } } }
      assert.match(img.Config.Healthcheck?.Test.join(' ') ?? '', /\/readyz/)
      const deadline = Date.now() + 30_000
      let status = ''
      while (Date.now() < deadline) {
        status = (await inspectContainer(eng, name))?.State?.Health?.Status ?? ''
        if (status === 'healthy') break
        await new Promise((resolve) => setTimeout(resolve, 500))
      }
      assert.equal(status, 'healthy', JSON.stringify((await inspectContainer(eng, name))?.State?.Health))
    })

    test('the docker-socket-proxy mode in the container: CONTAINERS=1 lists, POST=0 refuses run', async () => {
      const { socket } = await start(['-e', 'CONTAINERS=1'], ['serve', '--policy', 'socket-proxy-env', '--listen', 'unix:///run/dockward/docker.sock'])
      const dockward = `unix://${socket}`
      await dockerOk(cli, dockward, ['ps'], opts)
      const name = uniqueName('dw-image-sp')
      containers.push(name)
      const r = await docker(cli, dockward, ['run', '--rm', '--name', name, eng.image, 'true'], opts)
      assert.notEqual(r.code, 0)
      assert.match(r.stderr, /dockward: socket-proxy-method:/)
      assert.equal(await inspectContainer(eng, name), null)
    })
  })
}

/**
 * The top-level folders of node_modules that `npm ci --omit=dev` installs, from the lockfile
 * (scoped packages as their scope folder), in `ls` order: the image must hold these and no others.
 */
function runtimePackages (): string[] {
  const lock = JSON.parse(readFileSync(new URL('../../package-lock.json', import.meta.url), 'utf8')) as { packages: Record<string, { dev?: boolean, devOptional?: boolean }> }
  const names = new Set<string>()
  for (const [key, meta] of Object.entries(lock.packages)) {
    const m = /^node_modules\/((?:@[^/]+\/)?[^/]+)$/.exec(key)
    if (m !== null && meta.dev !== true && meta.devOptional !== true) names.add(m[1]!.split('/')[0]!)
  }
  return [...names].sort()
}
