import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { engineRequest, requireEngine } from '../support/engine.ts'
import { sendRequest } from '../support/engine-reply.ts'
import { rawExchange, statusCodes } from '../support/raw-client.ts'
import { readTar } from '../../src/decide/opa/tar-archive.ts'
import { startDockward, type RunningDockward } from '../support/dockward.ts'
import { docker, dockerOk, firstCli, spawnDocker, uniqueName } from '../support/cli.ts'

// Two tenants (per-tenant sockets) and an operator on one real engine, driven with the real docker
// CLI. Every refusal is checked on the engine directly: B's objects are still there, unchanged.

const engine = requireEngine('tenancy')
const cli = firstCli()
const LABEL = 'io.dockward.tenant'
const T = { timeoutMs: 60_000 }

/** One JSON request to a dockward unix socket (`unix://…`): status and the engine-format message. */
async function send (host: string, method: string, path: string, body?: unknown) {
  // No body: say so, or Node would send the POST chunked.
  return await sendRequest(host.slice('unix://'.length), method, path, body === undefined ? undefined : JSON.stringify(body), body === undefined ? { 'Content-Length': '0' } : {})
}

if (engine === null || cli === null) {
  test('multi-tenancy through the docker CLI', { skip: engine === null ? 'no engine' : 'SKIPPED: no docker CLI installed' }, () => {})
} else {
  describe('multi-tenancy with the docker CLI', { timeout: 300_000 }, () => {
    let dw: RunningDockward
    let hostA = ''
    let hostB = ''
    let hostOps = ''
    let hostNobody = ''
    const image = engine.image
    const created: string[] = []
    const volumes: string[] = []
    const networks: string[] = []
    const images: string[] = []
    const names = { a: uniqueName('ten-a'), b: uniqueName('ten-b'), bStopped: uniqueName('ten-b-stopped'), aStopped: uniqueName('ten-a-stopped'), bVol: uniqueName('ten-bvol'), bNet: uniqueName('ten-bnet') }
    let bId = ''

    const A = (...args: string[]) => docker(cli, hostA, args, T)
    const B = (...args: string[]) => docker(cli, hostB, args, T)
    const inspect = async (path: string) => await engineRequest(engine, 'GET', path)

    before(async () => {
      dw = await startDockward({
        upstream: engine.dockerHost,
        config: (socketPath) => {
          const dir = dirname(socketPath)
          hostA = `unix://${socketPath}`
          hostB = `unix://${join(dir, 'b.sock')}`
          hostOps = `unix://${join(dir, 'ops.sock')}`
          hostNobody = `unix://${join(dir, 'nobody.sock')}`
          return `
listen:
  - { url: "${hostA}", mode: "0600", identity: { name: ci-a, tenant: team-a } }
  - { url: "${hostB}", mode: "0600", identity: { name: ci-b, tenant: team-b } }
  - { url: "${hostOps}", mode: "0600", identity: { name: oncall, groups: [platform] } }
  - { url: "${hostNobody}", mode: "0600", identity: { name: stray } }
tenancy:
  operators: { groups: [platform] }
  redactEnv: { names: [oncall] }
  builds: true
policy: admin
`
        }
      })
      await dockerOk(cli, hostA, ['run', '-d', '--name', names.a, image, 'sleep', '300'], T)
      await dockerOk(cli, hostA, ['create', '--name', names.aStopped, image, 'true'], T)
      bId = (await dockerOk(cli, hostB, ['run', '-d', '--name', names.b, '-v', `${names.bVol}:/data`, image, 'sleep', '300'], T)).trim()
      await dockerOk(cli, hostB, ['create', '--name', names.bStopped, image, 'true'], T)
      await dockerOk(cli, hostB, ['network', 'create', names.bNet], T)
      created.push(names.a, names.aStopped, names.b, names.bStopped)
      volumes.push(names.bVol)
      networks.push(names.bNet)
    })
    after(async () => {
      for (const c of created) await engineRequest(engine, 'DELETE', `/containers/${c}?force=1&v=1`)
      for (const v of volumes) await engineRequest(engine, 'DELETE', `/volumes/${v}?force=1`)
      for (const n of networks) await engineRequest(engine, 'DELETE', `/networks/${n}`)
      for (const i of images) await engineRequest(engine, 'DELETE', `/images/${i}?force=1`)
      await dw.stop()
    })

    test('objects a tenant creates carry its owner label', async () => {
      const a = await inspect(`/containers/${names.a}/json`)
      assert.equal(a.json.Config.Labels[LABEL], 'team-a')
      const vol = await inspect(`/volumes/${names.bVol}`)
      assert.equal(vol.json.Labels[LABEL], 'team-b', 'a named volume the engine would create for `-v` is created as the tenant\'s')
      const net = await inspect(`/networks/${names.bNet}`)
      assert.equal(net.json.Labels[LABEL], 'team-b')
    })

    test('lists show only the tenant\'s own objects, and shared images', async () => {
      const ps = (await dockerOk(cli, hostA, ['ps', '-a', '--format', '{{.Names}}'], T)).split('\n')
      assert.ok(ps.includes(names.a) && !ps.includes(names.b) && !ps.includes(names.bStopped))
      // A client filter narrows, never widens.
      const widened = await dockerOk(cli, hostA, ['ps', '-a', '--filter', `label=${LABEL}=team-b`, '--format', '{{.Names}}'], T)
      assert.equal(widened.trim(), '')
      assert.doesNotMatch(await dockerOk(cli, hostA, ['volume', 'ls', '-q'], T), new RegExp(names.bVol))
      const nets = await dockerOk(cli, hostA, ['network', 'ls', '--format', '{{.Name}}'], T)
      assert.match(nets, /^bridge$/m, 'default networks are shared')
      assert.doesNotMatch(nets, new RegExp(names.bNet))
      assert.match(await dockerOk(cli, hostA, ['images', '--format', '{{.Repository}}:{{.Tag}}'], T), new RegExp(image.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')))
    })

    // Each of B's objects by name, id and id prefix: A gets the engine's own "no such" answer.
    for (const how of ['name', 'id', 'prefix'] as const) {
      test(`A cannot touch B's container by ${how}`, async () => {
        const ref = how === 'name' ? names.b : how === 'id' ? bId : bId.slice(0, 12)
        const tries: string[][] = [
          ['inspect', '--type', 'container', ref], ['logs', ref], ['exec', ref, 'true'], ['stop', '-t', '0', ref], ['kill', ref],
          ['rename', ref, uniqueName('stolen')], ['update', '--memory', '64m', ref], ['commit', ref, uniqueName('stolen')],
          ['export', '-o', join(tmpdir(), `${uniqueName('ten-export')}.tar`), ref], ['cp', `${ref}:/etc/hostname`, '-'], ['rm', ref], ['pause', ref],
          ['restart', '-t', '0', ref], ['top', ref], ['attach', '--no-stdin', ref], ['port', ref], ['diff', ref], ['stats', '--no-stream', ref]
        ]
        for (const args of tries) {
          const r = await A(...args)
          assert.notEqual(r.code, 0, `docker ${args.join(' ')} must fail`)
          assert.match(r.stderr, /No such container|No such object/, `docker ${args.join(' ')}: ${r.stderr}`)
        }
        const b = await inspect(`/containers/${bId}/json`)
        assert.equal(b.json.State.Running, true, 'B\'s container still runs')
        assert.equal(b.json.Name, `/${names.b}`, 'and keeps its name')
        assert.equal(b.json.HostConfig.Memory, 0, 'and its limits')
      })
    }

    test('A cannot reach B\'s containers, volumes and networks from its own', async () => {
      const tries: string[][] = [
        ['run', '--rm', '--volumes-from', names.b, image, 'true'],
        ['run', '--rm', '--network', `container:${names.b}`, image, 'true'],
        ['run', '--rm', '--pid', `container:${names.b}`, image, 'true'],
        ['run', '--rm', '--ipc', `container:${names.b}`, image, 'true'],
        ['run', '--rm', '--link', `${names.b}:db`, image, 'true'],
        ['run', '--rm', '-v', `${names.bVol}:/x`, image, 'true'],
        ['run', '--rm', '--mount', `type=volume,src=${names.bVol},dst=/x`, image, 'true'],
        ['run', '--rm', '--network', names.bNet, image, 'true'],
        ['volume', 'inspect', names.bVol], ['volume', 'rm', names.bVol],
        ['network', 'inspect', names.bNet], ['network', 'rm', names.bNet],
        ['network', 'connect', names.bNet, names.a], ['network', 'connect', 'bridge', names.b]
      ]
      for (const args of tries) {
        const r = await A(...args)
        assert.notEqual(r.code, 0, `docker ${args.join(' ')} must fail`)
        assert.doesNotMatch(r.stderr, new RegExp(bId.slice(0, 12)), 'no detail of B\'s objects')
      }
      assert.equal((await inspect(`/volumes/${names.bVol}`)).status, 200)
      assert.equal((await inspect(`/networks/${names.bNet}`)).status, 200)
      const net = await inspect(`/networks/${names.bNet}`)
      assert.deepEqual(Object.keys(net.json.Containers ?? {}), [], 'nothing of A joined B\'s network')
    })

    test('review findings: NetworkID, image names, pushes, pulls, list filters, build networks', async () => {
      const aNet = uniqueName('ten-anet')
      networks.push(aNet)
      await dockerOk(cli, hostA, ['network', 'create', aNet], T)
      // An endpoint's NetworkID is what the engine joins: it must be the network the request names.
      let r = await send(hostB, 'POST', `/networks/${names.bNet}/connect`, { Container: names.b, EndpointConfig: { NetworkID: aNet } })
      assert.equal(r.status, 403, r.message)
      r = await send(hostB, 'POST', '/containers/create', { Image: image, HostConfig: { NetworkMode: names.bNet }, NetworkingConfig: { EndpointsConfig: { [names.bNet]: { NetworkID: aNet } } } })
      assert.equal(r.status, 403, r.message)
      assert.deepEqual(Object.keys((await inspect(`/networks/${aNet}`)).json.Containers ?? {}), [], 'nothing joined A\'s network')

      // An image name A holds cannot be taken by a `repo` that carries a tag of its own.
      const victim = uniqueName('ten-victim')
      images.push(`${victim}:latest`)
      await dockerOk(cli, hostA, ['commit', names.a, `${victim}:latest`], T)
      const bImg = `${uniqueName('ten-bimg')}:1`
      images.push(bImg)
      await dockerOk(cli, hostB, ['commit', names.b, bImg], T)
      r = await send(hostB, 'POST', `/images/${bImg}/tag?repo=${victim}:zzz&tag=latest`)
      assert.equal(r.status, 409, r.message)
      r = await send(hostB, 'POST', `/commit?container=${names.b}&repo=${victim}:q&tag=latest`)
      assert.equal(r.status, 409, r.message)
      assert.equal((await inspect(`/images/${victim}:latest/json`)).json.Config.Labels[LABEL], 'team-a', 'A keeps its name')

      // What is pushed is checked: the path's tag replaced by `tag`, and never every tag at once.
      const repo = `127.0.0.1:9/${uniqueName('ten-repo')}`
      images.push(`${repo}:a-own`, `${repo}:b-rel`)
      await dockerOk(cli, hostA, ['tag', `${victim}:latest`, `${repo}:a-own`], T)
      await dockerOk(cli, hostB, ['tag', bImg, `${repo}:b-rel`], T)
      r = await send(hostA, 'POST', `/images/${repo}:a-own/push?tag=b-rel`)
      assert.equal(r.status, 404, r.message)
      r = await send(hostA, 'POST', `/images/${repo}/push`)
      assert.equal(r.status, 403, r.message)
      // Pulls: every tag at once is refused; a tag another tenant holds is refused however spelt.
      r = await send(hostA, 'POST', `/images/create?fromImage=${repo}`)
      assert.equal(r.status, 403, r.message)
      r = await send(hostA, 'POST', `/images/create?fromImage=${repo}:zz&tag=b-rel`)
      assert.equal(r.status, 409, r.message)
      r = await send(hostA, 'POST', `/images/create?fromImage=${repo}&tag=b-rel&fromSrc=x`)
      assert.equal(r.status, 409, r.message)

      // List filters that name another tenant's container answer as if it did not exist.
      r = await send(hostA, 'GET', `/containers/json?filters=${encodeURIComponent(JSON.stringify({ before: [names.b] }))}`)
      assert.equal(r.status, 404, r.message)
      r = await send(hostA, 'GET', `/images/json?filters=${encodeURIComponent(JSON.stringify({ since: [bImg] }))}`)
      assert.equal(r.status, 404, r.message)
      // A build cannot join another tenant's container's network namespace.
      r = await send(hostA, 'POST', `/build?networkmode=container:${names.b}`)
      assert.equal(r.status, 404, r.message)
    })

    test('what the engine reads again later is what was checked: networks by id, images by id or exact name', async () => {
      // A names its own network with a prefix of B's network id, puts a container on it, removes
      // its network and starts the container: the engine would look the prefix up again at start.
      const bNetId = (await inspect(`/networks/${names.bNet}`)).json.Id as string
      const onCreate = bNetId.slice(0, 12)
      const onConnect = bNetId.slice(0, 13)
      const spy = uniqueName('ten-a-spy')
      networks.push(onCreate, onConnect)
      created.push(spy)
      await dockerOk(cli, hostA, ['network', 'create', onCreate], T)
      await dockerOk(cli, hostA, ['network', 'create', onConnect], T)
      const ownIds = [(await inspect(`/networks/${onCreate}`)).json.Id, (await inspect(`/networks/${onConnect}`)).json.Id]
      await dockerOk(cli, hostA, ['create', '--name', spy, '--network', onCreate, image, 'sleep', '300'], T)
      await dockerOk(cli, hostA, ['network', 'connect', onConnect, spy], T)
      const stored = (await inspect(`/containers/${spy}/json`)).json.NetworkSettings.Networks
      assert.equal(stored[onCreate].NetworkID, ownIds[0], 'the create\'s endpoint carries the checked network\'s id')
      assert.equal(stored[onConnect].NetworkID, ownIds[1], 'so does the connect of a stopped container')
      await dockerOk(cli, hostA, ['network', 'rm', onCreate, onConnect], T)
      const started = await A('start', spy)
      assert.notEqual(started.code, 0, 'the networks it was checked against are gone')
      assert.deepEqual(Object.keys((await inspect(`/networks/${names.bNet}`)).json.Containers ?? {}), [], 'nothing of A joined B\'s network')

      // An export of a name without a tag: the engine exports every tag of the repository.
      const repo = uniqueName('ten-export')
      images.push(`${repo}:latest`, `${repo}:b-only`)
      await dockerOk(cli, hostA, ['commit', names.a, `${repo}:latest`], T)
      await dockerOk(cli, hostB, ['commit', names.b, `${repo}:b-only`], T)
      const exported = await engineRequest({ ...engine, socketPath: hostA.slice('unix://'.length) }, 'GET', `/images/${repo}/get`)
      assert.equal(exported.status, 200)
      const manifest = JSON.parse(readTar(exported.body, 100).get('manifest.json')!.toString('utf8')) as Array<{ RepoTags: string[] | null }>
      assert.deepEqual(manifest.map((m) => m.RepoTags), [[`${repo}:latest`]], 'only the tag A checked')
      // `docker save` asks with ?names=: one image is judged and pinned the same way.
      const saveDir = mkdtempSync(join(tmpdir(), 'dw-ten-save-'))
      try {
        await dockerOk(cli, hostA, ['save', '-o', join(saveDir, 'a.tar'), repo], T)
        const saved = JSON.parse(readTar(readFileSync(join(saveDir, 'a.tar')), 100).get('manifest.json')!.toString('utf8')) as Array<{ RepoTags: string[] | null }>
        assert.deepEqual(saved.map((m) => m.RepoTags), [[`${repo}:latest`]])
        const both = await A('save', '-o', join(saveDir, 'b.tar'), repo, names.b)
        assert.notEqual(both.code, 0, 'several images at once are refused')
      } finally {
        rmSync(saveDir, { recursive: true, force: true })
      }

      // Image reads, tags and deletes still behave as the client wrote them.
      const aImageId = (await inspect(`/images/${repo}:latest/json`)).json.Id as string
      assert.equal(JSON.parse(await dockerOk(cli, hostA, ['image', 'inspect', '--format', '{{json .Id}}', repo], T)), aImageId)
      await dockerOk(cli, hostA, ['tag', repo, `${repo}:again`], T)
      images.push(`${repo}:again`)
      assert.match(await dockerOk(cli, hostA, ['rmi', `${repo}:again`], T), /Untagged: .*:again/, 'a name is untagged, not the image deleted')
      assert.equal((await inspect(`/images/${repo}:latest/json`)).status, 200)
    })

    test('an Upgrade header on a request that stays HTTP cannot skip what tenancy changes in the answer', async () => {
      const upgrade = (path: string) => `GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAoAAAAAIAAAAA\r\n\r\n`
      const socket = hostA.slice('unix://'.length)
      // curl --http2 sends these headers on every request: a filtered list is refused, not relayed whole.
      const listed = await rawExchange(socket, upgrade('/v1.41/networks'))
      assert.deepEqual(statusCodes(listed), [400], listed)
      assert.match(listed, /does not switch protocols/)
      assert.doesNotMatch(listed, new RegExp(names.bNet))
      // An answer tenancy leaves alone stays an ordinary exchange, as before.
      assert.deepEqual(statusCodes(await rawExchange(socket, upgrade('/v1.41/version'))), [200])
    })

    test('a shared network shows a tenant only its own containers', async () => {
      const shown = await dockerOk(cli, hostA, ['network', 'inspect', 'bridge', '--format', '{{range $k, $v := .Containers}}{{$v.Name}} {{end}}'], T)
      assert.match(shown, new RegExp(names.a))
      assert.doesNotMatch(shown, new RegExp(names.b))
    })

    test('prune never touches another tenant\'s objects', async () => {
      await dockerOk(cli, hostB, ['container', 'prune', '-f'], T)
      assert.equal((await inspect(`/containers/${names.aStopped}/json`)).status, 200, 'A\'s stopped container survives B\'s prune')
      assert.equal((await inspect(`/containers/${names.bStopped}/json`)).status, 404, 'B\'s own stopped container is pruned')
    })

    test('the owner label cannot be forged', async () => {
      const vol = uniqueName('ten-forged')
      const tries: string[][] = [
        ['create', '--label', `${LABEL}=team-b`, image, 'true'],
        ['create', '--label', `${LABEL.toUpperCase()}=team-b`, image, 'true'],
        ['volume', 'create', '--label', `${LABEL}=team-b`, vol],
        ['network', 'create', '--label', `Io.Dockward.Tenant=team-b`, vol],
        ['run', '--rm', '--mount', `type=volume,src=${vol},dst=/x,volume-label=${LABEL}=team-b`, image, 'true'],
        ['commit', '--change', `LABEL "${LABEL}"=team-b`, names.a, uniqueName('forged')]
      ]
      for (const args of tries) {
        const r = await A(...args)
        assert.notEqual(r.code, 0, `docker ${args.join(' ')} must fail`)
        assert.match(r.stderr, /set by dockward/, r.stderr)
      }
      assert.equal((await inspect(`/volumes/${vol}`)).status, 404)
      // A Dockerfile LABEL is overridden by the owner label dockward passes with the build.
      const ctx = mkdtempSync(join(tmpdir(), 'dw-ten-ctx-'))
      try {
        writeFileSync(join(ctx, 'Dockerfile'), `FROM ${image}\nLABEL ${LABEL}=team-b\n`)
        const tag = `${uniqueName('ten-built')}:1`
        images.push(tag)
        await dockerOk(cli, hostA, ['build', '-q', '-t', tag, ctx], { ...T, env: { DOCKER_BUILDKIT: '0' } })
        assert.equal((await inspect(`/images/${tag}/json`)).json.Config.Labels[LABEL], 'team-a')
        assert.notEqual((await B('image', 'inspect', tag)).code, 0, 'B cannot see A\'s image')
        const retag = await B('tag', image, tag)
        assert.notEqual(retag.code, 0, 'B cannot take the name of A\'s image')
      } finally {
        rmSync(ctx, { recursive: true, force: true })
      }
      const commit = `${uniqueName('ten-commit')}:1`
      images.push(commit)
      await dockerOk(cli, hostA, ['commit', names.a, commit], T)
      assert.equal((await inspect(`/images/${commit}/json`)).json.Config.Labels[LABEL], 'team-a')
    })

    test('a name another tenant holds is refused without naming its container', async () => {
      const r = await A('create', '--name', names.b, image, 'true')
      assert.notEqual(r.code, 0)
      assert.match(r.stderr, /already in use/)
      assert.doesNotMatch(r.stderr, new RegExp(bId.slice(0, 12)))
    })

    test('a replay of volume events shows nothing of an earlier volume of the same name, another tenant\'s', async () => {
      const since = Math.floor(Date.now() / 1000) - 1
      const vol = uniqueName('ten-reused')
      volumes.push(vol)
      const bRun = uniqueName('ten-b-reuse')
      const bId = (await dockerOk(cli, hostB, ['run', '-d', '--name', bRun, '-v', `${vol}:/d`, image, 'true'], T)).trim()
      await dockerOk(cli, hostB, ['wait', bRun], T)
      await dockerOk(cli, hostB, ['rm', bRun], T)
      await dockerOk(cli, hostB, ['volume', 'rm', vol], T)
      // A new volume of that name, a second later: A's own from here on.
      await new Promise((resolve) => setTimeout(resolve, 1100))
      await dockerOk(cli, hostA, ['volume', 'create', vol], T)
      const until = Math.floor(Date.now() / 1000) + 1
      const replay = await engineRequest({ ...engine, socketPath: hostA.slice('unix://'.length) }, 'GET', `/events?since=${since}&until=${until}`)
      assert.equal(replay.status, 200)
      const events = replay.body.toString('utf8').trim().split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as { Type: string, Action: string, Actor: { ID: string, Attributes: Record<string, string> } })
      const mine = events.filter((e) => e.Type === 'volume' && e.Actor.ID === vol)
      assert.deepEqual(mine.map((e) => e.Action), ['create'], `only A's own create: ${JSON.stringify(mine)}`)
      assert.ok(!JSON.stringify(events).includes(bId), 'nothing names B\'s container')
    })

    test('A\'s events show nothing of B\'s activity', async () => {
      const events = spawnDocker(cli, hostA, ['events', '--format', '{{json .}}'], { timeoutMs: 30_000 })
      let out = ''
      events.child.stdout!.setEncoding('utf8')
      events.child.stdout!.on('data', (s: string) => { out += s })
      await new Promise((resolve) => setTimeout(resolve, 500))
      const bRun = uniqueName('ten-b-run')
      const bVol = uniqueName('ten-b-evvol')
      await dockerOk(cli, hostB, ['run', '--name', bRun, '-v', `${bVol}:/v`, image, 'true'], T)
      await dockerOk(cli, hostB, ['rm', bRun], T)
      await dockerOk(cli, hostB, ['volume', 'rm', bVol], T)
      const aRun = uniqueName('ten-a-run')
      await dockerOk(cli, hostA, ['run', '--rm', '--name', aRun, image, 'true'], T)
      // A's own destroy event is the last thing to wait for.
      const deadline = Date.now() + 15_000
      while (!out.includes(`"destroy"`) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100))
      events.kill()
      await events.exit
      const lines = out.trim().split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as { Type: string, Actor: { ID: string, Attributes: Record<string, string> } })
      assert.ok(lines.some((e) => e.Actor.Attributes['name'] === aRun), 'A sees its own container')
      for (const e of lines) {
        assert.notEqual(e.Actor.Attributes['name'], bRun, `B's container in A's events: ${JSON.stringify(e)}`)
        assert.notEqual(e.Actor.ID, bVol, `B's volume in A's events: ${JSON.stringify(e)}`)
        if (e.Type === 'container') assert.equal(e.Actor.Attributes[LABEL], 'team-a')
      }
    })

    test('info and system df count only what the tenant sees', async () => {
      const info = JSON.parse(await dockerOk(cli, hostA, ['info', '--format', '{{json .}}'], T)) as { Containers: number }
      const own = (await dockerOk(cli, hostA, ['ps', '-aq'], T)).trim().split('\n').filter((l) => l !== '').length
      assert.equal(info.Containers, own)
      const df = await dockerOk(cli, hostA, ['system', 'df', '-v', '--format', '{{json .}}'], T)
      assert.doesNotMatch(df, new RegExp(names.b))
      assert.doesNotMatch(df, new RegExp(names.bVol))
    })

    test('operators see every tenant and can filter by tenant; callers without a tenant are refused', async () => {
      const all = await dockerOk(cli, hostOps, ['ps', '-a', '--format', '{{.Names}}'], T)
      assert.match(all, new RegExp(names.a))
      assert.match(all, new RegExp(names.b))
      const onlyB = await dockerOk(cli, hostOps, ['ps', '-a', '--filter', `label=${LABEL}=team-b`, '--format', '{{.Names}}'], T)
      assert.doesNotMatch(onlyB, new RegExp(names.a))
      const stray = await docker(cli, hostNobody, ['ps'], T)
      assert.notEqual(stray.code, 0)
      assert.match(stray.stderr, /acts for no tenant/)
    })

    test('environment values are redacted in inspect for the identities named', async () => {
      const name = uniqueName('ten-env')
      created.push(name)
      await dockerOk(cli, hostA, ['create', '--name', name, '-e', 'SECRET=hunter2', image, 'true'], T)
      const own = await dockerOk(cli, hostA, ['inspect', '--format', '{{json .Config.Env}}', name], T)
      assert.match(own, /SECRET=hunter2/)
      const ops = await dockerOk(cli, hostOps, ['inspect', '--format', '{{json .Config.Env}}', name], T)
      assert.match(ops, /SECRET=<redacted>/)
      assert.doesNotMatch(ops, /hunter2/)
    })

    test('both tenants still run normal workloads on shared images', async () => {
      for (const host of [hostA, hostB]) {
        const out = await dockerOk(cli, host, ['run', '--rm', image, 'echo', 'hello'], T)
        assert.equal(out.trim(), 'hello')
        const name = uniqueName('ten-exec')
        created.push(name)
        await dockerOk(cli, host, ['run', '-d', '--name', name, image, 'sleep', '60'], T)
        assert.equal((await dockerOk(cli, host, ['exec', name, 'echo', 'inside'], T)).trim(), 'inside')
        await dockerOk(cli, host, ['rm', '-f', name], T)
      }
      assert.notEqual((await A('rmi', image)).code, 0, 'a shared image cannot be removed by a tenant')
      assert.equal((await inspect(`/images/${image}/json`)).status, 200)
    })
  })
}
