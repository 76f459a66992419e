import { test } from 'node:test'
import assert from 'node:assert/strict'
import { parseConfigText } from '../../src/config/config-file.ts'
import { ConfigError } from '../../src/core/errors.ts'

test('reads every setting', () => {
  const cfg = parseConfigText([
    'listen:',
    '  - tcp://127.0.0.1:2375',
    '  - url: unix:///run/dockward.sock',
    '    mode: "0660"',
    '    group: docker',
    '  - url: unix:///run/dockward-alice.sock',
    '    mode: "0600"',
    '    owner: 1001',
    'upstream: unix:///var/run/docker.sock',
    'policy: read-only',
    'dangerouslyAllowUnauthenticatedTcp: false',
    'limits:',
    '  maxHeaderSize: 65536',
    '  headersTimeout: 30000',
    '  maxBodySize: 1048576',
    '  shutdownTimeout: 20000'
  ].join('\n'), 'c.yaml')
  assert.deepEqual(cfg, {
    listen: ['tcp://127.0.0.1:2375', { url: 'unix:///run/dockward.sock', mode: '0660', group: 'docker' }, { url: 'unix:///run/dockward-alice.sock', mode: '0600', owner: '1001' }],
    upstream: 'unix:///var/run/docker.sock',
    policy: 'read-only',
    dangerouslyAllowUnauthenticatedTcp: false,
    limits: { maxHeaderSize: 65536, headersTimeout: 30000, maxBodySize: 1048576, shutdownTimeout: 20000 }
  })
})

test('an empty file is an empty config', () => {
  assert.deepEqual(parseConfigText('', 'c.yaml'), {})
  assert.deepEqual(parseConfigText('# nothing\n', 'c.yaml'), {})
})

test('errors name the file, line, column and key', () => {
  const cases: Array<[string, RegExp]> = [
    ['upstream: unix:///x\nlisen:\n  - tcp://127.0.0.1:1\n', /^c\.yaml:2:1: lisen: unknown setting/],
    ['listen: tcp://127.0.0.1:1\n', /^c\.yaml:1:9: listen: expected a list/],
    ['listen:\n  - url: unix:///x\n    user: me\n', /^c\.yaml:3:5: listen\[0\]\.user: unknown setting/],
    ['listen:\n  - mode: "0660"\n', /^c\.yaml:2:5: listen\[0\]\.url: missing/],
    ['limits:\n  maxHeaderSize: big\n', /^c\.yaml:2:18: limits\.maxHeaderSize: expected a positive integer/],
    ['limits:\n  requestTimeout: 5\n', /^c\.yaml:2:3: limits\.requestTimeout: unknown setting/],
    ['dangerouslyAllowUnauthenticatedTcp: yes please\n', /^c\.yaml:1:37: dangerouslyAllowUnauthenticatedTcp: expected true or false/],
    ['upstream: [1\n', /^c\.yaml:\d+:\d+: invalid YAML/],
    ['upstream: a\nupstream: b\n', /^c\.yaml:2:1: invalid YAML/],
    ['- a\n', /^c\.yaml:1:1: \(top level\): expected a mapping/]
  ]
  for (const [text, message] of cases) {
    assert.throws(() => parseConfigText(text, 'c.yaml'), (err: unknown) => {
      assert.ok(err instanceof ConfigError)
      assert.match(err.message, message)
      return true
    }, text)
  }
})

test('policyEngine and opa: known keys, paths beside the config file', () => {
  const cfg = parseConfigText('policyEngine: both\nopa:\n  bundle: authz.tar.gz\n  entrypoint: data.docker.authz.allow\n  maxMemory: 1048576\n', '/etc/dockward/dockward.yaml')
  assert.deepEqual(cfg.opa, { bundle: '/etc/dockward/authz.tar.gz', entrypoint: 'data.docker.authz.allow', maxMemory: 1048576 })
  assert.equal(cfg.policyEngine, 'both')
  assert.throws(() => parseConfigText('policyEngine: rego\n', 'c.yaml'), /^ConfigError: c\.yaml:1:15: policyEngine: expected one of builtin, opa, both$/)
  assert.throws(() => parseConfigText('opa:\n  bundel: x\n', 'c.yaml'), /c\.yaml:2:3: opa\.bundel: unknown setting \(bundle, wasm, data, entrypoint, maxMemory\)/)
})

test('audit and admin sections: paths beside the config file, words kept', () => {
  const cfg = parseConfigText([
    'audit:',
    '  destination: logs/audit.jsonl',
    '  failClosed: true',
    'admin:',
    '  listen: tls://0.0.0.0:9323',
    '  tls: { cert: server.pem, key: server-key.pem }',
    '  tokenFile: secrets/admin-token',
    '  allowUnauthenticatedTcp: false'
  ].join('\n'), '/etc/dockward/dockward.yaml')
  assert.deepEqual(cfg.audit, { destination: '/etc/dockward/logs/audit.jsonl', failClosed: true })
  assert.deepEqual(cfg.admin, {
    listen: 'tls://0.0.0.0:9323',
    tls: { cert: '/etc/dockward/server.pem', key: '/etc/dockward/server-key.pem' },
    tokenFile: '/etc/dockward/secrets/admin-token',
    allowUnauthenticatedTcp: false
  })
  assert.deepEqual(parseConfigText('audit: { destination: stdout }', 'c.yaml').audit, { destination: 'stdout' })
  assert.deepEqual(parseConfigText('audit: { destination: none }', 'c.yaml').audit, { destination: 'none' })
})

test('audit and admin errors name the line and key', () => {
  assert.throws(() => parseConfigText('audit:\n  failClosed: yes please\n', 'c.yaml'), /c\.yaml:2:3: audit\.failClosed: expected true or false/)
  assert.throws(() => parseConfigText('audit:\n  destnation: x\n', 'c.yaml'), /c\.yaml:2:3: audit\.destnation: unknown setting/)
  assert.throws(() => parseConfigText('admin:\n  listen: tcp://127.0.0.1:9323\n  tls: { cert: a }\n', 'c.yaml'), /c\.yaml:3:8: admin\.tls\.key: expected a file path/)
})
