import { test } from 'node:test'
import assert from 'node:assert/strict'
import net from 'node:net'
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { isLoopback, parseListenUrl } from '../../src/listen/listen-address.ts'
import { startListener } from '../../src/listen/listeners.ts'
import { resolveGroup, resolveUser } from '../../src/listen/unix-socket.ts'
import { DEFAULT_LIMITS } from '../../src/config/config.ts'

test('parses tcp and unix listen URLs with socket settings', () => {
  assert.deepEqual(parseListenUrl('tcp://127.0.0.1:2375'), { kind: 'tcp', host: '127.0.0.1', port: 2375, url: 'tcp://127.0.0.1:2375' })
  assert.deepEqual(parseListenUrl('tcp://[::1]:0'), { kind: 'tcp', host: '::1', port: 0, url: 'tcp://[::1]:0' })
  assert.deepEqual(parseListenUrl('unix:///run/d.sock?mode=0600&group=docker'), { kind: 'unix', path: '/run/d.sock', url: 'unix:///run/d.sock', mode: 0o600, group: 'docker', owner: null })
  assert.deepEqual(parseListenUrl('unix:///run/d.sock', { mode: '0666' }), { kind: 'unix', path: '/run/d.sock', url: 'unix:///run/d.sock', mode: 0o666, group: null, owner: null })
  assert.deepEqual(parseListenUrl('unix:///run/alice.sock?mode=0600&owner=alice'), { kind: 'unix', path: '/run/alice.sock', url: 'unix:///run/alice.sock', mode: 0o600, group: null, owner: 'alice' })
  assert.equal((parseListenUrl('unix:///run/a.sock?owner=alice', { owner: '1001' }) as { owner: string }).owner, '1001')
  for (const key of ['mode', 'group', 'owner'] as const) {
    assert.throws(() => parseListenUrl('tcp://127.0.0.1:2375', { [key]: '0600' }), new RegExp(`${key} is for unix:// sockets`))
  }
})

test('loopback detection', () => {
  for (const h of ['127.0.0.1', '127.255.0.9', '::1', 'localhost', '::ffff:127.0.0.1']) assert.ok(isLoopback(h), h)
  for (const h of ['0.0.0.0', '::', '10.0.0.1', '128.0.0.1', 'example.com', '']) assert.ok(!isLoopback(h), h)
})

const sink = { request: () => {}, upgrade: () => {}, preface: () => {} }

test('a unix listener gets its mode, and a stale socket file is replaced', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'dw-listen-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  const path = join(dir, 'd.sock')
  // A socket file left by a process that died: bound, then the server closed without unlinking.
  const stale = net.createServer()
  await new Promise<void>((resolve) => stale.listen(path, resolve))
  ;(stale as unknown as { _handle: { close: () => void } })._handle.close()
  const l = await startListener(parseListenUrl(`unix://${path}?mode=0640&group=daemon`), DEFAULT_LIMITS, sink)
  assert.equal(statSync(path).mode & 0o777, 0o640)
  // The group is looked up by name in /etc/group (Debian's `daemon` is gid 1).
  assert.equal(statSync(path).gid, resolveGroup('daemon'))
  await l.close()
  await assert.rejects(startListener(parseListenUrl(`unix://${path}?group=no-such-group-dw`), DEFAULT_LIMITS, sink), /group "no-such-group-dw" does not exist/)
})

test('a unix listener gets its owner, by user name from /etc/passwd or uid; an unknown user fails start-up and leaves no file', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'dw-listen-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  const path = join(dir, 'alice.sock')
  await assert.rejects(startListener(parseListenUrl(`unix://${path}?owner=no-such-user-dw`), DEFAULT_LIMITS, sink), /user "no-such-user-dw" does not exist/)
  assert.equal(existsSync(path), false)
  if (process.getuid?.() !== 0) {
    // Giving a file away needs root: start-up fails and the socket goes again.
    await assert.rejects(startListener(parseListenUrl(`unix://${path}?owner=daemon`), DEFAULT_LIMITS, sink), /cannot set owner or mode/)
    assert.equal(existsSync(path), false)
    return
  }
  // Debian's `daemon` user is uid 1: a per-tenant socket for one account, mode 0600.
  const l = await startListener(parseListenUrl(`unix://${path}?mode=0600&owner=daemon`), DEFAULT_LIMITS, sink)
  t.after(() => l.close())
  assert.equal(statSync(path).uid, resolveUser('daemon'))
  assert.equal(statSync(path).mode & 0o777, 0o600)
})

test('a socket in use or a file that is not a socket is left alone', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'dw-listen-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  const busy = join(dir, 'busy.sock')
  const other = net.createServer()
  await new Promise<void>((resolve) => other.listen(busy, resolve))
  t.after(() => other.close())
  await assert.rejects(startListener(parseListenUrl(`unix://${busy}`), DEFAULT_LIMITS, sink), /in use by another process/)
  const file = join(dir, 'file')
  writeFileSync(file, 'keep me')
  await assert.rejects(startListener(parseListenUrl(`unix://${file}`), DEFAULT_LIMITS, sink), /is not a socket/)
  assert.equal(statSync(file).size, 7)
})
