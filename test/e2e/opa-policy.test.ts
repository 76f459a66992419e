import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import http from 'node:http'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { engineRequest, requireEngine, type TestEngine } from '../support/engine.ts'
import { startDockward, type RunningDockward } from '../support/dockward.ts'
import { uniqueName } from '../support/cli.ts'
import { opaTestBundle, opaTestModule } from '../support/opa-test-module.ts'

// OPA policies through a running dockward against the real engine, with the WAT module of
// test/support/opa-test-module.ts standing in for a compiled Rego policy: what it allows reaches
// the engine, what it denies is a 403 with its reason, its failures deny, a broken bundle on
// reload keeps the old decision, and the input it receives is the documented document.

const engine = requireEngine('opa-policy')

interface Answer { status: number, json: any }

function call (socketPath: string, method: string, path: string, body?: unknown, headers: Record<string, string | string[]> = {}): Promise<Answer> {
  const data = body === undefined ? undefined : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body))
  const h: Record<string, string | string[] | number> = { ...headers }
  if (data !== undefined) {
    h['Content-Type'] = 'application/json'
    h['Content-Length'] = data.length
  }
  return new Promise((resolve, reject) => {
    const req = http.request({ socketPath, method, path, headers: h, agent: false }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8')
        let json: unknown = null
        try { json = JSON.parse(text) } catch {}
        resolve({ status: res.statusCode ?? 0, json })
      })
    })
    req.on('error', reject)
    req.end(data)
  })
}

/** The reason of a 403 from `rule`: the message is `dockward: <rule>: <reason>`. */
function deniedBy (a: Answer, rule: string): string {
  assert.equal(a.status, 403, JSON.stringify(a.json))
  const message = String(a.json?.message)
  const prefix = `dockward: ${rule}: `
  assert.ok(message.startsWith(prefix), `expected a denial by ${rule}, got ${message}`)
  return message.slice(prefix.length)
}

async function until (what: string, check: () => boolean | Promise<boolean>, ms = 5000): Promise<void> {
  const end = Date.now() + ms
  while (Date.now() < end) {
    if (await check()) return
    await new Promise((r) => setTimeout(r, 50))
  }
  throw new Error(`timed out waiting for ${what}`)
}

/** A dockward started in `before` in a fresh directory, stopped in `after` with the containers named in `created`. */
interface Running { dw: RunningDockward, dir: string, readonly created: string[] }

function dockwardWith (eng: TestEngine, prefix: string, start: (dir: string) => Promise<RunningDockward>): Running {
  const t = { created: [] as string[] } as Running
  before(async () => {
    t.dir = mkdtempSync(join(tmpdir(), prefix))
    t.dw = await start(t.dir)
  })
  after(async () => {
    await t.dw?.stop()
    for (const name of t.created) await engineRequest(eng, 'DELETE', `/containers/${name}?force=1`)
    rmSync(t.dir, { recursive: true, force: true })
  })
  return t
}

async function exists (eng: TestEngine, name: string): Promise<boolean> {
  return (await engineRequest(eng, 'GET', `/containers/${name}/json`)).status === 200
}

if (engine === null) {
  test('OPA policies through dockward', { skip: 'no engine' }, () => {})
} else {
  for (const minor of [1, 2] as const) abiSuite(engine, minor)
  reloadSuite(engine)
  bareWasmSuite(engine)
  combinedSuite(engine)
}

function abiSuite (eng: TestEngine, minor: 1 | 2): void {
  describe(`an OPA policy on wasm ABI 1.${minor}`, () => {
    const t = dockwardWith(eng, 'dw-opa-', async (dir) => {
      const bundle = join(dir, 'authz.tar.gz')
      writeFileSync(bundle, await opaTestBundle({ minor }, { team: { name: 'blue' } }))
      // A per-tenant socket, so the input carries a real identity.
      return await startDockward({
        upstream: eng.dockerHost,
        config: (socket) => [
          'listen:',
          `  - url: unix://${socket}`,
          '    mode: "0600"',
          '    identity: { name: ci-7, tenant: team-a, groups: [ci, builders] }',
          'policyEngine: opa',
          'opa:',
          '  bundle: authz.tar.gz',
          '  entrypoint: dockward/authz',
          ''
        ].join('\n').replace('authz.tar.gz', bundle)
      })
    })

    test('start-up names the policy, its entrypoint and ABI', () => {
      assert.match(t.dw.stderr(), new RegExp(`OPA policy \\S+authz\\.tar\\.gz \\(entrypoint dockward/authz, ABI 1\\.${minor}, revision test-1, sha256 [0-9a-f]{64}\\)`))
    })

    test('a request the module allows reaches the engine', async () => {
      const name = uniqueName('dw-opa-ok')
      t.created.push(name)
      const a = await call(t.dw.socketPath, 'POST', `/v1.41/containers/create?name=${name}`, { Image: eng.image, Cmd: ['true'] })
      assert.equal(a.status, 201, JSON.stringify(a.json))
      assert.equal(await exists(eng, name), true)
    })

    test('a request it denies is a 403 with its rule and reason, and its data', async () => {
      const name = uniqueName('dw-opa-priv')
      const a = await call(t.dw.socketPath, 'POST', `/v1.41/containers/create?name=${name}`, { Image: eng.image, HostConfig: { Privileged: true } })
      assert.equal(deniedBy(a, 'wat-privileged'), 'privileged containers are denied by the WAT module (data: {"team":{"name":"blue"}})')
      assert.equal(await exists(eng, name), false)
    })

    test('key-case dodges reach the module as the engine\'s field names', async () => {
      for (const body of [{ Image: eng.image, HostConfig: { privileged: true } }, { image: eng.image, hostconfig: { PRIVILEGED: true } }]) {
        const name = uniqueName('dw-opa-case')
        deniedBy(await call(t.dw.socketPath, 'POST', `/v1.41/containers/create?name=${name}`, body), 'wat-privileged')
        assert.equal(await exists(eng, name), false)
      }
    })

    test('a module that traps, aborts or returns garbage denies, and the next request is decided normally', async () => {
      const cases: Array<[string, RegExp]> = [
        ['opa-trap', /wasm trap: unreachable/],
        ['opa-abort', /wat module aborted/],
        ['opa-garbage', /unexpected result type a string/],
        ['opa-notjson', /SyntaxError/],
        ['opa-two', /produced 2 results/],
        ['opa-badallow', /"allow" is a string, not a boolean/]
      ]
      for (const [marker, error] of cases) {
        const name = uniqueName(`dw-${marker}`)
        const reason = deniedBy(await call(t.dw.socketPath, 'POST', `/v1.41/containers/create?name=${name}`, { Image: eng.image }), 'opa-error')
        assert.match(reason, /^the OPA policy failed, so the request is denied: /)
        assert.match(reason, error)
        assert.equal(await exists(eng, name), false)
        await until(`the log line for ${marker}`, () => t.dw.stderr().split('\n').some((l) => l.includes('dockward: OPA policy') && l.includes('failed on ContainerCreate') && error.test(l)))
        assert.equal((await call(t.dw.socketPath, 'GET', '/_ping')).status, 200)
      }
      // Undefined is a plain denial, as in opa-docker-authz.
      const reason = deniedBy(await call(t.dw.socketPath, 'POST', `/v1.41/containers/create?name=${uniqueName('dw-opa-undefined')}`, { Image: eng.image }), 'dockward/authz')
      assert.match(reason, /decision is undefined/)
    })

    test('the input document matches the documented schema field by field', async () => {
      const name = uniqueName('dw-opa-echo')
      const body = {
        image: eng.image,
        Cmd: ['sh'],
        hostconfig: {
          Binds: ['/srv/data:/data:ro,z', 'named:/n', '/srv/x/../logs:/logs'],
          Mounts: [{ Type: 'bind', Source: '/etc/app', Target: '/app', ReadOnly: true }, { Type: 'volume', Source: 'v1', Target: '/v' }],
          Memory: 9007199254740993
        }
      }
      // JSON.stringify would round 2^53+1; the module must see the digits sent.
      const text = JSON.stringify(body).replace('9007199254740992', '9007199254740993')
      const a = await call(t.dw.socketPath, 'POST', `/v1.41/containers/create?name=${name}&unknownparam=1`, text, {
        'X-Custom-Thing': ['one', 'two'],
        'X-Registry-Auth': 'c2VjcmV0',
        Cookie: 'session=secret',
        'User-Agent': 'opa-e2e'
      })
      const reason = deniedBy(a, 'wat-echo')
      assert.match(reason, /"Memory":9007199254740993[,}]/)
      const doc = JSON.parse(reason)
      assert.deepEqual(Object.keys(doc).sort(), ['AuthMethod', 'BindMounts', 'Body', 'Headers', 'Method', 'Path', 'PathArr', 'PathPlain', 'Query', 'User', 'facts', 'identity', 'listener', 'operation', 'params', 'version'])
      assert.equal(doc.Method, 'POST')
      assert.equal(doc.Path, `/v1.41/containers/create?name=${name}`)
      assert.equal(doc.PathPlain, '/v1.41/containers/create')
      assert.deepEqual(doc.PathArr, ['', 'v1.41', 'containers', 'create'])
      assert.deepEqual(doc.Query, { name: [name] })
      assert.equal(doc.Headers['X-Custom-Thing'], 'two')
      assert.equal(doc.Headers['User-Agent'], 'opa-e2e')
      assert.equal(doc.Headers['Content-Type'], 'application/json')
      for (const withheld of ['X-Registry-Auth', 'Cookie', 'Authorization', 'Host']) assert.equal(doc.Headers[withheld], undefined, withheld)
      assert.ok(!reason.includes('c2VjcmV0') && !reason.includes('session=secret'))
      assert.deepEqual(doc.Body.HostConfig.Binds, body.hostconfig.Binds)
      assert.equal(doc.Body.Image, eng.image)
      assert.equal(doc.Body.hostconfig, undefined)
      assert.equal(doc.User, 'ci-7')
      assert.equal(doc.AuthMethod, 'socket')
      assert.deepEqual(doc.BindMounts, [
        { Source: '/srv/data', ReadOnly: true, Resolved: '/srv/data' },
        { Source: '/srv/x/../logs', ReadOnly: false, Resolved: '/srv/logs' },
        { Source: '/etc/app', ReadOnly: true, Resolved: '/etc/app' }
      ])
      assert.equal(doc.operation, 'ContainerCreate')
      assert.equal(doc.version, '1.41')
      assert.deepEqual(doc.params, {})
      assert.deepEqual(doc.identity, { name: 'ci-7', tenant: 'team-a', groups: ['ci', 'builders'], method: 'socket' })
      assert.equal(doc.facts.privileged, false)
      assert.deepEqual(doc.facts.hostPaths, ['/srv/data', '/srv/logs', '/etc/app'])
      assert.deepEqual(doc.facts.ignoredFields, ['query.unknownparam'])
      assert.equal(doc.listener, `unix://${t.dw.socketPath}`)
      assert.equal(await exists(eng, name), false)
    })
  })
}

function reloadSuite (eng: TestEngine): void {
  describe('OPA bundle reload in a running dockward', () => {
    let bundle = ''
    const t = dockwardWith(eng, 'dw-opa-reload-', async (dir) => {
      bundle = join(dir, 'authz.tar.gz')
      writeFileSync(bundle, await opaTestBundle({ minor: 2 }))
      return await startDockward({ upstream: eng.dockerHost, extraArgs: ['--policy-engine', 'opa', '--opa-bundle', bundle, '--opa-entrypoint', 'data.dockward.authz'] })
    })
    const reloads = (): number => (t.dw.stderr().match(/OPA policy reloaded/g) ?? []).length

    test('a broken bundle keeps the old decision, and the log says why', async () => {
      assert.equal((await call(t.dw.socketPath, 'GET', '/containers/json')).status, 200)
      writeFileSync(bundle, 'not a bundle')
      await until('the failure report', () => /OPA policy reload failed, keeping the policy in force: .*authz\.tar\.gz: not a readable OPA bundle: not a gzip file/.test(t.dw.stderr()))
      assert.equal((await call(t.dw.socketPath, 'GET', '/containers/json')).status, 200)
      deniedBy(await call(t.dw.socketPath, 'POST', '/containers/create', { Image: eng.image, HostConfig: { Privileged: true } }), 'wat-privileged')

      // A bundle whose module does not compile is broken too.
      const { tarGz } = await import('../support/tar.ts')
      writeFileSync(bundle, tarGz([{ name: '/policy.wasm', data: Buffer.from(await opaTestModule({ minor: 2 })).subarray(0, 40) }]))
      await until('the second failure report', () => /OPA policy reload failed.*not a valid WebAssembly module/.test(t.dw.stderr()))
      assert.equal((await call(t.dw.socketPath, 'GET', '/containers/json')).status, 200)
    })

    test('a new bundle applies to the next request; SIGHUP reloads', async () => {
      const before = reloads()
      writeFileSync(bundle, await opaTestBundle({ minor: 1, locked: true }, {}, 'locked-1'))
      await until('the locked module', async () => (await call(t.dw.socketPath, 'GET', '/containers/json')).status === 403)
      assert.ok(reloads() > before)
      assert.match(t.dw.stderr(), /OPA policy reloaded: \S+ \(entrypoint dockward\/authz, ABI 1\.1, revision locked-1, sha256/)
      deniedBy(await call(t.dw.socketPath, 'GET', '/containers/json'), 'wat-locked')

      const n = reloads()
      process.kill(t.dw.pid, 'SIGHUP')
      await until('the SIGHUP reload', () => reloads() > n)
      deniedBy(await call(t.dw.socketPath, 'GET', '/containers/json'), 'wat-locked')
    })
  })
}

function bareWasmSuite (eng: TestEngine): void {
  describe('a bare policy.wasm with a boolean entrypoint (opa-docker-authz style)', () => {
    const t = dockwardWith(eng, 'dw-opa-wasm-', async (dir) => {
      const wasm = join(dir, 'policy.wasm')
      writeFileSync(wasm, await opaTestModule({ minor: 2 }))
      // No entrypoint: the default is opa-docker-authz's data.docker.authz.allow.
      return await startDockward({ upstream: eng.dockerHost, extraArgs: ['--policy-engine', 'opa', '--opa-wasm', wasm] })
    })

    test('true allows, false denies with opa-docker-authz\'s message', async () => {
      const name = uniqueName('dw-opa-bool')
      t.created.push(name)
      assert.equal((await call(t.dw.socketPath, 'POST', `/containers/create?name=${name}`, { Image: eng.image })).status, 201)
      assert.equal(await exists(eng, name), true)
      const reason = deniedBy(await call(t.dw.socketPath, 'POST', '/containers/create', { Image: eng.image, HostConfig: { privileged: true } }), 'docker/authz/allow')
      assert.equal(reason, 'request rejected by administrative policy')
    })
  })
}

function combinedSuite (eng: TestEngine): void {
  describe('policyEngine both: the built-in default policy and OPA must both allow', () => {
    const t = dockwardWith(eng, 'dw-opa-both-', async (dir) => {
      writeFileSync(join(dir, 'authz.tar.gz'), await opaTestBundle({ minor: 2 }))
      return await startDockward({
        upstream: eng.dockerHost,
        config: (socket) => `listen: [unix://${socket}]\npolicy: default\npolicyEngine: both\nopa:\n  bundle: ${join(dir, 'authz.tar.gz')}\n  entrypoint: dockward/authz\n`
      })
    })

    test('the denial that decides is reported: the built-in one first, then OPA\'s', async () => {
      assert.match(t.dw.stderr(), /policy engines: the built-in policy, then OPA; both must allow/)
      deniedBy(await call(t.dw.socketPath, 'POST', '/containers/create', { Image: eng.image, HostConfig: { Privileged: true } }), 'deny-privileged')
      deniedBy(await call(t.dw.socketPath, 'POST', '/containers/create', { Image: eng.image, HostConfig: { Binds: ['/etc:/x'] } }), 'deny-host-paths')
      const name = uniqueName('dw-opa-badallow')
      deniedBy(await call(t.dw.socketPath, 'POST', `/containers/create?name=${name}`, { Image: eng.image }), 'opa-error')
      assert.equal(await exists(eng, name), false)
    })

    test('what both allow reaches the engine', async () => {
      const name = uniqueName('dw-opa-both')
      t.created.push(name)
      assert.equal((await call(t.dw.socketPath, 'POST', `/containers/create?name=${name}`, { Image: eng.image })).status, 201)
      assert.equal(await exists(eng, name), true)
    })
  })
}
