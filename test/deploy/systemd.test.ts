import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { chmodSync, copyFileSync, cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { readConfigFile } from '../../src/config/config-file.ts'
import { resolveConfig } from '../../src/config/config.ts'

// deploy/systemd/dockward.service through `systemd-analyze verify` and `security --offline`,
// in a root folder that holds the distribution's units, /bin/kill and a stand-in for the
// installed /usr/local/bin/dockward (verify checks that ExecStart names an executable; the npm
// package test shows the real bin works). systemd is not running here, so the hardening is
// checked as configuration, not by starting the service.

const DIR = fileURLToPath(new URL('../../deploy/systemd/', import.meta.url))
const UNIT_DIRS = ['/usr/lib/systemd/system', '/lib/systemd/system']

function systemdAnalyze (): string | null {
  const found = spawnSync('sh', ['-c', 'command -v systemd-analyze'], { encoding: 'utf8' }).stdout.trim()
  if (found !== '') return found
  // Debian's systemd package brings it (about 10 s); only as root, as scripts/engine.sh does.
  if (process.getuid?.() !== 0) return null
  const r = spawnSync('sh', ['-c', 'DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends systemd || (apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends systemd)'], { encoding: 'utf8', timeout: 240_000 })
  if (r.status !== 0) return null
  return spawnSync('sh', ['-c', 'command -v systemd-analyze'], { encoding: 'utf8' }).stdout.trim() || null
}

function fakeRoot (): string {
  const root = mkdtempSync(join(tmpdir(), 'dw-systemd-'))
  const units = UNIT_DIRS.find((d) => spawnSync('test', ['-d', d]).status === 0)
  assert.ok(units !== undefined, 'no systemd unit folder on this machine')
  cpSync(units, join(root, 'usr/lib/systemd/system'), { recursive: true, dereference: false })
  mkdirSync(join(root, 'etc/systemd/system'), { recursive: true })
  mkdirSync(join(root, 'bin'))
  mkdirSync(join(root, 'usr/local/bin'), { recursive: true })
  copyFileSync('/bin/kill', join(root, 'bin/kill'))
  chmodSync(join(root, 'bin/kill'), 0o755)
  writeFileSync(join(root, 'usr/local/bin/dockward'), '#!/bin/sh\n', { mode: 0o755 })
  copyFileSync(join(DIR, 'dockward.service'), join(root, 'etc/systemd/system/dockward.service'))
  return root
}

const analyze = systemdAnalyze()
if (analyze === null) console.log('SKIPPED: systemd-analyze not found and could not be installed (apt-get install systemd); dockward.service not verified')

test('dockward.service passes systemd-analyze verify without a warning', { skip: analyze === null ? 'no systemd-analyze' : false }, (t) => {
  const root = fakeRoot()
  t.after(() => rmSync(root, { recursive: true, force: true }))
  const r = spawnSync(analyze!, ['verify', `--root=${root}`, 'dockward.service'], { encoding: 'utf8' })
  assert.equal(r.status, 0, r.stderr)
  // verify exits 0 on unknown keys and unparsable values; they are warnings on stderr.
  assert.equal(r.stderr, '')
  // and the check has teeth: a misspelt value is reported.
  writeFileSync(join(root, 'etc/systemd/system/dockward.service'), spawnSync('sed', ['s/^ProtectSystem=strict/ProtectSystem=stirct/', join(DIR, 'dockward.service')], { encoding: 'utf8' }).stdout)
  assert.match(spawnSync(analyze!, ['verify', `--root=${root}`, 'dockward.service'], { encoding: 'utf8' }).stderr, /protect system value/)
})

test('dockward.service is hardened: systemd-analyze security rates its exposure 2.0 or lower', { skip: analyze === null ? 'no systemd-analyze' : false }, (t) => {
  const root = fakeRoot()
  t.after(() => rmSync(root, { recursive: true, force: true }))
  const r = spawnSync(analyze!, ['security', '--offline=yes', `--root=${root}`, '--no-pager', 'dockward.service'], { encoding: 'utf8' })
  const m = /Overall exposure level for dockward\.service: (\d+\.\d+)/.exec(r.stdout)
  assert.ok(m !== null, `no exposure level in:\n${r.stdout}\n${r.stderr}`)
  assert.ok(Number(m[1]) <= 2.0, `exposure ${m[1]}:\n${r.stdout}`)
})

test('the example /etc/dockward/dockward.yaml is a valid dockward config', () => {
  const config = resolveConfig(readConfigFile(join(DIR, 'dockward.yaml')), {}, {})
  assert.deepEqual(config.listen.map((l) => l.url), ['unix:///run/dockward/docker.sock'])
  assert.equal(config.upstream.url, 'unix:///var/run/docker.sock')
})
