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
