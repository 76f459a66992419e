import { test } from 'node:test'
import assert from 'node:assert/strict'
import { planTenantRequest, type TenancyContext } from '../../src/tenancy/tenant-request.ts'
import { createOwnerCache, type OwnerLookup } from '../../src/tenancy/owner-lookup.ts'
import type { EngineQuery } from '../../src/forward/engine-query.ts'

const KEY = 'io.dockward.tenant'
const none = async (): Promise<null> => null
const owners: OwnerLookup = { container: none, volume: none, network: none, image: none, exec: none }
const ctx = (builds: boolean): TenancyContext => ({ tenant: 'a', label: KEY, engine: {} as EngineQuery, cache: createOwnerCache(), owners, sharedEvents: [], builds })
const req = (operation: string, query: Record<string, string[]> = {}) => ({ operation, params: {}, query, body: undefined, facts: {} })

test('builds and their sessions are closed to tenants unless the operator enables them', async () => {
  for (const op of ['ImageBuild', 'Session']) {
    await assert.rejects(planTenantRequest(req(op), ctx(false)), { code: 'DW_ERR_TENANCY_DENIED', message: /tenancy\.builds/ })
  }
  assert.deepEqual(await planTenantRequest(req('Session'), ctx(true)), {})
  const plan = await planTenantRequest(req('ImageBuild'), ctx(true))
  assert.deepEqual(plan.query?.['labels'], [`{"${KEY}":"a"}`])
  await assert.rejects(planTenantRequest(req('ImageBuild', { outputs: ['type=image,name=x'] }), ctx(true)), { code: 'DW_ERR_TENANCY_DENIED' })
})

test('operations not judged for tenants are closed, swarm among them', async () => {
  for (const op of ['SwarmInit', 'SecretCreate', 'ServiceList', 'ImageLoad', 'BuildPrune', 'Grpc', 'PluginEnable', 'SomethingNew']) {
    await assert.rejects(planTenantRequest(req(op), ctx(true)), { code: 'DW_ERR_TENANCY_DENIED' }, op)
  }
})

test('an object the engine does not have, or another tenant\'s, is "no such"', async () => {
  await assert.rejects(planTenantRequest({ ...req('ContainerStop'), params: { id: 'web' } }, ctx(false)), { code: 'DW_ERR_NO_SUCH_OBJECT', message: 'No such container: web' })
  const theirs: OwnerLookup = { ...owners, volume: async (name) => ({ id: name, owner: 'b' }) }
  await assert.rejects(planTenantRequest({ ...req('VolumeInspect'), params: { name: 'data' } }, { ...ctx(false), owners: theirs }), { message: 'get data: no such volume' })
})

// What the engine reads again later (at start, or a moment later when it runs the request) must
// be what was checked: an id, or text the engine can read only as that object.
const A_NET = 'a'.repeat(64)
const F9_IMG = `sha256:f9${'b'.repeat(62)}`
const APP_IMG = `sha256:0c${'a'.repeat(62)}`
const mine: OwnerLookup = {
  ...owners,
  container: async (ref) => ({ id: ref === 'web' ? 'c'.repeat(64) : ref, owner: 'a' }),
  network: async () => ({ id: A_NET, owner: 'a' }),
  image: async (ref) => ({ id: ref.startsWith('f9') ? F9_IMG : APP_IMG, owner: 'a' })
}
const mineCtx = (): TenancyContext => ({ ...ctx(true), owners: mine })
const plan = async (operation: string, params: Record<string, string>, body?: unknown, query: Record<string, string[]> = {}) =>
  await planTenantRequest({ operation, params, query, body: body as never, facts: {} }, mineCtx())

test('networks a create names are pinned by id in the endpoints the engine stores', async () => {
  const withEndpoint = await plan('ContainerCreate', {}, { Image: '', HostConfig: { NetworkMode: 'anet' }, NetworkingConfig: { EndpointsConfig: { anet: { Aliases: ['x'] } } } })
  const ep = (withEndpoint.body as any).NetworkingConfig.EndpointsConfig
  assert.deepEqual(Object.keys(ep), ['anet'])
  assert.equal(ep.anet.NetworkID, A_NET)
  assert.deepEqual(ep.anet.Aliases, ['x'], 'the rest of the endpoint is kept')
  // NetworkMode alone: the endpoint the engine would make, with the id.
  const modeOnly = await plan('ContainerCreate', {}, { Image: '', HostConfig: { NetworkMode: '7f8' } })
  assert.deepEqual(JSON.parse(JSON.stringify((modeOnly.body as any).NetworkingConfig.EndpointsConfig)), { '7f8': { NetworkID: A_NET } })
  // Built-in networks name no object: nothing to pin.
  const bridge = await plan('ContainerCreate', {}, { Image: '', HostConfig: { NetworkMode: 'bridge' } })
  assert.equal((bridge.body as any).NetworkingConfig, undefined)
})

test('a network connect carries the network\'s id for the container\'s next start; a disconnect is unchanged', async () => {
  const connect = await plan('NetworkConnect', { id: 'anet' }, { Container: 'web' })
  assert.equal(connect.pathId, A_NET)
  assert.equal((connect.body as any).EndpointConfig.NetworkID, A_NET)
  assert.equal((connect.body as any).Container, 'c'.repeat(64))
  const disconnect = await plan('NetworkDisconnect', { id: 'anet' }, { Container: 'web' })
  assert.equal((disconnect.body as any).EndpointConfig, undefined)
})

test('a build joins the network it was checked against, by id', async () => {
  const build = await plan('ImageBuild', {}, undefined, { networkmode: ['anet'] })
  assert.deepEqual(build.query?.['networkmode'], [A_NET])
  const host = await plan('ImageBuild', {}, undefined, { networkmode: ['host'] })
  assert.deepEqual(host.query?.['networkmode'], ['host'])
})

test('image references go to the engine as text it can read only as the image checked', async () => {
  // Reads by full id: the same answer, and no name to vanish in between.
  for (const op of ['ImageInspect', 'ImageHistory', 'ImageTag']) assert.equal((await plan(op, { name: 'app' })).pathId, APP_IMG, op)
  // An export of a name: qualified and tagged (without a tag, every tag of the repository goes).
  assert.equal((await plan('ImageGet', { name: 'app' })).pathId, 'docker.io/library/app:latest')
  assert.equal((await plan('ImageGet', { name: 'f9' })).pathId, F9_IMG, 'hex that is the image\'s id prefix: the full id')
  assert.equal((await plan('ImageGet', { name: '0d' })).pathId, 'docker.io/library/0d:latest', 'hex that was a name: never an id prefix')
  // `docker save NAME` (one image by query): the same, and never several at once.
  assert.deepEqual((await plan('ImageGetAll', {}, undefined, { names: ['app'] })).query?.['names'], ['docker.io/library/app:latest'])
  for (const names of [['app', 'f9'], []]) await assert.rejects(plan('ImageGetAll', {}, undefined, { names }), { code: 'DW_ERR_TENANCY_DENIED' })
  // A delete keeps its kind: a name is untagged, an id deletes the image.
  assert.equal((await plan('ImageDelete', { name: 'app:1' })).pathId, undefined)
  assert.equal((await plan('ImageDelete', { name: 'f9' })).pathId, F9_IMG)
  assert.equal((await plan('ImageDelete', { name: '0d' })).pathId, 'docker.io/library/0d:latest')
  // A create's image: names as written, hex pinned.
  assert.equal(((await plan('ContainerCreate', {}, { Image: 'busybox' })).body as any).Image, 'busybox')
  assert.equal(((await plan('ContainerCreate', {}, { Image: 'f9' })).body as any).Image, F9_IMG)
  assert.equal(((await plan('ContainerCreate', {}, { Image: '0d' })).body as any).Image, 'docker.io/library/0d:latest')
})
