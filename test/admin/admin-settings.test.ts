import { test } from 'node:test'
import assert from 'node:assert/strict'
import { parseAdminSettings, resolveAdmin } from '../../src/admin/admin-settings.ts'
import { parseUpstreamUrl } from '../../src/forward/upstream.ts'
import { parseListenUrl } from '../../src/listen/listen-address.ts'

const upstream = parseUpstreamUrl('unix:///var/run/docker.sock')
const listeners = [parseListenUrl('tcp://127.0.0.1:2375'), parseListenUrl('unix:///run/dockward.sock')]
const HASH = 'a'.repeat(64)
const tls = { cert: '/etc/dw/server.pem', key: '/etc/dw/server-key.pem' }

test('off by default', () => {
  assert.equal(resolveAdmin({}, listeners, upstream), null)
})

test('loopback and unix addresses are fine; reads stay open there', () => {
  const a = resolveAdmin({ listen: 'tcp://127.0.0.1:9323' }, listeners, upstream)!
  assert.equal(a.address.kind, 'tcp')
  assert.equal(a.protectReads, false)
  const u = resolveAdmin({ listen: 'unix:///run/dockward-admin.sock?mode=0600' }, listeners, upstream)!
  assert.equal(u.address.kind === 'unix' && u.address.mode, 0o600)
})

test('off loopback: refused unless tls:// with a token or client certificates, or the explicit opt-in', () => {
  assert.throws(() => resolveAdmin({ listen: 'tcp://0.0.0.0:9323' }, listeners, upstream), /not a loopback address.*allowUnauthenticatedTcp/s)
  assert.throws(() => resolveAdmin({ listen: 'tls://0.0.0.0:9323', tls }, listeners, upstream), /not a loopback address/)
  const t = resolveAdmin({ listen: 'tls://0.0.0.0:9323', tls, tokenSha256: HASH }, listeners, upstream)!
  assert.equal(t.protectReads, true)
  assert.ok(resolveAdmin({ listen: 'tls://0.0.0.0:9323', tls: { ...tls, clientCa: '/etc/dw/ca.pem' } }, listeners, upstream))
  const open = resolveAdmin({ listen: 'tcp://0.0.0.0:9323', allowUnauthenticatedTcp: true }, listeners, upstream)!
  assert.equal(open.protectReads, false)
})

test('never the address of a proxied listener or of the engine', () => {
  assert.throws(() => resolveAdmin({ listen: 'tcp://127.0.0.1:2375' }, listeners, upstream), /address of its own/)
  assert.throws(() => resolveAdmin({ listen: 'tcp://0.0.0.0:2375', allowUnauthenticatedTcp: true }, listeners, upstream), /address of its own/)
  assert.throws(() => resolveAdmin({ listen: 'unix:///run/dockward.sock' }, listeners, upstream), /address of its own/)
  assert.throws(() => resolveAdmin({ listen: 'unix:///var/run/docker.sock' }, listeners, upstream), /address of its own/)
  // Port 0 picks a free port each time.
  assert.ok(resolveAdmin({ listen: 'tcp://127.0.0.1:0' }, [parseListenUrl('tcp://127.0.0.1:0')], upstream))
})

test('settings: a token hash or a token file, not both; no token in the config', () => {
  assert.throws(() => resolveAdmin({ listen: 'tcp://127.0.0.1:9323', tokenSha256: HASH, tokenFile: '/t' }, listeners, upstream), /exclude each other/)
  assert.throws(() => parseAdminSettings({ listen: 'tcp://127.0.0.1:9323', tokenSha256: 'dwt_secret' }, 'admin'), /looks like a token/)
  assert.throws(() => parseAdminSettings({ listen: 'tcp://127.0.0.1:9323', token: 'x' }, 'admin'), /admin\.token: unknown setting/)
  assert.throws(() => resolveAdmin({ tokenSha256: HASH }, listeners, upstream), /listen is missing/)
  assert.deepEqual(parseAdminSettings({ listen: 'unix:///a.sock', group: 998, allowUnauthenticatedTcp: false }, 'admin'), { listen: 'unix:///a.sock', group: '998', allowUnauthenticatedTcp: false })
})
