// The `dockward` command as users run it (the built dist/main.js).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { MAIN } from './support/dockward.ts'

function run (args: string[], env: NodeJS.ProcessEnv = {}): { status: number | null, stdout: string, stderr: string } {
  const r = spawnSync(process.execPath, [MAIN, ...args], { encoding: 'utf8', timeout: 10_000, env: { ...process.env, ...env } })
  return { status: r.status, stdout: r.stdout, stderr: r.stderr }
}

test('--version prints the package version', () => {
  const r = run(['--version'])
  assert.equal(r.status, 0)
  assert.match(r.stdout, /^dockward \d+\.\d+\.\d+\n$/)
})

test('serve refuses a public TCP listener without the loud flag, before listening', () => {
  const r = run(['serve', '--listen', 'tcp://0.0.0.0:0', '--upstream', 'unix:///nonexistent.sock'])
  assert.equal(r.status, 2)
  assert.match(r.stderr, /not a loopback address.*--dangerously-allow-unauthenticated-tcp/s)
})

test('serve reports config file errors with file, line and key', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'dw-cfg-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  const file = join(dir, 'dockward.yaml')
  writeFileSync(file, 'upstream: unix:///var/run/docker.sock\nlisten:\n  - url: unix:///tmp/x.sock\n    mode: "0660"\n    grop: docker\n')
  const r = run(['serve', '--config', file])
  assert.equal(r.status, 2)
  assert.match(r.stderr, new RegExp(`${file.replace(/[.]/g, '\\.')}:5:5: listen\\[0\\]\\.grop: unknown setting`))
})

test('unknown flags and commands are errors with usage', () => {
  const a = run(['serve', '--lisen', 'tcp://127.0.0.1:1'])
  assert.equal(a.status, 2)
  assert.match(a.stderr, /Unknown option '--lisen'.*Usage: dockward serve/s)
  const b = run(['srv'])
  assert.equal(b.status, 2)
  assert.match(b.stderr, /unknown command "srv"/)
})

test('SIGTERM ends open client connections instead of waiting for them', async () => {
  const { spawn } = await import('node:child_process')
  const net = await import('node:net')
  const dir = mkdtempSync(join(tmpdir(), 'dw-term-'))
  const sock = join(dir, 'dw.sock')
  const child = spawn(process.execPath, [MAIN, 'serve', '--listen', `unix://${sock}`, '--upstream', 'unix:///nonexistent.sock'], { stdio: ['ignore', 'ignore', 'pipe'] })
  try {
    await new Promise<void>((resolve) => child.stderr.on('data', (d: Buffer) => { if (d.toString().includes('forwarding to')) resolve() }))
    // One idle keep-alive client after a request, one that never sent a byte.
    const idle = net.connect(sock)
    idle.write('GET /_ping HTTP/1.1\r\nHost: x\r\n\r\n')
    await new Promise((resolve) => idle.once('data', resolve))
    const silent = net.connect(sock)
    await new Promise((resolve) => silent.once('connect', resolve))
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
    child.kill('SIGTERM')
    const code = await Promise.race([exited, new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), 3000))])
    assert.equal(code, 0)
    idle.destroy()
    silent.destroy()
  } finally {
    child.kill('SIGKILL')
    rmSync(dir, { recursive: true, force: true })
  }
})

test('serve with no flags: loopback :2375 in front of $DOCKER_HOST', async (t) => {
  const { testEngine } = await import('./support/engine.ts')
  const engine = testEngine()
  if (engine === null) { t.skip('no engine'); return }
  const net = await import('node:net')
  const free = await new Promise<boolean>((resolve) => {
    const probe = net.createServer().once('error', () => resolve(false)).listen(2375, '127.0.0.1', () => probe.close(() => resolve(true)))
  })
  if (!free) { t.skip('SKIPPED: 127.0.0.1:2375 is in use on this machine'); return }
  const { spawn } = await import('node:child_process')
  const child = spawn(process.execPath, [MAIN, 'serve'], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, DOCKER_HOST: engine.dockerHost } })
  try {
    let err = ''
    await new Promise<void>((resolve, reject) => {
      child.stderr.on('data', (d: Buffer) => { err += d.toString(); if (err.includes('forwarding to')) resolve() })
      child.once('exit', () => reject(new Error(err)))
    })
    assert.match(err, /listening on tcp:\/\/127\.0\.0\.1:2375/)
    assert.match(err, new RegExp(`forwarding to ${engine.dockerHost.replace(/[.]/g, '\\.')}`))
    const res = await fetch('http://127.0.0.1:2375/_ping')
    assert.equal(res.status, 200)
    assert.equal(await res.text(), 'OK')
  } finally {
    child.kill('SIGTERM')
  }
})

test('an address in use is a clear start-up error, not a stack trace', async () => {
  const net = await import('node:net')
  const busy = net.createServer()
  await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve))
  try {
    const port = (busy.address() as import('node:net').AddressInfo).port
    const r = run(['serve', '--listen', `tcp://127.0.0.1:${port}`, '--upstream', 'unix:///nonexistent.sock'])
    assert.equal(r.status, 2)
    assert.equal(r.stderr, `dockward: cannot listen on 127.0.0.1:${port}: EADDRINUSE\n`)
  } finally {
    busy.close()
  }
})

test('serve stops with exit 2 when the policy does not load, naming the line', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'dw-pol-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  const file = join(dir, 'p.yaml')
  writeFileSync(file, 'policy: p\nversion: 1\nrules:\n  - id: a\n    alow: true\n')
  const r = run(['serve', '--listen', `unix://${join(dir, 's.sock')}`, '--upstream', 'unix:///nonexistent.sock', '--policy', file])
  assert.equal(r.status, 2)
  assert.match(r.stderr, /p\.yaml:5:5: rules\[0\]\.alow/)
  const missing = run(['serve', '--upstream', 'unix:///nonexistent.sock', '--policy', 'no-such-policy'])
  assert.equal(missing.status, 2)
})

test('a policy file named in a config file is found beside it', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'dw-pol-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  writeFileSync(join(dir, 'p.yaml'), 'policy: p\nversion: 1\nrules:\n  - id: a\n    alow: true\n')
  writeFileSync(join(dir, 'dockward.yaml'), `policy: ./p.yaml\nlisten:\n  - unix://${join(dir, 's.sock')}\n`)
  // Run from elsewhere: the error must still come from ./p.yaml beside the config file.
  const r = spawnSync(process.execPath, [MAIN, 'serve', '--config', join(dir, 'dockward.yaml'), '--upstream', 'unix:///nonexistent.sock'], { encoding: 'utf8', timeout: 10_000, cwd: tmpdir() })
  assert.equal(r.status, 2)
  assert.match(r.stderr, /p\.yaml:5:5: rules\[0\]\.alow/)
})

test('policy check runs from the built command', () => {
  const r = run(['policy', 'check', 'policies/default.yaml'])
  assert.equal(r.status, 0, r.stderr)
  assert.match(r.stdout, /^ok: default \(\d+ rules, sha256 [0-9a-f]{64}\)/)
})

test('serve refuses a public admin address without TLS and a token, before listening', () => {
  const r = run(['serve', '--listen', 'unix:///tmp/dw-never.sock', '--upstream', 'unix:///nonexistent.sock', '--admin-listen', 'tcp://0.0.0.0:9323'])
  assert.equal(r.status, 2)
  assert.match(r.stderr, /admin\.listen: tcp:\/\/0\.0\.0\.0:9323 is not a loopback address.*--admin-allow-unauthenticated-tcp/s)
})

test('serve stops when the audit file or the admin token file cannot be read', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'dw-cfg-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  const audit = run(['serve', '--listen', `unix://${join(dir, 'a.sock')}`, '--upstream', 'unix:///nonexistent.sock', '--audit-destination', '/nonexistent-dir/audit.jsonl'])
  assert.equal(audit.status, 2)
  assert.match(audit.stderr, /audit\.destination: cannot open \/nonexistent-dir\/audit\.jsonl: ENOENT/)
  const file = join(dir, 'dockward.yaml')
  writeFileSync(file, `listen: [unix://${join(dir, 'b.sock')}]\nadmin:\n  listen: tcp://127.0.0.1:0\n  tokenFile: missing-token\n`)
  const admin = run(['serve', '--config', file, '--upstream', 'unix:///nonexistent.sock', '--audit-destination', 'none'])
  assert.equal(admin.status, 2)
  assert.match(admin.stderr, /admin\.tokenFile: cannot read .*missing-token: ENOENT/)
})
