import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { createReadStream, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { engineRequest, requireEngine, type TestEngine } from '../support/engine.ts'
import { startDockward, type RunningDockward } from '../support/dockward.ts'
import {
  DOCKER_CLIS, cliMissing, createContainer, describeFailure, docker, dockerOk, firstCli, inspectContainer, readUntil,
  removeContainer, removeImage, runContainer, spawnDocker, startContainer, uniqueName, type DockerCli, type RunOptions
} from '../support/cli.ts'

// The everyday docker CLI commands, run through dockward by a current CLI (v28) and an old one
// (v20, the last that speaks BuildKit's /session itself); every result is checked against the
// engine asked directly.

const engine = requireEngine('docker-cli')
const CALL_TIMEOUT = 60_000
const BUILD_TIMEOUT = 180_000

const lines = (s: string): string[] => s.split('\n').map((l) => l.trim()).filter((l) => l !== '')

function sha256File (path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256')
    createReadStream(path).on('data', (c) => hash.update(c)).on('error', reject).on('end', () => resolve(hash.digest('hex')))
  })
}

function tempDir (): string {
  return mkdtempSync(join(tmpdir(), 'dw-e2e-cli-'))
}

if (engine === null) {
  test('docker CLI through dockward', { skip: 'no engine' }, () => {})
} else {
  suite(engine)
}

function suite (eng: TestEngine): void {
  describe('docker CLI through dockward', () => {
    let dw: RunningDockward | null = null
    const host = (): string => {
      if (dw === null) throw new Error('dockward did not start')
      return dw.dockerHost
    }

    before(async () => { dw = await startDockward({ upstream: eng.dockerHost }) })
    after(async () => { await dw?.stop() })

    for (const cli of DOCKER_CLIS) {
      const missing = cliMissing(cli)
      if (missing !== null) console.log(missing)
      describe(`docker ${cli.name}`, { skip: missing ?? false }, () => cliTests(eng, cli, host))
    }

    test('dockward is still running and reported no internal error', () => {
      assert.ok(dw !== null)
      assert.doesNotThrow(() => process.kill(dw!.pid, 0), 'dockward exited during the tests')
      // process.emitWarning marks a bug turned into a 500 (gateway.ts asGatewayError).
      assert.doesNotMatch(dw.stderr(), /Warning|InternalError/, dw.stderr())
    })
  })
}

function cliTests (eng: TestEngine, cli: DockerCli, host: () => string): void {
  const run = (args: readonly string[], options?: Partial<RunOptions>) =>
    docker(cli, host(), args, { timeoutMs: CALL_TIMEOUT, ...options })
  const ok = (args: readonly string[], options?: Partial<RunOptions>) =>
    dockerOk(cli, host(), args, { timeoutMs: CALL_TIMEOUT, ...options })
  // The same CLI straight at the engine, to check what really happened inside a container.
  const direct = (args: readonly string[], options?: Partial<RunOptions>) =>
    dockerOk(cli, eng.dockerHost, args, { timeoutMs: CALL_TIMEOUT, ...options })
  const prefix = `dw-e2e-${cli.name}`
  const loop = (word: string): string[] => ['sh', '-c', `i=0; while :; do echo "${word} $i"; i=$((i+1)); sleep 0.2; done`]

  test('version: the server version is the engine\'s', async () => {
    const want = await engineRequest(eng, 'GET', '/version')
    const out = await ok(['version', '--format', '{{.Server.Version}} {{.Server.APIVersion}}'])
    assert.equal(out.trim(), `${want.json.Version} ${want.json.ApiVersion}`)
  })

  test('info: the engine\'s id and version', async () => {
    const want = await engineRequest(eng, 'GET', '/info')
    const out = await ok(['info', '--format', '{{.ID}} {{.ServerVersion}} {{.Name}}'])
    assert.equal(out.trim(), `${want.json.ID} ${want.json.ServerVersion} ${want.json.Name}`)
  })

  test('ps and ps -a list containers created on the engine directly', async (t) => {
    const created = uniqueName(`${prefix}-ps-created`)
    const running = uniqueName(`${prefix}-ps-running`)
    t.after(() => Promise.all([removeContainer(eng, created), removeContainer(eng, running)]))
    const createdId = await createContainer(eng, { name: created, cmd: ['true'] })
    const runningId = await runContainer(eng, { name: running, cmd: ['sleep', '300'] })

    const ps = lines(await ok(['ps', '--no-trunc', '--format', '{{.Names}} {{.ID}}']))
    assert.ok(ps.includes(`${running} ${runningId}`), ps.join('\n'))
    assert.ok(!ps.some((l) => l.startsWith(`${created} `)), 'a created, never started container is not in ps')
    const all = lines(await ok(['ps', '-a', '--no-trunc', '--format', '{{.Names}} {{.ID}}']))
    assert.ok(all.includes(`${running} ${runningId}`), all.join('\n'))
    assert.ok(all.includes(`${created} ${createdId}`), all.join('\n'))
  })

  test('images lists the test image with its id', async () => {
    const want = await engineRequest(eng, 'GET', `/images/${eng.image}/json`)
    assert.equal(want.status, 200)
    const out = lines(await ok(['images', '--no-trunc', '--format', '{{.Repository}}:{{.Tag}} {{.ID}}']))
    assert.ok(out.includes(`${eng.image} ${want.json.Id}`), out.join('\n'))
  })

  test('run --rm prints the output and the container is gone', async (t) => {
    const name = uniqueName(`${prefix}-run`)
    const token = uniqueName('hello')
    t.after(() => removeContainer(eng, name))
    const r = await run(['run', '--rm', '--name', name, eng.image, 'echo', token])
    assert.equal(r.code, 0, describeFailure(cli, ['run'], r))
    assert.equal(r.stdout, `${token}\n`)
    assert.equal(await inspectContainer(eng, name), null, 'run --rm left the container behind')
  })

  test('run keeps stdout and stderr apart and passes the exit code on', async (t) => {
    const name = uniqueName(`${prefix}-run-exit`)
    t.after(() => removeContainer(eng, name))
    const r = await run(['run', '--rm', '--name', name, eng.image, 'sh', '-c', 'echo to-out; echo to-err >&2; exit 3'])
    assert.equal(r.code, 3, describeFailure(cli, ['run'], r))
    assert.equal(r.stdout, 'to-out\n')
    assert.match(r.stderr, /^to-err$/m)
  })

  test('run -i: piped stdin reaches the container and the output comes back (half-close)', async (t) => {
    const name = uniqueName(`${prefix}-run-i`)
    t.after(() => removeContainer(eng, name))
    const input = 'data line 1\ndata line 2\n'
    const r = await run(['run', '-i', '--rm', '--name', name, eng.image, 'cat'], { input })
    assert.equal(r.code, 0, describeFailure(cli, ['run', '-i'], r))
    assert.equal(r.stdout, input)
  })

  test('exec -i: piped stdin reaches a running container', async (t) => {
    const name = uniqueName(`${prefix}-exec`)
    t.after(() => removeContainer(eng, name))
    await runContainer(eng, { name, cmd: ['sleep', '300'] })
    const input = `${uniqueName('exec-input')}\nsecond line\n`
    const out = await ok(['exec', '-i', name, 'sh', '-c', 'cat > /tmp/in && cat /tmp/in'], { input })
    assert.equal(out, input)
    assert.equal(await direct(['exec', name, 'cat', '/tmp/in']), input, 'the file the exec wrote, read directly')
  })

  test('attach shows a running container\'s output; detaching leaves it running', async (t) => {
    const name = uniqueName(`${prefix}-attach`)
    t.after(() => removeContainer(eng, name))
    await runContainer(eng, { name, cmd: loop('tick') })
    // --sig-proxy=false: killing the CLI must not be passed on to the container.
    const attach = spawnDocker(cli, host(), ['attach', '--no-stdin', '--sig-proxy=false', name], { timeoutMs: CALL_TIMEOUT })
    t.after(() => attach.kill())
    // Whole lines only: a chunk may end inside one.
    const ticksIn = (s: string): number[] => [...s.matchAll(/^tick (\d+)\n/gm)].map((m) => Number(m[1]))
    const text = await readUntil(attach, (s) => ticksIn(s).length >= 3, 20_000)
    attach.kill()
    const ticks = ticksIn(text)
    assert.deepEqual(ticks.slice(1, 3), [ticks[0]! + 1, ticks[0]! + 2], `ticks out of order: ${text}`)
    await attach.exit
    const state = await inspectContainer(eng, name)
    assert.equal(state?.State?.Running, true, 'the container stopped when the attached CLI went away')
  })

  test('attach with stdin to a running container', async (t) => {
    const name = uniqueName(`${prefix}-attach-i`)
    t.after(() => removeContainer(eng, name))
    const id = await createContainer(eng, { name, cmd: ['sh', '-c', 'read line; echo "got:$line"'], openStdin: true })
    await startContainer(eng, id)
    const r = await run(['attach', name], { input: 'hello-attach\n' })
    assert.equal(r.code, 0, describeFailure(cli, ['attach'], r))
    assert.equal(r.stdout, 'got:hello-attach\n')
  })

  test('start -a -i: stdin and output of a created container', async (t) => {
    const name = uniqueName(`${prefix}-start-ai`)
    t.after(() => removeContainer(eng, name))
    await createContainer(eng, { name, cmd: ['cat'], openStdin: true })
    const input = 'hello-start\nline two\n'
    const r = await run(['start', '-a', '-i', name], { input })
    assert.equal(r.code, 0, describeFailure(cli, ['start', '-a', '-i'], r))
    assert.equal(r.stdout, input)
    const state = await inspectContainer(eng, name)
    assert.equal(state?.State?.Status, 'exited')
    assert.equal(state?.State?.ExitCode, 0)
  })

  test('logs -f streams lines as they are printed', async (t) => {
    const name = uniqueName(`${prefix}-logs`)
    t.after(() => removeContainer(eng, name))
    await runContainer(eng, { name, cmd: loop('line') })
    const logs = spawnDocker(cli, host(), ['logs', '-f', name], { timeoutMs: CALL_TIMEOUT })
    t.after(() => logs.kill())
    // Four lines take ~0.6 s to be printed, so at least some arrive while the request is open.
    const text = await readUntil(logs, (s) => /^line 3\n/m.test(s), 20_000)
    logs.kill()
    assert.deepEqual(lines(text).slice(0, 4), ['line 0', 'line 1', 'line 2', 'line 3'])
  })

  test('logs -f ends by itself when the container exits', async (t) => {
    const name = uniqueName(`${prefix}-logs-end`)
    t.after(() => removeContainer(eng, name))
    await runContainer(eng, { name, cmd: ['sh', '-c', 'for i in 1 2 3; do echo "l$i"; sleep 0.3; done; echo done >&2'] })
    const r = await run(['logs', '-f', name], { timeoutMs: 30_000 })
    assert.equal(r.code, 0, describeFailure(cli, ['logs', '-f'], r))
    assert.equal(r.stdout, 'l1\nl2\nl3\n')
    assert.equal(r.stderr, 'done\n')
  })

  test('events: live events of a new container arrive, and a bounded window ends', async (t) => {
    const name = uniqueName(`${prefix}-events`)
    t.after(() => removeContainer(eng, name))
    // --since replays what happened after it, so creating the container cannot race the subscription.
    const since = String(Math.floor(Date.now() / 1000) - 1)
    const args = ['events', '--since', since, '--filter', `container=${name}`, '--format', '{{.Type}} {{.Action}} {{.Actor.Attributes.name}}']
    const events = spawnDocker(cli, host(), args, { timeoutMs: CALL_TIMEOUT })
    t.after(() => events.kill())
    await runContainer(eng, { name, cmd: ['true'] })
    const text = await readUntil(events, (s) => s.includes(`container die ${name}`), 20_000)
    events.kill()
    const seen = lines(text)
    for (const action of ['create', 'start', 'die']) assert.ok(seen.includes(`container ${action} ${name}`), `no ${action} event in:\n${text}`)
    assert.ok(seen.indexOf(`container create ${name}`) < seen.indexOf(`container die ${name}`))

    const until = String(Math.floor(Date.now() / 1000) + 1)
    const bounded = lines(await ok(['events', '--since', since, '--until', until, '--filter', `container=${name}`, '--format', '{{.Action}}']))
    assert.deepEqual(bounded.filter((a) => ['create', 'start', 'die'].includes(a)), ['create', 'start', 'die'])
  })

  test('stats --no-stream shows the container', async (t) => {
    const name = uniqueName(`${prefix}-stats`)
    t.after(() => removeContainer(eng, name))
    const id = await runContainer(eng, { name, cmd: ['sleep', '300'] })
    const out = lines(await ok(['stats', '--no-stream', '--format', '{{.Name}} {{.ID}} {{.MemUsage}}', name]))
    assert.equal(out.length, 1, out.join('\n'))
    assert.match(out[0]!, new RegExp(`^${name} ${id.slice(0, 12)} [0-9.]+[KMG]?i?B / `))
  })

  test('cp copies a file in and out byte for byte', async (t) => {
    const name = uniqueName(`${prefix}-cp`)
    const dir = tempDir()
    t.after(async () => { rmSync(dir, { recursive: true, force: true }); await removeContainer(eng, name) })
    await runContainer(eng, { name, cmd: ['sleep', '300'] })

    const payload = randomBytes(256 * 1024)
    writeFileSync(join(dir, 'in.bin'), payload)
    await ok(['cp', join(dir, 'in.bin'), `${name}:/tmp/in.bin`])
    const inside = await direct(['exec', name, 'sha256sum', '/tmp/in.bin'])
    assert.equal(inside.split(' ')[0], createHash('sha256').update(payload).digest('hex'))

    const made = await direct(['exec', name, 'sh', '-c', 'head -c 262144 /dev/urandom > /tmp/out.bin && sha256sum /tmp/out.bin'])
    await ok(['cp', `${name}:/tmp/out.bin`, join(dir, 'out.bin')])
    assert.equal(statSync(join(dir, 'out.bin')).size, 262144)
    assert.equal(createHash('sha256').update(readFileSync(join(dir, 'out.bin'))).digest('hex'), made.split(' ')[0])
  })

  if (cli === firstCli()) {
    // Heavy: once, with the first CLI there is.
    test('save and load a 110 MiB image: same bytes as a direct save, same image id', { timeout: 300_000 }, async (t) => {
      const name = uniqueName(`${prefix}-big`)
      const image = `${name}:latest`
      const dir = tempDir()
      t.after(async () => {
        rmSync(dir, { recursive: true, force: true })
        await removeContainer(eng, name)
        await removeImage(eng, image)
      })
      // 110 MiB of random data: does not compress, and spans many socket buffers.
      const id = await runContainer(eng, { name, cmd: ['sh', '-c', 'head -c 115343360 /dev/urandom > /big'] })
      const waited = await engineRequest(eng, 'POST', `/containers/${id}/wait`)
      assert.equal(waited.json?.StatusCode, 0)
      const commit = await engineRequest(eng, 'POST', `/commit?container=${id}&repo=${name}&tag=latest`)
      assert.equal(commit.status, 201, commit.body.toString())
      const imageId: string = commit.json.Id

      const viaDockward = join(dir, 'dockward.tar')
      const viaEngine = join(dir, 'engine.tar')
      await ok(['save', '-o', viaDockward, image], { timeoutMs: 120_000 })
      await direct(['save', '-o', viaEngine, image], { timeoutMs: 120_000 })
      const size = statSync(viaDockward).size
      assert.ok(size >= 110 * 1024 * 1024, `save wrote only ${size} bytes`)
      assert.equal(size, statSync(viaEngine).size)
      // The engine's save output is deterministic for one image (checked on 20.10), so any
      // difference is dockward's.
      assert.equal(await sha256File(viaDockward), await sha256File(viaEngine))

      await removeContainer(eng, name)
      await removeImage(eng, image)
      assert.equal((await engineRequest(eng, 'GET', `/images/${image}/json`)).status, 404)
      const loaded = await ok(['load', '-i', viaDockward], { timeoutMs: 120_000 })
      assert.match(loaded, new RegExp(`Loaded image: ${image}`))
      const after = await engineRequest(eng, 'GET', `/images/${image}/json`)
      assert.equal(after.status, 200)
      assert.equal(after.json.Id, imageId)
    })
  }

  const buildModes: Array<{ label: string, buildkit: '0' | '1' }> = [{ label: 'the classic builder (DOCKER_BUILDKIT=0)', buildkit: '0' }]
  // BuildKit: the v20 CLI drives it itself over /session (h2c) plus POST /build?version=2; v28
  // would need buildx, which is not installed (and is what would use /grpc).
  if (cli.name === 'v20') buildModes.push({ label: 'BuildKit (DOCKER_BUILDKIT=1)', buildkit: '1' })
  for (const mode of buildModes) {
    test(`build with ${mode.label}`, { timeout: BUILD_TIMEOUT + 60_000 }, async (t) => {
      const tag = `${uniqueName(`${prefix}-build`)}:latest`
      const dir = tempDir()
      t.after(async () => { rmSync(dir, { recursive: true, force: true }); await removeImage(eng, tag) })
      const context = join(dir, 'context')
      mkdirSync(context)
      // The context file reaches the engine in the POST /build body (classic) or, with BuildKit,
      // over the /session stream; so does the secret, which the engine asks the CLI for.
      const payload = uniqueName('context-file')
      writeFileSync(join(context, 'payload.txt'), `${payload}\n`)
      const secret = uniqueName('secret')
      writeFileSync(join(dir, 'secret.txt'), secret)
      const buildkit = mode.buildkit === '1'
      const steps = [`FROM ${eng.image}`, 'COPY payload.txt /payload.txt', 'RUN echo built > /built']
      if (buildkit) steps.push('RUN --mount=type=secret,id=tok cat /run/secrets/tok > /secret-copy')
      writeFileSync(join(context, 'Dockerfile'), steps.join('\n') + '\n')
      const extra = buildkit ? ['--progress=plain', '--secret', `id=tok,src=${join(dir, 'secret.txt')}`] : []
      await ok(['build', '--no-cache', '-t', tag, ...extra, context], { timeoutMs: BUILD_TIMEOUT, env: { DOCKER_BUILDKIT: mode.buildkit } })
      const inspect = await engineRequest(eng, 'GET', `/images/${tag}/json`)
      assert.equal(inspect.status, 200, `built image ${tag} not on the engine`)
      const out = await ok(['run', '--rm', tag, 'cat', '/built', '/payload.txt'])
      assert.equal(out, `built\n${payload}\n`)
      if (buildkit) assert.equal(await ok(['run', '--rm', tag, 'cat', '/secret-copy']), secret)
    })
  }

  test('volume create, ls, rm', async (t) => {
    const name = uniqueName(`${prefix}-vol`)
    t.after(async () => { await engineRequest(eng, 'DELETE', `/volumes/${name}?force=1`) })
    assert.equal((await ok(['volume', 'create', '--label', 'dw-e2e=1', name])).trim(), name)
    const made = await engineRequest(eng, 'GET', `/volumes/${name}`)
    assert.equal(made.status, 200)
    assert.equal(made.json.Labels?.['dw-e2e'], '1')
    assert.ok(lines(await ok(['volume', 'ls', '--format', '{{.Name}}'])).includes(name))
    assert.equal((await ok(['volume', 'rm', name])).trim(), name)
    assert.equal((await engineRequest(eng, 'GET', `/volumes/${name}`)).status, 404)
  })

  test('network create, ls, rm', async (t) => {
    const name = uniqueName(`${prefix}-net`)
    t.after(async () => { await engineRequest(eng, 'DELETE', `/networks/${name}`) })
    const id = (await ok(['network', 'create', name])).trim()
    const made = await engineRequest(eng, 'GET', `/networks/${name}`)
    assert.equal(made.status, 200)
    assert.equal(made.json.Id, id)
    assert.ok(lines(await ok(['network', 'ls', '--no-trunc', '--format', '{{.ID}} {{.Name}}'])).includes(`${id} ${name}`))
    await ok(['network', 'rm', name])
    assert.equal((await engineRequest(eng, 'GET', `/networks/${name}`)).status, 404)
  })

  test('system df', async () => {
    const rows = lines(await ok(['system', 'df', '--format', '{{.Type}}={{.TotalCount}}']))
    const counts = new Map(rows.map((r) => [r.split('=')[0]!, Number(r.split('=')[1])]))
    assert.deepEqual([...counts.keys()].sort(), ['Build Cache', 'Containers', 'Images', 'Local Volumes'])
    assert.ok(counts.get('Images')! >= 1, rows.join('\n'))
    const verbose = await ok(['system', 'df', '-v'])
    assert.ok(verbose.includes(eng.image.split(':')[0]!), verbose)
  })

  test('container prune -f removes a stopped container and keeps a running one', async (t) => {
    // Filtered by a label of our own: the engine is shared, and other stopped containers are not ours.
    const label = uniqueName('prune')
    const stopped = uniqueName(`${prefix}-prune-stopped`)
    const running = uniqueName(`${prefix}-prune-running`)
    t.after(() => Promise.all([removeContainer(eng, stopped), removeContainer(eng, running)]))
    const stoppedId = await runContainer(eng, { name: stopped, cmd: ['true'], labels: { 'dw-e2e-prune': label } })
    await engineRequest(eng, 'POST', `/containers/${stoppedId}/wait`)
    await runContainer(eng, { name: running, cmd: ['sleep', '300'], labels: { 'dw-e2e-prune': label } })
    const out = await ok(['container', 'prune', '-f', '--filter', `label=dw-e2e-prune=${label}`])
    assert.ok(lines(out).includes(stoppedId), out)
    assert.equal(await inspectContainer(eng, stopped), null, 'the stopped container is still there')
    assert.notEqual(await inspectContainer(eng, running), null, 'prune removed a running container')
  })
}
