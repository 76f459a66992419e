import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { buildPolicyInput } from '../../src/cli/policy-command.ts'
import { resolveConfig } from '../../src/config/config.ts'
import { ConfigError } from '../../src/core/errors.ts'
import { loadPolicy, readPolicySource } from '../../src/decide/policy-loader.ts'
import { createPolicyStore } from '../../src/decide/policy-store.ts'
import { haproxyBool, readSocketProxyEnv, SOCKET_PROXY_SECTIONS, type SocketProxyVariant } from '../../src/decide/socket-proxy-policy.ts'
import { bodyKindOf } from '../../src/inspect/canonical-body.ts'
import { routeTable } from '../../src/route/route-table.ts'

// The oracle: docker-socket-proxy's HAProxy rules, evaluated the way HAProxy does on the
// url-decoded path (case-insensitive, unanchored at the end). Classic is the released
// haproxy.cfg (its optional `(/\w+)?` segment after the version included); granular is the
// templated config of its master branch. Defaults are the upstream image's ENV.
type Env = Record<string, string>
const DEFAULT_ON = new Set(['EVENTS', 'PING', 'VERSION'])
const ID = '[a-zA-Z0-9_.-]+'

function haproxyAllows (variant: SocketProxyVariant, env: Env, method: string, path: string): boolean {
  const on = (name: string): boolean => env[name] === undefined ? DEFAULT_ON.has(name) : haproxyBool(env[name])
  const prefix = variant === 'classic' ? '^(/v[\\d\\.]+)?(/\\w+)?' : '^(/v[\\d\\.]+)?'
  const p = decodeURIComponent(path)
  const hit = (re: string): boolean => new RegExp(prefix + re, 'i').test(p)
  const get = method === 'GET' || method === 'HEAD'
  if (variant === 'classic') {
    if (!get && !on('POST')) return false
  } else {
    if (!(get || (['POST', 'DELETE', 'PUT', 'PATCH'].includes(method) && on(method)))) return false
    const gates: Array<[string, string]> = [['exec', 'ALLOW_EXEC'], ['kill', 'ALLOW_KILL'], ['attach', 'ALLOW_ATTACH'], ['archive', 'ALLOW_ARCHIVE'], ['export', 'ALLOW_EXPORT'], ['logs', 'ALLOW_LOGS']]
    for (const [sub, name] of gates) if (hit(`/containers/${ID}/${sub}`) && !on(name)) return false
  }
  const actions: Array<[string, string]> = [['((stop)|(restart)|(kill))', 'ALLOW_RESTARTS'], ['start', 'ALLOW_START'], ['stop', 'ALLOW_STOP']]
  if (variant === 'granular') actions.push(['pause', 'ALLOW_PAUSE'], ['unpause', 'ALLOW_UNPAUSE'])
  for (const [sub, name] of actions) if (hit(`/containers/${ID}/${sub}`) && on(name)) return true
  for (const s of SOCKET_PROXY_SECTIONS) if (hit(s === 'PING' ? '/_ping' : `/${s.toLowerCase()}`) && on(s)) return true
  return false
}

/** Every route, with and without a version prefix, with a harmless body where it takes one. */
const requests = routeTable.flatMap((r) => {
  const path = r.template.replace('{id}', 'c0ffee').replace('{name*}', 'busybox').replace('{name}', 'vol1')
  const kind = bodyKindOf(r.operation)
  const body = kind === 'json' ? Buffer.from(['PluginPull', 'PluginSet', 'PluginUpgrade'].includes(r.operation) ? '[]' : '{}') : undefined
  const headers = kind === 'json' ? ['Content-Type', 'application/json'] : []
  return [path, `/v1.41${path}`].map((target) => ({ method: r.method, target, body, headers, operation: r.operation }))
})
const inputs = Promise.all(requests.map(async (r) => ({ ...r, input: await buildPolicyInput(r) })))

/** A fixed-seed generator, so a failure names an environment that can be replayed. */
function* randomEnvs (variant: SocketProxyVariant, count: number): Generator<Env> {
  const names = [...SOCKET_PROXY_SECTIONS, 'POST', 'ALLOW_START', 'ALLOW_STOP', 'ALLOW_RESTARTS',
    ...(variant === 'granular' ? ['DELETE', 'PUT', 'PATCH', 'ALLOW_EXEC', 'ALLOW_KILL', 'ALLOW_ATTACH', 'ALLOW_ARCHIVE', 'ALLOW_EXPORT', 'ALLOW_LOGS', 'ALLOW_PAUSE', 'ALLOW_UNPAUSE'] : [])]
  let seed = 0x5eed
  const next = (): number => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed }
  for (let i = 0; i < count; i++) {
    const env: Env = {}
    for (const n of names) {
      const r = next() % 3
      if (r !== 2) env[n] = String(r)
    }
    yield env
  }
}

function envsFor (variant: SocketProxyVariant): Env[] {
  const envs: Env[] = [{}, { POST: '1' }, { EVENTS: '0', PING: '0', VERSION: '0' }]
  for (const s of SOCKET_PROXY_SECTIONS) envs.push({ [s]: '1' }, { [s]: '1', POST: '1' })
  for (const a of ['ALLOW_START', 'ALLOW_STOP', 'ALLOW_RESTARTS']) {
    for (const post of ['0', '1']) for (const c of ['0', '1']) envs.push({ [a]: '1', POST: post, CONTAINERS: c })
  }
  if (variant === 'granular') {
    for (const m of ['DELETE', 'PUT', 'PATCH']) envs.push({ [m]: '1', CONTAINERS: '1', VOLUMES: '1' })
    for (const g of ['ALLOW_EXEC', 'ALLOW_KILL', 'ALLOW_ATTACH', 'ALLOW_ARCHIVE', 'ALLOW_EXPORT', 'ALLOW_LOGS', 'ALLOW_PAUSE', 'ALLOW_UNPAUSE']) {
      envs.push({ [g]: '1', CONTAINERS: '1', POST: '1', PUT: '1' }, { [g]: '1', POST: '1' })
    }
  }
  return [...envs, ...randomEnvs(variant, 40)]
}

describe('socket-proxy-env: every route decides as docker-socket-proxy does', () => {
  for (const [ref, variant] of [['socket-proxy-env', 'classic'], ['socket-proxy-env-granular', 'granular']] as const) {
    test(`${ref} (${variant} rules), ${envsFor(variant).length} environments × ${requests.length} requests`, async () => {
      const all = await inputs
      for (const env of envsFor(variant)) {
        const policy = loadPolicy(ref, env)
        for (const r of all) {
          const want = haproxyAllows(variant, env, r.method, r.target)
          const got = policy.decide(r.input)
          assert.equal(got.allow, want, `${JSON.stringify(env)} ${r.method} ${r.target}: dockward ${got.allow ? 'allows' : 'denies'} by ${got.ruleId}, docker-socket-proxy ${want ? 'allows' : 'denies'}`)
        }
      }
    })
  }
})

describe('socket-proxy-env: the documented behaviour', () => {
  // Requests the docker CLI sends for the commands in docker-socket-proxy's own tests.
  const decide = async (env: Env, method: string, target: string, body?: string, ref = 'socket-proxy-env'): Promise<string> => {
    const input = await buildPolicyInput({ method, target, body: body === undefined ? undefined : Buffer.from(body), headers: body === undefined ? [] : ['Content-Type', 'application/json'] })
    const d = loadPolicy(ref, env).decide(input)
    return `${d.allow ? 'allow' : 'deny'} ${d.ruleId}`
  }

  test('defaults: version, ping and events only', async () => {
    assert.equal(await decide({}, 'GET', '/v1.41/version'), 'allow socket-proxy-version')
    assert.equal(await decide({}, 'HEAD', '/_ping'), 'allow socket-proxy-ping')
    assert.equal(await decide({}, 'GET', '/v1.41/events'), 'allow socket-proxy-events')
    assert.equal(await decide({}, 'GET', '/v1.41/containers/json'), 'deny socket-proxy-containers-off')
    assert.equal(await decide({}, 'GET', '/v1.41/info'), 'deny socket-proxy-info-off')
    assert.equal(await decide({}, 'POST', '/v1.41/images/create?fromImage=alpine&tag=latest'), 'deny socket-proxy-method')
    assert.equal(await decide({}, 'POST', '/v1.41/swarm/init', '{}'), 'deny socket-proxy-method')
  })

  test('CONTAINERS=1: logs and inspect, but no wait, run, rm or restart (POST is off)', async () => {
    const env = { CONTAINERS: '1' }
    assert.equal(await decide(env, 'GET', '/v1.41/containers/c1/logs?stdout=1'), 'allow socket-proxy-containers')
    assert.equal(await decide(env, 'GET', '/v1.41/containers/c1/json'), 'allow socket-proxy-containers')
    assert.equal(await decide(env, 'POST', '/v1.41/containers/c1/wait'), 'deny socket-proxy-method')
    assert.equal(await decide(env, 'POST', '/v1.41/containers/create', '{"Image":"alpine"}'), 'deny socket-proxy-method')
    assert.equal(await decide(env, 'DELETE', '/v1.41/containers/c1?force=1'), 'deny socket-proxy-method')
    assert.equal(await decide(env, 'POST', '/v1.41/containers/c1/restart'), 'deny socket-proxy-method')
  })

  test('POST=1 alone opens no section: rm, pull, run and network create stay denied', async () => {
    const env = { POST: '1' }
    assert.equal(await decide(env, 'DELETE', '/v1.41/containers/c1?force=1'), 'deny socket-proxy-containers-off')
    assert.equal(await decide(env, 'POST', '/v1.41/images/create?fromImage=alpine'), 'deny socket-proxy-images-off')
    assert.equal(await decide(env, 'POST', '/v1.41/networks/create', '{"Name":"foobar"}'), 'deny socket-proxy-networks-off')
  })

  test('POST=1 NETWORKS=1: network ls, create and rm', async () => {
    const env = { POST: '1', NETWORKS: '1' }
    assert.equal(await decide(env, 'GET', '/v1.41/networks'), 'allow socket-proxy-networks')
    assert.equal(await decide(env, 'POST', '/v1.41/networks/create', '{"Name":"foo"}'), 'allow socket-proxy-networks')
    assert.equal(await decide(env, 'DELETE', '/v1.41/networks/foo'), 'allow socket-proxy-networks')
  })

  test('ALLOW_START, ALLOW_STOP, ALLOW_RESTARTS need POST=1, and allow only their actions', async () => {
    assert.equal(await decide({ ALLOW_START: '1' }, 'POST', '/v1.41/containers/c1/start'), 'deny socket-proxy-method')
    assert.equal(await decide({ ALLOW_START: '1', POST: '1' }, 'POST', '/v1.41/containers/c1/start'), 'allow socket-proxy-allow-start')
    assert.equal(await decide({ ALLOW_START: '1', POST: '1' }, 'POST', '/v1.41/containers/c1/stop'), 'deny socket-proxy-containers-off')
    assert.equal(await decide({ ALLOW_STOP: '1', POST: '1' }, 'POST', '/v1.41/containers/c1/stop'), 'allow socket-proxy-allow-stop')
    assert.equal(await decide({ ALLOW_STOP: '1', POST: '1' }, 'POST', '/v1.41/containers/c1/restart'), 'deny socket-proxy-containers-off')
    for (const action of ['stop', 'restart', 'kill']) {
      assert.equal(await decide({ ALLOW_RESTARTS: '1', POST: '1' }, 'POST', `/v1.41/containers/c1/${action}`), 'allow socket-proxy-allow-restarts')
    }
    assert.equal(await decide({ ALLOW_RESTARTS: '1', POST: '1' }, 'GET', '/v1.41/containers/json'), 'deny socket-proxy-containers-off')
    // Granular: kill has its own gate in front of ALLOW_RESTARTS.
    assert.equal(await decide({ ALLOW_RESTARTS: '1', POST: '1' }, 'POST', '/v1.41/containers/c1/kill', undefined, 'socket-proxy-env-granular'), 'deny socket-proxy-allow-kill')
  })

  test('CONTAINERS=1 EXEC=1 POST=1: docker exec (create and start)', async () => {
    const env = { CONTAINERS: '1', EXEC: '1', POST: '1' }
    assert.equal(await decide(env, 'POST', '/v1.41/containers/c1/exec', '{"Cmd":["ls"]}'), 'allow socket-proxy-containers')
    assert.equal(await decide(env, 'POST', '/v1.41/exec/e1/start', '{"Detach":false}'), 'allow socket-proxy-exec')
    assert.equal(await decide(env, 'POST', '/v1.41/containers/c1/exec', '{"Cmd":["ls"]}', 'socket-proxy-env-granular'), 'deny socket-proxy-allow-exec')
  })

  test('stricter than docker-socket-proxy: host escapes stay denied with CONTAINERS=1 POST=1', async () => {
    const env = { CONTAINERS: '1', POST: '1', EXEC: '1' }
    assert.equal(await decide(env, 'POST', '/v1.41/containers/create', '{"Image":"alpine"}'), 'allow socket-proxy-containers')
    assert.equal(await decide(env, 'POST', '/v1.41/containers/create', '{"Image":"alpine","HostConfig":{"Privileged":true}}'), 'deny deny-privileged')
    assert.equal(await decide(env, 'POST', '/v1.41/containers/create', '{"Image":"alpine","HostConfig":{"Binds":["/:/host"]}}'), 'deny deny-host-paths')
    assert.equal(await decide(env, 'POST', '/v1.41/containers/c1/exec', '{"Cmd":["sh"],"Privileged":true}'), 'deny deny-privileged')
    assert.equal(haproxyAllows('classic', env, 'POST', '/v1.41/containers/create'), true)
  })

  test("stricter: a section word at the start of a name does not open another section (classic's (/\\w+)? segment)", async () => {
    // HAProxy reads `/containers/versionx/json` as `(/containers)` + `/version…`: VERSION=1 lets it through.
    assert.equal(haproxyAllows('classic', {}, 'GET', '/v1.41/containers/versionx/json'), true)
    assert.equal(await decide({}, 'GET', '/v1.41/containers/versionx/json'), 'deny socket-proxy-containers-off')
    assert.equal(haproxyAllows('classic', { POST: '1' }, 'POST', '/v1.41/containers/events1/start'), true)
    assert.equal(await decide({ POST: '1' }, 'POST', '/v1.41/containers/events1/start'), 'deny socket-proxy-containers-off')
  })
})

describe('socket-proxy-env: reading the variables', () => {
  test('values are read the way HAProxy reads `env(X) -m bool`', () => {
    for (const [raw, on] of [['1', true], ['0', false], ['2', true], ['01', true], ['-1', true], ['+1', true], ['-0', false], ['1yes', true], ['true', false], ['yes', false], ['', false], [' 1', false]] as const) {
      assert.equal(haproxyBool(raw), on, JSON.stringify(raw))
    }
    assert.equal(haproxyBool(undefined), false)
  })

  test('unset variables take the upstream defaults; surprising values are named in a warning', () => {
    const s = readSocketProxyEnv({ CONTAINERS: 'true', IMAGES: '1', LOG_LEVEL: 'debug' }, 'classic')
    const on = Object.fromEntries(s.values.map((v) => [v.name, v.on]))
    assert.equal(on.EVENTS, true)
    assert.equal(on.PING, true)
    assert.equal(on.VERSION, true)
    assert.equal(on.POST, false)
    assert.equal(on.CONTAINERS, false)
    assert.equal(on.IMAGES, true)
    assert.deepEqual(s.warnings, [
      'CONTAINERS="true" is read as off, as docker-socket-proxy (HAProxy) reads it; write 1 or 0',
      "LOG_LEVEL configures docker-socket-proxy's HAProxy and is not read by dockward: dockward logs start-up, reloads and refusals on stderr"
    ])
  })

  test('a variable of the granular rules under the classic rules stops start-up', () => {
    for (const name of ['ALLOW_EXEC', 'DELETE', 'ALLOW_LOGS', 'ALLOW_PAUSE']) {
      assert.throws(() => loadPolicy('socket-proxy-env', { [name]: '0' }), (err: unknown) => err instanceof ConfigError && err.message.includes(name) && err.message.includes('socket-proxy-env-granular'))
    }
    assert.doesNotThrow(() => loadPolicy('socket-proxy-env-granular', { ALLOW_EXEC: '1', DELETE: '1' }))
  })

  test('the generated source lists every variable and is the same for the same environment', () => {
    const a = readPolicySource('socket-proxy-env', { CONTAINERS: '1' })
    const b = readPolicySource('socket-proxy-env', { CONTAINERS: '1' })
    assert.equal(a.bytes.toString(), b.bytes.toString())
    assert.equal(a.file, null)
    const text = a.bytes.toString()
    assert.match(text, /^# CONTAINERS=1$/m)
    assert.match(text, /^# POST=0 \(unset: default\)$/m)
    assert.match(text, /^policy: socket-proxy-env$/m)
    assert.notEqual(loadPolicy('socket-proxy-env', { CONTAINERS: '1' }).digest, loadPolicy('socket-proxy-env', { CONTAINERS: '0' }).digest)
  })

  test('the policy store loads a generated policy, reloads it unchanged and has nothing to watch', () => {
    const store = createPolicyStore('socket-proxy-env', { env: { INFO: 'yes' } })
    assert.equal(store.warnings.length, 1)
    const digest = store.current().digest
    const r = store.reload()
    assert.ok(r.ok && !r.changed && r.digest === digest)
    store.watch()()
  })

  test('SOCKET_PATH names the engine in this mode, after --upstream and the file, before DOCKER_HOST', () => {
    const env = { SOCKET_PATH: '/var/run/balena-engine.sock', DOCKER_HOST: 'unix:///other.sock' }
    assert.equal(resolveConfig({}, { policy: 'socket-proxy-env' }, env).upstream.url, 'unix:///var/run/balena-engine.sock')
    assert.equal(resolveConfig({ upstream: 'unix:///file.sock' }, { policy: 'socket-proxy-env' }, env).upstream.url, 'unix:///file.sock')
    assert.equal(resolveConfig({}, { policy: 'default' }, env).upstream.url, 'unix:///other.sock')
  })
})

test('switches of forks and other versions (ALLOW_DELETE, CONTAINERS_DELETE) are warned about, never silently ignored', () => {
  const { warnings } = readSocketProxyEnv({ CONTAINERS: '1', ALLOW_DELETE: '0', CONTAINERS_DELETE: '0', PATH: '/bin' }, 'classic')
  assert.ok(warnings.some((w) => w.startsWith('ALLOW_DELETE is not a variable')), warnings.join('\n'))
  assert.ok(warnings.some((w) => w.startsWith('CONTAINERS_DELETE is not a variable')), warnings.join('\n'))
  assert.ok(!warnings.some((w) => w.startsWith('PATH')))
})
