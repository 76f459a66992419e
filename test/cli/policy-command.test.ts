import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { runPolicyCommand } from '../../src/cli/policy-command.ts'

interface Run { code: number, stdout: string, stderr: string }

async function run (...argv: string[]): Promise<Run> {
  let stdout = ''
  let stderr = ''
  const code = await runPolicyCommand(argv, { stdout: { write: (s: string) => { stdout += s } }, stderr: { write: (s: string) => { stderr += s } } })
  return { code, stdout, stderr }
}

function tempDir (): { dir: string, [Symbol.dispose]: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'dw-policy-cli-'))
  return { dir, [Symbol.dispose]: () => rmSync(dir, { recursive: true, force: true }) }
}

const CI_POLICY = `policy: ci
version: 1
rules:
  - id: audit-big-memory
    deny: more than 1 GiB will be denied
    mode: audit-only
    match:
      facts: { memory: { min: 1073741825 } }
  - id: deny-privileged
    deny: no privileged
    match:
      facts: { privileged: true }
  - id: allow-ci
    allow: CI jobs
    match:
      identity: { names: [ci] }
      operations: [containers, images]
`

test('check: ok line with name, rule count and digest; exit 0', async () => {
  using t = tempDir()
  writeFileSync(join(t.dir, 'ci.yaml'), CI_POLICY)
  const r = await run('check', join(t.dir, 'ci.yaml'), 'default', 'admin')
  assert.equal(r.code, 0, r.stderr)
  const lines = r.stdout.trim().split('\n')
  assert.match(lines[0]!, /^ok: ci \(3 rules, sha256 [0-9a-f]{64}\)$/)
  assert.match(lines[1]!, /^ok: default \(\d+ rules, sha256 [0-9a-f]{64}\)$/)
  assert.match(lines[2]!, /^ok: admin \(1 rule, sha256 [0-9a-f]{64}\)$/)
  assert.equal(r.stderr, '')
})

test('check: a bad file prints file:line:col: key: message and exits 1', async () => {
  using t = tempDir()
  const bad = join(t.dir, 'bad.yaml')
  writeFileSync(bad, 'policy: bad\nversion: 1\nrules:\n  - id: x\n    deny: no\n    match:\n      facts: { privilegd: true }\n')
  const r = await run('check', 'default', bad)
  assert.equal(r.code, 1)
  assert.match(r.stdout, /^ok: default /)
  assert.equal(r.stderr, `${bad}:7:16: rules[0].match.facts.privilegd: unknown fact (did you mean privileged?) (the facts are listed in policies/README.md)\n`)
  const missing = await run('check', join(t.dir, 'nope.yaml'))
  assert.equal(missing.code, 1)
  assert.match(missing.stderr, /nope\.yaml: cannot read policy file \(ENOENT\)/)
})

test('usage errors exit 2', async () => {
  const bare = await run()
  assert.equal(bare.code, 2)
  assert.match(bare.stderr, /missing command[\s\S]*Usage: dockward policy/)
  assert.equal((await run('check')).code, 2)
  assert.equal((await run('frobnicate')).code, 2)
  assert.equal((await run('explain', '--method', 'GET')).code, 2)
  assert.equal((await run('explain', '--path', '/_ping', '--identity', 'who=me')).code, 2)
  assert.equal((await run('test')).code, 2)
  const help = await run('--help')
  assert.equal(help.code, 0)
  assert.match(help.stdout, /Usage: dockward policy/)
})

function writeTestDir (dir: string, cases: string): void {
  mkdirSync(join(dir, 'policies'))
  mkdirSync(join(dir, 'tests'))
  writeFileSync(join(dir, 'policies', 'ci.yaml'), CI_POLICY)
  writeFileSync(join(dir, 'tests', 'big.json'), JSON.stringify({ Image: 'busybox', HostConfig: { Memory: 2147483648 } }))
  writeFileSync(join(dir, 'tests', 'ci.yaml'), cases)
}

const PASSING = `policy: ../policies/ci.yaml
cases:
  - name: CI runs a container
    request:
      method: POST
      path: /v1.41/containers/create
      query: { name: job-1 }
      body: { Image: busybox, Cmd: [echo, hi] }
      identity: { name: ci }
    expect: { decision: allow, rule: allow-ci, wouldDeny: false }
  - name: privileged is denied, in any key case
    request:
      method: POST
      path: /v1.41/containers/create
      body: '{"image":"busybox","hostconfig":{"privileged":true}}'
      identity: { name: ci }
    expect: { decision: deny, rule: deny-privileged }
  - name: big memory is allowed but marked
    request:
      method: POST
      path: /containers/create
      bodyFile: big.json
      identity: { name: ci }
    expect: { decision: allow, rule: allow-ci, wouldDeny: true }
  - name: strangers are denied
    request: { method: GET, path: /containers/json }
    expect: { decision: deny, rule: default-deny }
  - name: facts can be set where inspection cannot know them offline
    request:
      method: POST
      path: /containers/create
      body: { Image: busybox }
      identity: { name: ci }
      facts: { privileged: true }
    expect: { decision: deny, rule: deny-privileged }
`

test('test DIR: every case passing exits 0', async () => {
  using t = tempDir()
  writeTestDir(t.dir, PASSING)
  writeFileSync(join(t.dir, 'tests', 'shipped.yml'), `policy: default
cases:
  - name: bind mounts are denied
    request:
      method: POST
      path: /v1.43/containers/create
      body: { Image: busybox, HostConfig: { Binds: ['/tmp/../etc:/x:ro'] } }
    expect: { decision: deny, rule: deny-host-paths }
  - name: pulls are allowed
    request: { method: POST, path: '/images/create?fromImage=busybox&tag=latest' }
    expect: { decision: allow }
`)
  const r = await run('test', join(t.dir, 'tests'))
  assert.equal(r.code, 0, r.stdout + r.stderr)
  assert.equal(r.stdout, [
    'ok    ci.yaml: CI runs a container',
    'ok    ci.yaml: privileged is denied, in any key case',
    'ok    ci.yaml: big memory is allowed but marked',
    'ok    ci.yaml: strangers are denied',
    'ok    ci.yaml: facts can be set where inspection cannot know them offline',
    'ok    shipped.yml: bind mounts are denied',
    'ok    shipped.yml: pulls are allowed',
    '',
    '7 passed, 0 failed',
    ''
  ].join('\n'))
})

test('test DIR: a wrong expectation, a refused request and a broken file fail; exit 1', async () => {
  using t = tempDir()
  writeTestDir(t.dir, PASSING.replace('expect: { decision: deny, rule: default-deny }', 'expect: { decision: allow }') + `  - name: unknown route
    request: { method: GET, path: /v1.41/containers/a/b/json }
    expect: { decision: deny }
`)
  writeFileSync(join(t.dir, 'tests', 'broken.yaml'), 'policy: default\ncases:\n  - name: x\n    request: { method: GET, pth: /_ping }\n    expect: { decision: allow }\n')
  const r = await run('test', join(t.dir, 'tests'))
  assert.equal(r.code, 1)
  const lines = r.stdout.trim().split('\n')
  assert.match(lines[0]!, /^FAIL {2}.*broken\.yaml:4:29: cases\[0\]\.request\.pth: unknown key/)
  assert.ok(lines.includes('FAIL  ci.yaml: strangers are denied: expected allow, got deny by default-deny: no rule of policy ci allows ContainerList'), r.stdout)
  assert.ok(lines.includes('FAIL  ci.yaml: unknown route: the gateway would refuse the request before deciding: 404 page not found'), r.stdout)
  assert.equal(lines.at(-1), '4 passed, 3 failed')
})

test('explain: readable text and JSON', async () => {
  using t = tempDir()
  const body = join(t.dir, 'body.json')
  writeFileSync(body, JSON.stringify({ Image: 'busybox', HostConfig: { CapAdd: ['sys_admin'] } }))
  const r = await run('explain', '--method', 'POST', '--path', '/v1.41/containers/create?name=x', '--body', body, '--identity', 'name=dev,tenant=a,groups=x|y,method=token')
  assert.equal(r.code, 0, r.stderr)
  assert.match(r.stdout, /^decision {2}deny by deny-capabilities\n/)
  assert.match(r.stdout, /\nreason {4}adding capabilities is not allowed/)
  assert.match(r.stdout, /\nrequest {3}POST \/containers\/create → ContainerCreate, API 1\.41\n/)
  assert.match(r.stdout, /\nidentity {2}dev \(token\), tenant a, groups x, y\n/)
  assert.match(r.stdout, /\ntrail\n {2}1\. deny-capabilities: deny, enforce: /)
  assert.match(r.stdout, /\n {2}capAdd +\["CAP_SYS_ADMIN"\]\n/)
  assert.match(r.stdout, /\nquery\n {2}name {2}\["x"\]\n/)

  const j = await run('explain', '--json', '--policy', 'read-only', '--path', '/v1.44/containers/abc/logs?stdout=1')
  assert.equal(j.code, 0, j.stderr)
  const out = JSON.parse(j.stdout) as { decision: { allow: boolean, ruleId: string }, policy: { name: string }, input: { operation: string, params: Record<string, string>, version: string } }
  assert.equal(out.decision.allow, false)
  assert.equal(out.decision.ruleId, 'deny-logs')
  assert.equal(out.policy.name, 'read-only')
  assert.equal(out.input.operation, 'ContainerLogs')
  assert.deepEqual(out.input.params, { id: 'abc' })
  assert.equal(out.input.version, '1.44')

  const refused = await run('explain', '--path', '/v1.20/_ping')
  assert.equal(refused.code, 1)
  assert.match(refused.stderr, /would refuse this request before deciding: 400 client version 1\.20 is too old/)
})

test('explain checks Content-Type like the gateway: a form-encoded body is refused before deciding', async () => {
  const out: string[] = []
  const err: string[] = []
  const io = { stdout: { write: (s: string) => out.push(s) }, stderr: { write: (s: string) => err.push(s) } }
  const code = await runPolicyCommand(['explain', '--method', 'POST', '--path', '/v1.41/build?networkmode=host', '--header', 'Content-Type: application/x-www-form-urlencoded'], io)
  assert.equal(code, 1)
  assert.match(err.join(''), /would refuse this request before deciding: 400 form-encoded/)
})

test('check and explain an OPA bundle the way serve loads it', async () => {
  using t = tempDir()
  const { opaTestBundle } = await import('../support/opa-test-module.ts')
  const bundle = join(t.dir, 'authz.tar.gz')
  writeFileSync(bundle, await opaTestBundle({ minor: 2 }, { team: 'blue' }, 'r9'))
  const ok = await run('check', '--entrypoint', 'dockward/authz', bundle)
  assert.equal(ok.code, 0, ok.stderr)
  assert.match(ok.stdout, /^ok: OPA policy \S+authz\.tar\.gz \(entrypoint dockward\/authz, ABI 1\.2, revision r9, sha256 [0-9a-f]{64}\); entrypoints: docker\/authz\/allow, dockward\/authz, dockward\/data\n$/)
  const missing = await run('check', '--entrypoint', 'nope', bundle)
  assert.equal(missing.code, 1)
  assert.match(missing.stderr, /entrypoint "nope" is not in this policy/)

  const body = join(t.dir, 'create.json')
  writeFileSync(body, '{"image":"busybox","hostconfig":{"privileged":true}}')
  const text = await run('explain', '--opa-bundle', bundle, '--opa-entrypoint', 'dockward/authz', '--method', 'POST', '--path', '/v1.41/containers/create', '--body', body, '--header', 'Content-Type: application/json')
  assert.equal(text.code, 0, text.stderr)
  assert.match(text.stdout, /^decision  deny by wat-privileged\nreason    privileged containers are denied by the WAT module \(data: \{"team":"blue"\}\)\nopa       /)
  const json = await run('explain', '--policy-engine', 'both', '--opa-bundle', bundle, '--opa-entrypoint', 'dockward/authz', '--method', 'POST', '--path', '/v1.41/containers/create?name=web', '--body', body, '--header', 'Content-Type: application/json', '--json')
  const out = JSON.parse(json.stdout)
  assert.equal(out.decision.ruleId, 'deny-privileged')
  assert.equal(out.policy.name, 'default')
  assert.equal(out.opa.entrypoint, 'dockward/authz')
  assert.equal(out.opaInput.Path, '/v1.41/containers/create?name=web')
  assert.equal(out.opaInput.Body.HostConfig.Privileged, true)
  assert.deepEqual(out.opaInput.Headers, { 'Content-Type': 'application/json' })
  assert.equal((await run('explain', '--policy-engine', 'opa', '--path', '/_ping')).code, 2)
})

test('show prints the source a policy reference loads, generated ones included', async (t) => {
  const shipped = await run('show', 'read-only')
  assert.equal(shipped.code, 0)
  assert.match(shipped.stdout, /^policy: read-only$/m)

  // socket-proxy-env reads docker-socket-proxy's variables from this process's environment.
  const saved = { CONTAINERS: process.env['CONTAINERS'], ALLOW_EXEC: process.env['ALLOW_EXEC'], INFO: process.env['INFO'] }
  t.after(() => { for (const [k, v] of Object.entries(saved)) if (v === undefined) delete process.env[k]; else process.env[k] = v })
  process.env['CONTAINERS'] = '1'
  process.env['INFO'] = 'true'
  const generated = await run('show', 'socket-proxy-env')
  assert.equal(generated.code, 0)
  assert.match(generated.stdout, /^# CONTAINERS=1$/m)
  assert.match(generated.stdout, /^policy: socket-proxy-env$/m)
  assert.match(generated.stderr, /^warning: INFO="true" is read as off/m)
  const explained = await run('explain', '--policy', 'socket-proxy-env', '--path', '/v1.41/containers/json')
  assert.match(explained.stdout, /^decision {2}allow by socket-proxy-containers$/m)

  process.env['ALLOW_EXEC'] = '1'
  const refused = await run('show', 'socket-proxy-env')
  assert.equal(refused.code, 1)
  assert.match(refused.stderr, /ALLOW_EXEC is a variable of docker-socket-proxy's granular rules/)
  assert.equal((await run('show')).code, 2)
})
