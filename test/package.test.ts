import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn, spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs'
import http from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

// The npm package as users get it: `npm pack` (its prepare script builds dist), installed into
// an empty folder, run with `npx dockward`. The install takes jose and yaml from npm's cache,
// or from the registry when the cache lacks them.

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { name: string, version: string, bin: Record<string, string> }
const work = mkdtempSync(join(tmpdir(), 'dw-pack-'))
const app = join(work, 'app')
let tarball = ''
let files: string[] = []

function run (cmd: string, args: readonly string[], cwd: string, timeout = 180_000): string {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', timeout, env: { ...process.env, npm_config_update_notifier: 'false' } })
  assert.equal(r.status, 0, `${cmd} ${args.join(' ')} failed:\n${r.stdout}\n${r.stderr}`)
  return r.stdout
}

before(() => {
  const out = JSON.parse(run('npm', ['pack', '--json', '--pack-destination', work], ROOT)) as Array<{ filename: string, files: Array<{ path: string }> }>
  tarball = join(work, out[0]!.filename)
  files = out[0]!.files.map((f) => f.path)
  run('npm', ['install', '--prefix', app, '--prefer-offline', '--no-audit', '--no-fund', tarball], work)
})
after(() => rmSync(work, { recursive: true, force: true }))

test('the package holds the built gateway, the policies and the docs, and nothing else', () => {
  assert.ok(files.includes('dist/main.js'))
  assert.ok(files.includes('dist/decide/socket-proxy-policy.js'))
  for (const f of ['package.json', 'README.md', 'CHANGELOG.md', 'policies/default.yaml', 'policies/read-only.yaml', 'policies/admin.yaml']) assert.ok(files.includes(f), f)
  // policies/opa/: the Rego version of the default policy, shipped as an example to build.
  const stray = files.filter((f) => !/^(dist\/.+\.js|policies\/[^/]+\.(yaml|md)|policies\/opa\/(README\.md|[a-z]+\/[a-z_]+\.rego)|package\.json|README\.md|CHANGELOG\.md)$/.test(f))
  assert.deepEqual(stray, [])
  // dist is built at pack time, never committed.
  assert.equal(spawnSync('git', ['ls-files', 'dist'], { cwd: ROOT, encoding: 'utf8' }).stdout, '')
  const main = readFileSync(join(app, 'node_modules', pkg.name, pkg.bin['dockward']!), 'utf8')
  assert.ok(main.startsWith('#!/usr/bin/env node\n'))
  assert.ok((statSync(join(app, 'node_modules', '.bin', 'dockward')).mode & 0o111) !== 0)
})

test('npx dockward --version and policy check run from the installed package', () => {
  assert.equal(run('npx', ['--no-install', 'dockward', '--version'], app).trim(), `dockward ${pkg.version}`)
  assert.match(run('npx', ['--no-install', 'dockward', 'policy', 'check', 'default', 'read-only', 'admin'], app), /^ok: default .*\nok: read-only .*\nok: admin /)
})

test('npx dockward serve listens and answers in the engine\'s format', async (t) => {
  const socket = join(work, 'dw.sock')
  // No engine behind it: the smoke test needs none, and an unreachable one is a clean 502.
  const child = spawn('npx', ['--no-install', 'dockward', 'serve', '--listen', `unix://${socket}`, '--upstream', `unix://${join(work, 'no-engine.sock')}`], { cwd: app, stdio: ['ignore', 'ignore', 'pipe'], detached: true })
  t.after(() => { try { process.kill(-child.pid!, 'SIGTERM') } catch {} })
  let stderr = ''
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`dockward did not start:\n${stderr}`)), 20_000)
    child.stderr!.on('data', (c: Buffer) => {
      stderr += c.toString()
      if (stderr.includes('forwarding to')) { clearTimeout(timer); resolve() }
    })
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`dockward exited ${code}:\n${stderr}`)) })
  })
  const reply = await new Promise<{ status: number, body: string }>((resolve, reject) => {
    http.get({ socketPath: socket, path: '/_ping' }, (res) => {
      let body = ''
      res.on('data', (c: Buffer) => { body += c.toString() })
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }))
    }).on('error', reject)
  })
  assert.equal(reply.status, 502)
  assert.match(JSON.parse(reply.body).message, /^dockward: cannot reach the Docker engine/)
})
