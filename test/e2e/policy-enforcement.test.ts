import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { readdirSync } from 'node:fs'
import { engineRequest, requireEngine, type TestEngine } from '../support/engine.ts'
import { startDockward, type RunningDockward } from '../support/dockward.ts'
import { rawExchange, statusCodes } from '../support/raw-client.ts'
import { sendRequest } from '../support/engine-reply.ts'
import { DOCKER_CLIS, cliMissing, docker, uniqueName } from '../support/cli.ts'

// The default policy against the real engine: every host-escape fact and every disguise is sent
// through dockward, and the engine is then asked directly whether anything was created. A row
// passes only if dockward refused it AND the engine holds no such object.

const engine = requireEngine('policy-enforcement')

const send = sendRequest

const DENIED = /^dockward: [a-z0-9][a-z0-9.-]*: \S/

if (engine === null) {
  test('policy enforcement against the engine', { skip: 'no engine' }, () => {})
} else {
  suite(engine)
}

function suite (eng: TestEngine): void {
  describe('default policy against the real engine', () => {
    let dw: RunningDockward
    const created: string[] = []
    const volumes: string[] = []

    before(async () => { dw = await startDockward({ upstream: eng.dockerHost, tcp: true }) })
    after(async () => {
      for (const name of created) await engineRequest(eng, 'DELETE', `/containers/${name}?force=1`)
      for (const name of volumes) await engineRequest(eng, 'DELETE', `/volumes/${name}?force=1`)
      await dw.stop()
    })

    async function exists (name: string): Promise<boolean> {
      const r = await engineRequest(eng, 'GET', `/containers/${name}/json`)
      if (r.status === 200) created.push(name)
      return r.status === 200
    }

    const create = (hostConfig: Record<string, unknown>, extra: Record<string, unknown> = {}): string =>
      JSON.stringify({ Image: eng.image, Cmd: ['true'], ...extra, HostConfig: hostConfig })

    // One row per host-escape fact: the body dockward must deny with 403 and the policy's reason.
    const deniedCreates: Array<[string, string]> = [
      ['privileged', create({ Privileged: true })],
      ['bind mount in Binds', create({ Binds: ['/:/host'] })],
      ['bind mount, path not clean', create({ Binds: ['/tmp/../etc:/host:ro'] })],
      ['bind mount in Mounts', create({ Mounts: [{ Type: 'bind', Source: '/etc', Target: '/host' }] })],
      ['volume with bind options inline', create({ Mounts: [{ Type: 'volume', Source: uniqueName('dw-bindvol'), Target: '/x', VolumeOptions: { DriverConfig: { Name: 'local', Options: { type: 'none', o: 'bind', device: '/etc' } } } }] })],
      ['added capability', create({ CapAdd: ['SYS_ADMIN'] })],
      ['added capability, lower case with prefix', create({ CapAdd: ['cap_sys_admin'] })],
      ['device', create({ Devices: [{ PathOnHost: '/dev/null', PathInContainer: '/dev/x', CgroupPermissions: 'rwm' }] })],
      ['device request', create({ DeviceRequests: [{ Driver: '', Count: -1, Capabilities: [['gpu']] }] })],
      ['device cgroup rule', create({ DeviceCgroupRules: ['c *:* rmw'] })],
      ['host pid namespace', create({ PidMode: 'host' })],
      ['host ipc namespace', create({ IpcMode: 'host' })],
      ['host uts namespace', create({ UTSMode: 'host' })],
      ['host network', create({ NetworkMode: 'host' })],
      ['host user namespace', create({ UsernsMode: 'host' })],
      ['host cgroup namespace', create({ CgroupnsMode: 'host' })],
      ['seccomp unconfined', create({ SecurityOpt: ['seccomp=unconfined'] })],
      ['apparmor unconfined', create({ SecurityOpt: ['apparmor=unconfined'] })],
      ['SELinux labels off, legacy separator', create({ SecurityOpt: ['label:disable'] })],
      ['sysctl', create({ Sysctls: { 'net.ipv4.ip_forward': '1' } })],
      ['cgroup parent', create({ CgroupParent: '/system.slice' })],
      ['other runtime', create({ Runtime: 'io.containerd.runsc.v1' })],
      ['masked paths override', create({ MaskedPaths: [] })],
      ['read-only paths override', create({ ReadonlyPaths: [] })],
      ['log driver that ships logs off the host', create({ LogConfig: { Type: 'syslog', Config: { 'syslog-address': 'udp://127.0.0.1:514' } } })]
    ]
    for (const [name, body] of deniedCreates) {
      test(`denied: ${name}`, async () => {
        const cname = uniqueName('dw-deny')
        const r = await send(dw.socketPath, 'POST', `/v1.41/containers/create?name=${cname}`, body)
        assert.equal(r.status, 403, r.message)
        assert.match(r.message, DENIED)
        assert.equal(await exists(cname), false, 'the engine created the container')
      })
    }

    // Disguises: the same host escapes spelled the ways Go's decoder and Go's HTTP server accept.
    const disguised: Array<[string, (name: string) => Promise<number[]>]> = [
      ['key case', async (n) => [(await send(dw.socketPath, 'POST', `/containers/create?name=${n}`, `{"image":"${eng.image}","hostconfig":{"privileged":true}}`)).status]],
      ['Unicode folding (long s in HostConfig)', async (n) => [(await send(dw.socketPath, 'POST', `/containers/create?name=${n}`, `{"Image":"${eng.image}","Ho\u017ftConfig":{"Privileged":true}}`)).status]],
      ['Unicode folding (Kelvin sign in MaskedPaths)', async (n) => [(await send(dw.socketPath, 'POST', `/containers/create?name=${n}`, `{"Image":"${eng.image}","HostConfig":{"Mas\u212AedPaths":[]}}`)).status]],
      ['escaped key', async (n) => [(await send(dw.socketPath, 'POST', `/containers/create?name=${n}`, `{"Image":"${eng.image}","HostConfig":{"Privil\\u0065ged":true}}`)).status]],
      ['exact duplicate key, last wins in Go', async (n) => [(await send(dw.socketPath, 'POST', `/containers/create?name=${n}`, `{"Image":"${eng.image}","HostConfig":{"Privileged":false,"Privileged":true}}`)).status]],
      ['case-variant duplicate key', async (n) => [(await send(dw.socketPath, 'POST', `/containers/create?name=${n}`, `{"Image":"${eng.image}","HostConfig":{"Privileged":false,"privileged":true}}`)).status]],
      ['duplicate objects merge in Go', async (n) => [(await send(dw.socketPath, 'POST', `/containers/create?name=${n}`, `{"Image":"${eng.image}","HostConfig":{"Binds":[]},"hostConfig":{"Privileged":true}}`)).status]],
      ['HostConfig field at the top level (honoured by 20.10)', async (n) => [(await send(dw.socketPath, 'POST', `/containers/create?name=${n}`, `{"Image":"${eng.image}","Privileged":true}`)).status]],
      ['null HostConfig with top-level fields', async (n) => [(await send(dw.socketPath, 'POST', `/containers/create?name=${n}`, `{"Image":"${eng.image}","HostConfig":null,"Binds":["/:/host"]}`)).status]],
      ['trailing data after the body', async (n) => [(await send(dw.socketPath, 'POST', `/containers/create?name=${n}`, `{"Image":"${eng.image}"} {"HostConfig":{"Privileged":true}}`)).status]],
      ['chunked body', async (n) => [(await send(dw.socketPath, 'POST', `/containers/create?name=${n}`, `{"Image":"${eng.image}","HostConfig":{"Privileged":true}}`, { 'Transfer-Encoding': 'chunked' })).status]],
      ['form-encoded body', async (n) => [(await send(dw.socketPath, 'POST', `/containers/create?name=${n}`, `{"Image":"${eng.image}","HostConfig":{"Privileged":true}}`, { 'Content-Type': 'Application/X-WWW-Form-Urlencoded; charset=utf-8' })).status]],
      ['form body under a Unicode Content-Type on a streamed route (Go lower-cases İ to i)', async (n) => statusCodes(await rawExchange(dw.socketPath, Buffer.concat([
        Buffer.from(`POST /build?t=${n} HTTP/1.1\r\nHost: x\r\nContent-Type: `),
        Buffer.from('applİcation/x-www-form-urlencoded', 'utf8'),
        Buffer.from(`\r\nContent-Length: 46\r\n\r\nnetworkmode=host&remote=http://127.0.0.1:9/x`)
      ])))],
      ['text/plain body on a JSON route', async (n) => [(await send(dw.socketPath, 'POST', `/containers/create?name=${n}`, `{"Image":"${eng.image}","HostConfig":{"Privileged":true}}`, { 'Content-Type': 'text/plain' })).status]],
      ['body over the 4 MiB cap', async (n) => [(await send(dw.socketPath, 'POST', `/containers/create?name=${n}`, `{"Image":"${eng.image}","Env":["X=${'a'.repeat(5 * 1024 * 1024)}"],"HostConfig":{"Privileged":true}}`)).status]],
      ['invalid UTF-8 in the body', async (n) => [(await send(dw.socketPath, 'POST', `/containers/create?name=${n}`, Buffer.concat([Buffer.from(`{"Image":"${eng.image}","Labels":{"a":"`), Buffer.from([0xff, 0xfe]), Buffer.from('"},"HostConfig":{"Privileged":true}}')]))).status]],
      ['encoded slash in the path', async (n) => [(await send(dw.socketPath, 'POST', `/containers%2Fcreate?name=${n}`, `{"Image":"${eng.image}","HostConfig":{"Privileged":true}}`)).status]],
      ['dot segment in the path', async (n) => statusCodes(await rawExchange(dw.socketPath,
        `POST /v1.41/images/../containers/create?name=${n} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}`))],
      ['old API version', async (n) => [(await send(dw.socketPath, 'POST', `/v1.20/containers/create?name=${n}`, `{"Image":"${eng.image}","HostConfig":{"Privileged":true}}`)).status]],
      ['semicolon in the query', async (n) => [(await send(dw.socketPath, 'POST', `/containers/create?name=${n};x=1`, `{"Image":"${eng.image}","HostConfig":{"Privileged":true}}`)).status]]
    ]
    for (const [name, run] of disguised) {
      test(`disguise refused: ${name}`, async () => {
        const cname = uniqueName('dw-disguise')
        const statuses = await run(cname)
        assert.ok(statuses.length > 0, 'no answer')
        for (const s of statuses) assert.ok(s === 400 || s === 403 || s === 413, `status ${s} in ${statuses.join(',')}`)
        assert.equal(await exists(cname), false, 'the engine created the container')
      })
    }

    test('disguise refused: Content-Length: 0 with the body behind it — the empty create fails, the bytes behind it are a 400 after it', async () => {
      const name = uniqueName('dw-disguise')
      const out = await rawExchange(dw.socketPath,
        `POST /containers/create?name=${name} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 0\r\n\r\n{"Image":"${eng.image}","HostConfig":{"Privileged":true}}`)
      const statuses = statusCodes(out)
      // The empty create goes to the engine, which cannot read it (500 "EOF" from dockerd 20.10);
      // the hidden body is never a request: it is answered 400, in order, and the connection closes.
      assert.equal(statuses.length, 2, out)
      assert.ok(statuses[0]! >= 400, out)
      assert.equal(statuses[1], 400, out)
      assert.match(out, /malformed HTTP request/)
      assert.equal(await exists(name), false, 'the engine created the container')
    })

    test('a key that only looks like a field (dotless i) is dropped, as the engine would ignore it', async () => {
      const cname = uniqueName('dw-dotless')
      const r = await send(dw.socketPath, 'POST', `/containers/create?name=${cname}`, `{"Image":"${eng.image}","HostConfig":{"Privıleged":true}}`)
      assert.equal(r.status, 201, r.message)
      assert.equal(await exists(cname), true)
      const inspect = await engineRequest(eng, 'GET', `/containers/${cname}/json`)
      assert.equal(inspect.json.HostConfig.Privileged, false)
    })

    test('an ordinary compose-style create passes, and the engine got exactly the decided fields', async () => {
      const net = uniqueName('dw-net')
      const r0 = await send(dw.socketPath, 'POST', '/v1.41/networks/create', JSON.stringify({ Name: net, CheckDuplicate: true, Driver: 'bridge', Labels: { 'com.docker.compose.project': 'p' } }))
      assert.equal(r0.status, 201, r0.message)
      const cname = uniqueName('dw-compose')
      const body = JSON.stringify({
        Image: eng.image,
        Cmd: ['sleep', '1'],
        Env: ['A=1'],
        Labels: { 'com.docker.compose.service': 'web' },
        ExposedPorts: { '80/tcp': {} },
        Healthcheck: { Test: ['CMD', 'true'], Interval: 1000000000 },
        HostConfig: { PortBindings: { '80/tcp': [{ HostIp: '127.0.0.1', HostPort: '' }] }, RestartPolicy: { Name: 'no' }, Memory: 67108864, Mounts: [{ Type: 'volume', Source: `${cname}-data`, Target: '/data' }], NetworkMode: net },
        NetworkingConfig: { EndpointsConfig: { [net]: { Aliases: ['web'] } } }
      })
      volumes.push(`${cname}-data`)
      const r = await send(dw.socketPath, 'POST', `/v1.41/containers/create?name=${cname}`, body)
      assert.equal(r.status, 201, r.message)
      const inspect = await engineRequest(eng, 'GET', `/containers/${cname}/json`)
      created.push(cname)
      assert.equal(inspect.json.HostConfig.Memory, 67108864)
      assert.equal(inspect.json.HostConfig.PortBindings['80/tcp'][0].HostIp, '127.0.0.1')
      assert.deepEqual(inspect.json.NetworkSettings.Networks[net].Aliases.includes('web'), true)
      assert.equal(inspect.json.Config.Labels['com.docker.compose.service'], 'web')
      await engineRequest(eng, 'DELETE', `/containers/${cname}?force=1`)
      await engineRequest(eng, 'DELETE', `/networks/${net}`)
    })

    test('old API version: a container start with a HostConfig body is refused before the engine sees it', async () => {
      const cname = uniqueName('dw-oldstart')
      const c = await engineRequest(eng, 'POST', `/containers/create?name=${cname}`, { Image: eng.image, Cmd: ['true'] })
      assert.equal(c.status, 201)
      created.push(cname)
      const r = await send(dw.socketPath, 'POST', `/v1.23/containers/${cname}/start`, '{"Privileged":true,"Binds":["/:/host"]}')
      assert.equal(r.status, 400)
      assert.match(r.message, /too old/)
      const inspect = await engineRequest(eng, 'GET', `/containers/${cname}/json`)
      assert.equal(inspect.json.HostConfig.Privileged, false)
      assert.equal(inspect.json.State.Status, 'created')
    })

    test('volumes: bind options are denied at create, and an existing bind volume cannot be mounted', async () => {
      const bindVol = uniqueName('dw-bindvol')
      const r = await send(dw.socketPath, 'POST', '/volumes/create', JSON.stringify({ Name: bindVol, Driver: 'local', DriverOpts: { type: 'none', o: 'bind', device: '/etc' } }))
      assert.equal(r.status, 403, r.message)
      assert.equal((await engineRequest(eng, 'GET', `/volumes/${bindVol}`)).status, 404)
      // Made by the operator directly on the engine, then named by a client through dockward.
      const existing = uniqueName('dw-opvol')
      volumes.push(existing)
      assert.equal((await engineRequest(eng, 'POST', '/volumes/create', { Name: existing, Driver: 'local', DriverOpts: { type: 'none', o: 'bind', device: '/etc' } })).status, 201)
      const cname = uniqueName('dw-useopvol')
      const r2 = await send(dw.socketPath, 'POST', `/containers/create?name=${cname}`, create({ Binds: [`${existing}:/x`] }))
      assert.equal(r2.status, 403, r2.message)
      assert.equal(await exists(cname), false)
      const plain = uniqueName('dw-plainvol')
      volumes.push(plain)
      const r3 = await send(dw.socketPath, 'POST', '/volumes/create', JSON.stringify({ Name: plain, Labels: { a: 'b' } }))
      assert.equal(r3.status, 201, r3.message)
    })

    test('a bodiless POST without Content-Length reaches the engine as bodiless (curl -X POST …/start)', async () => {
      const cname = uniqueName('dw-nolength')
      assert.equal((await engineRequest(eng, 'POST', `/containers/create?name=${cname}`, { Image: eng.image, Cmd: ['true'] })).status, 201)
      created.push(cname)
      const out = await rawExchange(dw.socketPath, `POST /v1.41/containers/${cname}/start HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`)
      assert.deepEqual(statusCodes(out), [204], out)
    })

    test('a body on an attach upgrade is refused, so the engine cannot read parameters from it', async () => {
      const cname = uniqueName('dw-attachbody')
      assert.equal((await engineRequest(eng, 'POST', `/containers/create?name=${cname}`, { Image: eng.image, Cmd: ['true'] })).status, 201)
      created.push(cname)
      const body = 'logs=1&stdout=1'
      const out = await rawExchange(dw.socketPath, `POST /containers/${cname}/attach?stream=0 HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: tcp\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: ${body.length}\r\n\r\n${body}`)
      assert.deepEqual(statusCodes(out), [400], out)
      const out2 = await rawExchange(dw.socketPath, `POST /containers/${cname}/attach?stream=0 HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: tcp\r\nContent-Length: ${body.length}\r\n\r\n${body}`)
      assert.deepEqual(statusCodes(out2), [400], out2)
    })

    test('exec: a privileged exec is denied, in any key case', async () => {
      const cname = uniqueName('dw-exec')
      const c = await engineRequest(eng, 'POST', `/containers/create?name=${cname}`, { Image: eng.image, Cmd: ['sleep', '30'] })
      assert.equal(c.status, 201)
      created.push(cname)
      assert.equal((await engineRequest(eng, 'POST', `/containers/${cname}/start`)).status, 204)
      for (const body of ['{"Cmd":["true"],"Privileged":true}', '{"Cmd":["true"],"privileged":true}', '{"Cmd":["true"],"PRIVILEGED":true}']) {
        const r = await send(dw.socketPath, 'POST', `/containers/${cname}/exec`, body)
        assert.equal(r.status, 403, `${body}: ${r.message}`)
      }
      const ok = await send(dw.socketPath, 'POST', `/containers/${cname}/exec`, '{"Cmd":["true"]}')
      assert.equal(ok.status, 201, ok.message)
      const ids = (await engineRequest(eng, 'GET', `/containers/${cname}/json`)).json.ExecIDs as string[]
      assert.equal(ids.length, 1, 'only the unprivileged exec reached the engine')
    })

    test('an existing container\'s host access cannot be borrowed: VolumesFrom, namespace joins, exec, archive', async () => {
      // The operator's agent, made directly on the engine: a host bind and the host's pid namespace.
      const agent = uniqueName('dw-agent')
      const made = await engineRequest(eng, 'POST', `/containers/create?name=${agent}`, { Image: eng.image, Cmd: ['sleep', '60'], HostConfig: { Binds: ['/tmp:/host-tmp'], PidMode: 'host' } })
      assert.equal(made.status, 201, JSON.stringify(made.json))
      created.push(agent)
      assert.equal((await engineRequest(eng, 'POST', `/containers/${agent}/start`)).status, 204)
      for (const [label, hc] of [['VolumesFrom', { VolumesFrom: [agent] }], ['pid join', { PidMode: `container:${agent}` }]] as const) {
        const cname = uniqueName('dw-borrow')
        const r = await send(dw.socketPath, 'POST', `/containers/create?name=${cname}`, create(hc))
        assert.equal(r.status, 403, `${label}: ${r.message}`)
        assert.equal(await exists(cname), false, label)
      }
      const exec = await send(dw.socketPath, 'POST', `/containers/${agent}/exec`, '{"Cmd":["true"]}')
      assert.equal(exec.status, 403, exec.message)
      assert.equal(((await engineRequest(eng, 'GET', `/containers/${agent}/json`)).json.ExecIDs ?? []).length, 0)
      const get = await send(dw.socketPath, 'GET', `/containers/${agent}/archive?path=/host-tmp`)
      assert.equal(get.status, 403, get.message)
      const put = await send(dw.socketPath, 'PUT', `/containers/${agent}/archive?path=/host-tmp`, Buffer.alloc(1024), { 'Content-Type': 'application/x-tar' })
      assert.equal(put.status, 403, put.message)
    })

    test('a container name that names nothing yet is refused, not forwarded for the engine to resolve later', async () => {
      // Forwarded, the name could be given to the operator's agent by a rename before the engine
      // reads it, and `container:<x>` network modes are read at every start.
      const future = uniqueName('dw-future')
      const cname = uniqueName('dw-later')
      const r = await send(dw.socketPath, 'POST', `/containers/create?name=${cname}`, create({ NetworkMode: `container:${future}` }))
      assert.deepEqual([r.status, r.message], [400, `No such container: ${future}`])
      assert.equal(await exists(cname), false, 'the engine itself would have created it, joining whatever is named so at start')
      for (const hc of [{ VolumesFrom: [future] }, { PidMode: `container:${future}` }, { Links: [`${future}:db`] }]) {
        const refused = await send(dw.socketPath, 'POST', `/containers/create?name=${cname}`, create(hc))
        assert.deepEqual([refused.status, refused.message], [400, `No such container: ${future}`], JSON.stringify(hc))
      }
      const put = await send(dw.socketPath, 'PUT', `/containers/${future}/archive?path=/tmp`, Buffer.alloc(1024), { 'Content-Type': 'application/x-tar' })
      assert.deepEqual([put.status, put.message], [404, `No such container: ${future}`])
    })

    test('a named volume another container mounts gets no copy of the image\'s files; a volume held by none does', async () => {
      // The copy follows symlinks in the volume as root on the host: a container that has the
      // volume mounted could plant one during the copy (a review reproduced host writes).
      const shared = uniqueName('dw-vol-shared')
      const fresh = uniqueName('dw-vol-fresh')
      volumes.push(shared, fresh)
      const holder = uniqueName('dw-vol-holder')
      let r = await send(dw.socketPath, 'POST', `/containers/create?name=${holder}`, create({ Binds: [`${shared}:/v:nocopy`] }, { Cmd: ['sleep', '60'] }))
      assert.equal(r.status, 201, r.message)
      created.push(holder)
      assert.equal((await engineRequest(eng, 'POST', `/containers/${holder}/start`)).status, 204)
      const copying = uniqueName('dw-vol-copy')
      r = await send(dw.socketPath, 'POST', `/containers/create?name=${copying}`, create({ Binds: [`${shared}:/bin`] }))
      assert.equal(r.status, 201, r.message)
      created.push(copying)
      assert.deepEqual((await engineRequest(eng, 'GET', `/containers/${copying}/json`)).json.HostConfig.Binds, [`${shared}:/bin:nocopy`])
      const sharedDir = (await engineRequest(eng, 'GET', `/volumes/${shared}`)).json.Mountpoint as string
      assert.deepEqual(readdirSync(sharedDir), [], 'nothing was copied into the volume the holder mounts')
      // A volume no container mounts is filled from the image as usual.
      const alone = uniqueName('dw-vol-alone')
      r = await send(dw.socketPath, 'POST', `/containers/create?name=${alone}`, JSON.stringify({ Image: eng.image, Cmd: ['true'], HostConfig: { Mounts: [{ Type: 'volume', Source: fresh, Target: '/bin' }] } }))
      assert.equal(r.status, 201, r.message)
      created.push(alone)
      assert.equal((await engineRequest(eng, 'GET', `/containers/${alone}/json`)).json.HostConfig.Mounts[0].VolumeOptions, undefined)
      const freshDir = (await engineRequest(eng, 'GET', `/volumes/${fresh}`)).json.Mountpoint as string
      assert.ok(readdirSync(freshDir).includes('busybox'), 'the image\'s /bin was copied into the new volume')
    })

    test('an anonymous volume being filled cannot be mounted by another create until the first is answered', async () => {
      // An image with a VOLUME over many files: the engine fills the anonymous volume at create,
      // for a few seconds, and its random name is listed while it does.
      const maker = uniqueName('dw-vol-maker')
      let r = await engineRequest(eng, 'POST', `/containers/create?name=${maker}`, { Image: eng.image, Cmd: ['sh', '-c', 'mkdir -p /data/a && cd /data/a && seq 1 30000 | xargs touch'] })
      assert.equal(r.status, 201)
      created.push(maker)
      assert.equal((await engineRequest(eng, 'POST', `/containers/${maker}/start`)).status, 204)
      assert.equal((await engineRequest(eng, 'POST', `/containers/${maker}/wait`)).json.StatusCode, 0)
      const image = `${uniqueName('dw-anon-copy')}:1`
      r = await engineRequest(eng, 'POST', `/commit?container=${maker}&repo=${image.split(':')[0]!}&tag=1&changes=${encodeURIComponent('VOLUME /data')}`)
      assert.equal(r.status, 201, r.body.toString())
      try {
        const before = new Set(((await engineRequest(eng, 'GET', '/volumes')).json.Volumes ?? []).map((v: { Name: string }) => v.Name))
        const filler = uniqueName('dw-vol-filler')
        const filling = send(dw.socketPath, 'POST', `/containers/create?name=${filler}`, JSON.stringify({ Image: image, Cmd: ['true'] }))
        let anonymous: string | undefined
        const deadline = Date.now() + 20_000
        while (anonymous === undefined && Date.now() < deadline) {
          const now = ((await engineRequest(eng, 'GET', '/volumes')).json.Volumes ?? []) as Array<{ Name: string }>
          anonymous = now.map((v) => v.Name).find((n) => !before.has(n))
          if (anonymous === undefined) await new Promise((resolve) => setTimeout(resolve, 20))
        }
        assert.ok(anonymous !== undefined, 'the anonymous volume appeared while its create ran')
        volumes.push(anonymous)
        const mounter = uniqueName('dw-vol-mounter')
        const mounted = await send(dw.socketPath, 'POST', `/containers/create?name=${mounter}`, create({ Binds: [`${anonymous}:/v`] }))
        created.push(filler, mounter)
        assert.equal(mounted.status, 201, mounted.message)
        // The second create was answered only after the first: the filler exists by then.
        assert.equal((await engineRequest(eng, 'GET', `/containers/${filler}/json`)).status, 200, 'the filling create was answered first')
        assert.equal((await filling).status, 201)
      } finally {
        // The image goes now; its containers first (the suite removes them again, harmlessly).
        for (const name of created.slice(-3)) await engineRequest(eng, 'DELETE', `/containers/${name}?force=1`)
        await engineRequest(eng, 'DELETE', `/images/${image}?force=1`)
      }
    })

    test('an ordinary container is reached by full id: exec and archive by name still work', async () => {
      const cname = uniqueName('dw-plain')
      const made = await engineRequest(eng, 'POST', `/containers/create?name=${cname}`, { Image: eng.image, Cmd: ['sleep', '60'] })
      created.push(cname)
      assert.equal((await engineRequest(eng, 'POST', `/containers/${cname}/start`)).status, 204)
      const exec = await send(dw.socketPath, 'POST', `/containers/${cname}/exec`, '{"Cmd":["true"]}')
      assert.equal(exec.status, 201, exec.message)
      const head = await send(dw.socketPath, 'HEAD', `/containers/${cname}/archive?path=/bin`)
      assert.equal(head.status, 200)
      assert.equal(made.json.Id.length, 64)
    })

    test('build: host network is denied in the query, and a duplicated parameter is refused', async () => {
      const r = await send(dw.socketPath, 'POST', '/build?networkmode=host&t=dw-never', Buffer.alloc(1024), { 'Content-Type': 'application/x-tar' })
      assert.equal(r.status, 403, r.message)
      const r2 = await send(dw.socketPath, 'POST', '/build?networkmode=default&networkmode=host', Buffer.alloc(1024), { 'Content-Type': 'application/x-tar' })
      assert.equal(r2.status, 400, r2.message)
    })

    test('image import from a URL the engine would fetch is denied', async () => {
      const r = await send(dw.socketPath, 'POST', '/images/create?fromSrc=http://127.0.0.1:9/x.tar&repo=dw-never')
      assert.equal(r.status, 403, r.message)
    })

    for (const cli of DOCKER_CLIS) {
      const missing = cliMissing(cli)
      describe(`docker ${cli.name} prints dockward's reason`, { skip: missing ?? false }, () => {
        const cases: Array<[string, string[]]> = [
          ['--privileged', ['--privileged']],
          ['-v /:/host', ['-v', '/:/host']],
          ['--pid host', ['--pid', 'host']],
          ['--cap-add SYS_ADMIN', ['--cap-add', 'SYS_ADMIN']],
          ['--device', ['--device', '/dev/null:/dev/x']],
          ['--security-opt seccomp=unconfined', ['--security-opt', 'seccomp=unconfined']]
        ]
        for (const [label, flags] of cases) {
          test(`docker run ${label}`, async () => {
            const cname = uniqueName('dw-cli-deny')
            const r = await docker(cli, dw.dockerHost, ['run', '--rm', '--name', cname, ...flags, eng.image, 'true'], { timeoutMs: 60_000 })
            assert.notEqual(r.code, 0)
            assert.match(r.stderr, /Error response from daemon: dockward: [a-z0-9.-]+: /, r.stderr)
            assert.equal(await exists(cname), false)
          })
        }
      })
    }
  })
}
