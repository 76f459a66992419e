import { test } from 'node:test'
import assert from 'node:assert/strict'
import { DEFAULT_LIMITS, resolveConfig } from '../../src/config/config.ts'
import { ConfigError } from '../../src/core/errors.ts'

test('defaults: a loopback listener and the local engine socket', () => {
  const cfg = resolveConfig({}, {}, {})
  assert.deepEqual(cfg.listen.map((l) => l.url), ['tcp://127.0.0.1:2375'])
  assert.equal(cfg.upstream.url, 'unix:///var/run/docker.sock')
  assert.deepEqual(cfg.limits, DEFAULT_LIMITS)
  assert.equal(cfg.limits.maxBodySize, 4 * 1024 * 1024)
  assert.equal(cfg.policy, 'default')
})

test('the policy comes from the flag, else the file, else default', () => {
  assert.equal(resolveConfig({ policy: 'admin' }, {}, {}).policy, 'admin')
  assert.equal(resolveConfig({ policy: 'admin' }, { policy: './mine.yaml' }, {}).policy, './mine.yaml')
})

test('DOCKER_HOST is the upstream when neither file nor flag names one', () => {
  assert.equal(resolveConfig({}, {}, { DOCKER_HOST: 'tcp://127.0.0.1:2376' }).upstream.url, 'tcp://127.0.0.1:2376')
  assert.equal(resolveConfig({ upstream: 'unix:///a.sock' }, {}, { DOCKER_HOST: 'tcp://127.0.0.1:2376' }).upstream.url, 'unix:///a.sock')
})

test('flags override the file; a repeated --listen replaces the file\'s list', () => {
  const cfg = resolveConfig(
    { listen: ['tcp://127.0.0.1:1', 'tcp://127.0.0.1:2'], upstream: 'unix:///file.sock', limits: { headersTimeout: 5 } },
    { listen: ['unix:///tmp/x.sock?mode=0600&group=0'], upstream: 'unix:///flag.sock' },
    {}
  )
  assert.deepEqual(cfg.listen, [{ kind: 'unix', path: '/tmp/x.sock', url: 'unix:///tmp/x.sock', mode: 0o600, group: '0', owner: null, auth: { methods: [], anonymous: true, identity: null } }])
  assert.equal(cfg.upstream.url, 'unix:///flag.sock')
  assert.equal(cfg.limits.headersTimeout, 5)
  assert.equal(cfg.limits.maxHeaderSize, DEFAULT_LIMITS.maxHeaderSize)
})

test('a non-loopback TCP listener needs the loud flag', () => {
  for (const url of ['tcp://0.0.0.0:2375', 'tcp://[::]:2375', 'tcp://192.0.2.1:2375', 'tcp://example.com:2375']) {
    assert.throws(() => resolveConfig({}, { listen: [url] }, {}), /not a loopback address.*--dangerously-allow-unauthenticated-tcp/s, url)
    assert.equal(resolveConfig({}, { listen: [url], dangerouslyAllowUnauthenticatedTcp: true }, {}).listen.length, 1)
  }
  for (const url of ['tcp://127.0.0.1:2375', 'tcp://127.1.2.3:2375', 'tcp://[::1]:2375', 'tcp://localhost:2375']) {
    assert.equal(resolveConfig({}, { listen: [url] }, {}).listen.length, 1, url)
  }
})

test('rejects a listener that is the upstream, duplicates, and bad URLs', () => {
  assert.throws(() => resolveConfig({}, { listen: ['unix:///var/run/docker.sock'] }, {}), /is the upstream itself/)
  assert.throws(() => resolveConfig({}, { listen: ['tcp://127.0.0.1:1', 'tcp://127.0.0.1:1'] }, {}), /listed twice/)
  const bad = ['127.0.0.1:2375', 'http://127.0.0.1:1', 'tcp://127.0.0.1', 'unix://relative.sock', 'unix:///x.sock?mode=999', 'unix:///x.sock?mode=rw', 'unix:///x.sock?mode=0060', 'unix:///x.sock?user=me']
  for (const url of bad) assert.throws(() => resolveConfig({}, { listen: [url] }, {}), ConfigError, url)
  for (const up of ['ssh://host', 'unix://', 'tcp://h/x', 'npipe:////./pipe/docker_engine']) {
    assert.throws(() => resolveConfig({}, { upstream: up }, {}), ConfigError, up)
  }
})

test('listener authentication: methods need their settings, anonymous defaults, fixed identities', () => {
  const tls = { cert: '/c.pem', key: '/k.pem', clientCa: '/ca.pem' }
  const tokens = [{ name: 'ci', tenant: null, groups: [], sha256: 'a'.repeat(64) }]
  const cfg = resolveConfig({
    listen: [
      { url: 'tls://0.0.0.0:2376', tls, authentication: ['mtls', 'token'] },
      { url: 'unix:///run/ci-1.sock', identity: { name: 'ci-1', tenant: 'team-a', groups: ['ci'], method: 'socket' } }
    ],
    authentication: { tokens }
  }, {}, {})
  assert.deepEqual(cfg.listen[0]!.auth, { methods: ['mtls', 'token'], anonymous: false, identity: null })
  assert.equal(cfg.listen[1]!.auth.identity?.name, 'ci-1')
  assert.equal(cfg.listen[1]!.auth.anonymous, false)

  const bad: Array<[Parameters<typeof resolveConfig>[0], RegExp]> = [
    [{ listen: [{ url: 'tls://0.0.0.0:2376', tls, authentication: ['jwt'] }] }, /jwt needs the authentication\.jwt settings/],
    [{ listen: [{ url: 'tls://0.0.0.0:2376', tls, authentication: ['token'] }] }, /token needs at least one entry/],
    [{ listen: [{ url: 'tcp://127.0.0.1:2375', authentication: ['mtls'] }], authentication: { tokens } }, /mtls needs a tls:\/\/ listener with tls\.clientCa/],
    [{ listen: [{ url: 'tcp://127.0.0.1:2375', identity: { name: 'x', tenant: null, groups: [], method: 'socket' } }] }, /fixed identity is for unix sockets only/],
    // Off loopback: TLS plus a required method, or the loud flag.
    [{ listen: [{ url: 'tls://0.0.0.0:2376', tls: { cert: '/c.pem', key: '/k.pem' } }] }, /does not require authentication over TLS/],
    [{ listen: [{ url: 'tls://0.0.0.0:2376', tls: { cert: '/c.pem', key: '/k.pem' }, authentication: ['token'], anonymous: true }], authentication: { tokens } }, /does not require authentication over TLS/],
    [{ listen: [{ url: 'tcp://0.0.0.0:2375', authentication: ['token'] }], authentication: { tokens } }, /does not require authentication over TLS/],
    // Client certificates asked for and then ignored.
    [{ listen: [{ url: 'tls://127.0.0.1:2376', tls, authentication: ['token'] }], authentication: { tokens } }, /tls\.clientCa is set but mtls is not in authentication/],
    // A fixed identity handed to every local user.
    [{ listen: [{ url: 'unix:///run/x.sock', mode: '0666', identity: { name: 'x', tenant: null, groups: [], method: 'socket' } }] }, /must not be open to other users/]
  ]
  for (const [input, message] of bad) assert.throws(() => resolveConfig(input, {}, {}), (err: unknown) => err instanceof ConfigError && message.test(err.message), String(message))
})

test('policyEngine: builtin by default; opa and both need the opa settings, and none is left unused', () => {
  const fails = (file: Parameters<typeof resolveConfig>[0], flags: Parameters<typeof resolveConfig>[1], message: RegExp): void => {
    assert.throws(() => resolveConfig(file, flags, {}), (err: unknown) => err instanceof ConfigError && message.test(err.message))
  }
  const builtin = resolveConfig({}, {}, {})
  assert.equal(builtin.policyEngine, 'builtin')
  assert.equal(builtin.opa, null)
  const opa = resolveConfig({ policyEngine: 'opa', opa: { bundle: '/b.tar.gz' } }, {}, {})
  assert.deepEqual(opa.opa, { source: { kind: 'bundle', file: '/b.tar.gz' }, entrypoint: 'docker/authz/allow', maxMemory: 256 * 1024 * 1024 })
  assert.equal(resolveConfig({ policy: 'read-only', policyEngine: 'both', opa: { wasm: '/p.wasm' } }, {}, {}).policy, 'read-only')
  // A flag naming the OPA policy replaces the file's source (bundle, wasm, data) and keeps the rest.
  const replaced = resolveConfig({ policyEngine: 'opa', opa: { wasm: '/p.wasm', data: '/d.json', entrypoint: 'x/y' } }, { opa: { bundle: '/b.tar.gz' } }, {})
  assert.deepEqual(replaced.opa?.source, { kind: 'bundle', file: '/b.tar.gz' })
  assert.equal(replaced.opa?.entrypoint, 'x/y')
  assert.equal(resolveConfig({ opa: { bundle: '/b.tar.gz' } }, { policyEngine: 'opa' }, {}).policyEngine, 'opa')

  fails({ opa: { bundle: '/b.tar.gz' } }, {}, /^opa: an OPA policy is configured but policyEngine is builtin/)
  fails({ policyEngine: 'both' }, {}, /^policyEngine: both needs an OPA policy/)
  fails({ policy: 'default', policyEngine: 'opa', opa: { bundle: '/b' } }, {}, /^policy: with policyEngine opa the built-in policy is not enforced/)
  fails({ policyEngine: 'opa' }, { opa: { entrypoint: 'x' } }, /^opa: set exactly one of bundle/)
})

test('audit: stdout by default, a file or none when told; fail-closed needs a destination', () => {
  assert.deepEqual(resolveConfig({}, {}, {}).audit, { destination: { kind: 'stdout' }, failClosed: false })
  assert.deepEqual(resolveConfig({ audit: { destination: '/var/log/a.jsonl' } }, { audit: { failClosed: true } }, {}).audit, { destination: { kind: 'file', path: '/var/log/a.jsonl' }, failClosed: true })
  assert.equal(resolveConfig({ audit: { destination: '/var/log/a.jsonl' } }, { audit: { destination: 'none' } }, {}).audit.destination, null)
  assert.throws(() => resolveConfig({}, { audit: { destination: 'none', failClosed: true } }, {}), /failClosed needs an audit destination/)
})

test('admin: off by default; --admin-listen replaces the file\'s address; never a proxied address', () => {
  assert.equal(resolveConfig({}, {}, {}).admin, null)
  const cfg = resolveConfig({ admin: { listen: 'tcp://127.0.0.1:9323', tokenSha256: 'b'.repeat(64) } }, { admin: { listen: 'unix:///run/dw-admin.sock' } }, {})
  assert.equal(cfg.admin?.address.url, 'unix:///run/dw-admin.sock')
  assert.equal(cfg.admin?.tokenSha256, 'b'.repeat(64))
  assert.throws(() => resolveConfig({}, { admin: { listen: 'tcp://127.0.0.1:2375' } }, {}), ConfigError)
  assert.throws(() => resolveConfig({}, { admin: { listen: 'tcp://0.0.0.0:9323' } }, {}), /not a loopback address/)
})
