import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createRouteMatcher } from '../../src/route/route-matcher.ts'
import { routeTable } from '../../src/route/route-table.ts'

const match = createRouteMatcher(routeTable)

test('literal routes', () => {
  assert.equal(match('GET', '/_ping')?.operation, 'SystemPing')
  assert.equal(match('HEAD', '/_ping')?.operation, 'SystemPingHead')
  assert.equal(match('GET', '/containers/json')?.operation, 'ContainerList')
  assert.equal(match('POST', '/containers/create')?.operation, 'ContainerCreate')
  assert.equal(match('POST', '/session')?.upgrade, 'h2c')
  assert.equal(match('POST', '/grpc')?.upgrade, 'h2c')
})

test('one-segment parameters', () => {
  const m = match('POST', '/containers/abc123/start')
  assert.equal(m?.operation, 'ContainerStart')
  assert.deepEqual(m?.params, { id: 'abc123' })
  assert.equal(match('POST', '/exec/e1/start')?.upgrade, 'tcp')
  assert.equal(match('POST', '/containers/c1/attach')?.upgrade, 'tcp')
  assert.equal(match('GET', '/containers/c1/attach/ws')?.upgrade, 'websocket')
  assert.equal(match('GET', '/containers/c1/json')?.upgrade, null)
  // The engine's router would read `a/b` as a container name; dockward does not match it at all.
  assert.equal(match('GET', '/containers/a/b/json'), null)
})

test('image, distribution and plugin names span segments and keep colons', () => {
  const m = match('GET', '/images/registry.example:5000/team/app:1.2/json')
  assert.equal(m?.operation, 'ImageInspect')
  assert.deepEqual(m?.params, { name: 'registry.example:5000/team/app:1.2' })
  assert.deepEqual(match('DELETE', '/images/library/busybox:latest')?.params, { name: 'library/busybox:latest' })
  assert.deepEqual(match('POST', '/images/a/b/tag')?.params, { name: 'a/b' })
  assert.equal(match('GET', '/distribution/library/busybox/json')?.operation, 'DistributionInspect')
  assert.deepEqual(match('POST', '/plugins/vieux/sshfs:latest/enable')?.params, { name: 'vieux/sshfs:latest' })
})

test('literal routes win over parameter routes', () => {
  assert.equal(match('GET', '/images/json')?.operation, 'ImageList')
  assert.equal(match('GET', '/images/get')?.operation, 'ImageGetAll')
  assert.equal(match('GET', '/images/search')?.operation, 'ImageSearch')
  assert.equal(match('POST', '/images/prune')?.operation, 'ImagePrune')
  assert.equal(match('GET', '/plugins/privileges')?.operation, 'GetPluginPrivileges')
  assert.equal(match('POST', '/plugins/pull')?.operation, 'PluginPull')
  assert.equal(match('POST', '/volumes/prune')?.operation, 'VolumePrune')
})

test('unknown methods and paths do not match', () => {
  assert.equal(match('get', '/_ping'), null)
  assert.equal(match('PATCH', '/containers/x/json'), null)
  assert.equal(match('GET', '/containers/json/'), null)
  assert.equal(match('GET', '/'), null)
  assert.equal(match('DELETE', '/images/'), null)
})

test('every table row matches its own template', () => {
  for (const r of routeTable) {
    const path = r.template.replace(/\{([^}*]+)\*\}/g, 'ns/x:tag').replace(/\{[^}]+\}/g, 'p1')
    const m = match(r.method, path)
    assert.ok(m !== null, `${r.method} ${path}`)
    // Literal siblings may win (e.g. /images/{name*}/json vs a literal); the template must at least be reachable by some path.
    if (m.route !== r) assert.ok(!m.route.template.includes('{'), `${r.method} ${path} -> ${m.operation}`)
  }
})
