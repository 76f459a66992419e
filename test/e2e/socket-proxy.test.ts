import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { docker, dockerOk, firstCli, inspectContainer, removeContainer, runContainer, uniqueName, type DockerCli } from '../support/cli.ts'
import { startDockward } from '../support/dockward.ts'
import { engineRequest, requireEngine, type TestEngine } from '../support/engine.ts'

// The docker-socket-proxy compatible mode through the real engine, with the variables and docker
// commands of that project's own tests (tests/test_service.py): defaults, CONTAINERS=1, POST=1,
// POST=1 NETWORKS=1, CONTAINERS=1 EXEC=1 POST=1, plus the start/stop/restart allowances. What a
// command did is checked on the engine directly.

const engine = requireEngine('socket-proxy')
const cli = firstCli()
if (engine === null || cli === null) {
  if (engine !== null) console.log('SKIPPED: no docker CLI; socket-proxy e2e not run')
  test('socket-proxy-env against the engine', { skip: 'no engine or CLI' }, () => {})
} else {
  suite(engine, cli)
}

function suite (eng: TestEngine, cli: DockerCli): void {
  describe('socket-proxy-env against the real engine', () => {
    const target = uniqueName('dw-sp')
    const cleanup: string[] = [target]
    const networks: string[] = []
    const opts = { timeoutMs: 30_000 }

    before(async () => { await runContainer(eng, { name: target, cmd: ['sleep', '3600'] }) })
    after(async () => {
      for (const c of cleanup) await removeContainer(eng, c)
      for (const n of networks) await engineRequest(eng, 'DELETE', `/networks/${n}`)
    })

    /** Runs each command through a dockward started with these variables; returns 'allowed' or the refusal. */
    async function through (env: Record<string, string>, commands: ReadonlyArray<readonly string[]>): Promise<string[]> {
      const dw = await startDockward({ upstream: eng.dockerHost, env, extraArgs: ['--policy', 'socket-proxy-env'] })
      try {
        const out: string[] = []
        for (const args of commands) {
          const r = await docker(cli, dw.dockerHost, args, opts)
          const refusal = /dockward: ([a-z0-9-]+):/.exec(r.stderr)
          assert.ok(r.code === 0 || refusal !== null, `docker ${args.join(' ')} failed without a refusal:\n${r.stderr}`)
          out.push(r.code === 0 ? 'allowed' : refusal![1]!)
        }
        return out
      } finally {
        await dw.stop()
      }
    }

    async function startedAt (): Promise<string> {
      return (await inspectContainer(eng, target)).State.StartedAt as string
    }

    test('defaults: version only (ping and events too); everything else is refused and nothing changes', async () => {
      const before = await startedAt()
      const run = uniqueName('dw-sp-run')
      cleanup.push(run)
      assert.deepEqual(await through({}, [
        ['version'],
        ['pull', 'alpine'],
        ['run', '--rm', '--name', run, eng.image, 'true'],
        ['logs', target],
        ['wait', target],
        ['rm', '-f', target],
        ['restart', target],
        ['network', 'ls'],
        ['info'],
        ['system', 'df']
      ]), ['allowed', 'socket-proxy-method', 'socket-proxy-method', 'socket-proxy-containers-off', 'socket-proxy-method', 'socket-proxy-method', 'socket-proxy-method', 'socket-proxy-networks-off', 'socket-proxy-info-off', 'socket-proxy-system-off'])
      assert.equal(await inspectContainer(eng, run), null)
      assert.equal(await startedAt(), before, 'the container was restarted')
    })

    test('CONTAINERS=1: logs and inspect; wait, run, rm and restart are refused (POST is off)', async () => {
      const before = await startedAt()
      assert.deepEqual(await through({ CONTAINERS: '1' }, [
        ['logs', target],
        ['inspect', target],
        ['wait', target],
        ['rm', '-f', target],
        ['restart', target]
      ]), ['allowed', 'allowed', 'socket-proxy-method', 'socket-proxy-method', 'socket-proxy-method'])
      assert.equal(await startedAt(), before)
    })

    test('POST=1 opens no section: rm, pull, run and network create are refused', async () => {
      const net = uniqueName('dw-sp-net')
      networks.push(net)
      assert.deepEqual(await through({ POST: '1' }, [
        ['rm', '-f', target],
        ['pull', 'alpine'],
        ['network', 'create', net]
      ]), ['socket-proxy-containers-off', 'socket-proxy-images-off', 'socket-proxy-networks-off'])
      assert.notEqual(await inspectContainer(eng, target), null)
      assert.equal((await engineRequest(eng, 'GET', `/networks/${net}`)).status, 404)
    })

    test('POST=1 NETWORKS=1: network ls, create and rm', async () => {
      const net = uniqueName('dw-sp-net')
      networks.push(net)
      assert.deepEqual(await through({ POST: '1', NETWORKS: '1' }, [
        ['network', 'ls'],
        ['network', 'create', net],
        ['network', 'inspect', net]
      ]), ['allowed', 'allowed', 'allowed'])
      assert.equal((await engineRequest(eng, 'GET', `/networks/${net}`)).status, 200)
      assert.deepEqual(await through({ POST: '1', NETWORKS: '1' }, [['network', 'rm', net]]), ['allowed'])
      assert.equal((await engineRequest(eng, 'GET', `/networks/${net}`)).status, 404)
    })

    test('CONTAINERS=1 EXEC=1 POST=1: docker exec works (it never could through HAProxy, which refuses the upgrade)', async () => {
      const dw = await startDockward({ upstream: eng.dockerHost, env: { CONTAINERS: '1', EXEC: '1', POST: '1' }, extraArgs: ['--policy', 'socket-proxy-env'] })
      try {
        assert.equal((await dockerOk(cli, dw.dockerHost, ['exec', target, 'echo', 'through-dockward'], opts)).trim(), 'through-dockward')
        // Stricter than docker-socket-proxy: the body is read, and a privileged exec is not allowed.
        const r = await docker(cli, dw.dockerHost, ['exec', '--privileged', target, 'true'], opts)
        assert.match(r.stderr, /dockward: deny-privileged:/)
      } finally {
        await dw.stop()
      }
    })

    test('ALLOW_STOP, ALLOW_START and ALLOW_RESTARTS with POST=1 allow their action and nothing else', async () => {
      const running = async (): Promise<boolean> => (await inspectContainer(eng, target)).State.Running as boolean
      assert.deepEqual(await through({ ALLOW_STOP: '1' }, [['stop', '-t', '0', target]]), ['socket-proxy-method'])
      assert.equal(await running(), true)
      assert.deepEqual(await through({ ALLOW_STOP: '1', POST: '1' }, [['stop', '-t', '0', target], ['start', target]]), ['allowed', 'socket-proxy-containers-off'])
      assert.equal(await running(), false)
      assert.deepEqual(await through({ ALLOW_START: '1', POST: '1' }, [['start', target], ['restart', target]]), ['allowed', 'socket-proxy-containers-off'])
      assert.equal(await running(), true)
      const before = await startedAt()
      assert.deepEqual(await through({ ALLOW_RESTARTS: '1', POST: '1' }, [['restart', '-t', '0', target], ['ps']]), ['allowed', 'socket-proxy-containers-off'])
      assert.notEqual(await startedAt(), before)
    })

    test('stricter than docker-socket-proxy: CONTAINERS=1 POST=1 runs containers, but no privileged one and no host bind', async () => {
      const plain = uniqueName('dw-sp-plain')
      const priv = uniqueName('dw-sp-priv')
      const bind = uniqueName('dw-sp-bind')
      cleanup.push(plain, priv, bind)
      assert.deepEqual(await through({ CONTAINERS: '1', POST: '1' }, [
        ['run', '--name', plain, eng.image, 'true'],
        ['run', '--privileged', '--name', priv, eng.image, 'true'],
        ['run', '-v', '/:/host', '--name', bind, eng.image, 'true']
      ]), ['allowed', 'deny-privileged', 'deny-host-paths'])
      assert.notEqual(await inspectContainer(eng, plain), null)
      assert.equal(await inspectContainer(eng, priv), null)
      assert.equal(await inspectContainer(eng, bind), null)
    })
  })
}
