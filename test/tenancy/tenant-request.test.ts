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
