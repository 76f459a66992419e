import { test } from 'node:test'
import assert from 'node:assert/strict'
import { eventFilters, tenantEvents } from '../../src/tenancy/tenant-events.ts'
import { createOwnerCache } from '../../src/tenancy/owner-lookup.ts'
import type { EngineQuery } from '../../src/forward/engine-query.ts'

const KEY = 'io.dockward.tenant'

test('events are narrowed at the engine to the types a tenant can own', () => {
  assert.equal(eventFilters(undefined, KEY, 'a', []), '{"type":["container","image","volume","network"]}')
  // Only labelled types asked for: the owner label filter is added too.
  assert.equal(eventFilters('{"type":["container"]}', KEY, 'a', []), `{"type":["container"],"label":["${KEY}=a"]}`)
  // Only types a tenant never sees: the label filter leaves the stream empty.
  assert.equal(eventFilters('{"type":["daemon"]}', KEY, 'a', []), `{"type":["daemon"],"label":["${KEY}=a"]}`)
  // Shared types are asked for, and a shared labelled type gets no label filter.
  assert.equal(eventFilters('{"type":["daemon","image"]}', KEY, 'a', ['daemon', 'image']), '{"type":["daemon","image"]}')
})

test('each event is judged by its object\'s owner', async () => {
  const engine = {
    volume: async (name: string) => name === 'mine' ? { driver: 'local', options: {}, labels: { [KEY]: 'a' } } : { driver: 'local', options: {}, labels: { [KEY]: 'b' } },
    network: async (id: string) => id === 'shared' ? { id, labels: {} } : { id, labels: { [KEY]: 'b' } },
    container: async (id: string) => ({ id, name: id, hostConfig: {}, mounts: [], labels: { [KEY]: id === 'c-a' ? 'a' : 'b' } })
  } as unknown as EngineQuery
  const filter = tenantEvents({ tenant: 'a', label: KEY, engine, cache: createOwnerCache() }, [])
  assert.equal(filter.kind, 'lines')
  if (filter.kind !== 'lines') return
  const judge = async (e: unknown): Promise<boolean> => await filter.keep(e)
  assert.equal(await judge({ Type: 'container', Action: 'start', Actor: { ID: 'c-a', Attributes: { [KEY]: 'a' } } }), true)
  assert.equal(await judge({ Type: 'container', Action: 'start', Actor: { ID: 'c-b', Attributes: { [KEY]: 'b' } } }), false)
  assert.equal(await judge({ Type: 'volume', Action: 'create', Actor: { ID: 'mine', Attributes: {} } }), true)
  assert.equal(await judge({ Type: 'volume', Action: 'create', Actor: { ID: 'theirs', Attributes: {} } }), false)
  // A destroyed volume is judged by the owner seen earlier in the stream.
  assert.equal(await judge({ Type: 'volume', Action: 'destroy', Actor: { ID: 'mine', Attributes: {} } }), true)
  assert.equal(await judge({ Type: 'network', Action: 'connect', Actor: { ID: 'shared', Attributes: { container: 'c-a' } } }), true)
  assert.equal(await judge({ Type: 'network', Action: 'connect', Actor: { ID: 'shared', Attributes: { container: 'c-b' } } }), false)
  assert.equal(await judge({ Type: 'network', Action: 'create', Actor: { ID: 'theirs', Attributes: {} } }), false)
  assert.equal(await judge({ Type: 'daemon', Action: 'reload', Actor: { ID: 'x', Attributes: {} } }), false)
  assert.equal(await judge('not an event'), false)
})

test('shared event types pass for objects nobody owns, never for another tenant\'s', async () => {
  const engine = { network: async (id: string) => ({ id, labels: {} }) } as unknown as EngineQuery
  const filter = tenantEvents({ tenant: 'a', label: KEY, engine, cache: createOwnerCache() }, ['daemon', 'image', 'network'])
  if (filter.kind !== 'lines') return
  const judge = async (e: unknown): Promise<boolean> => await filter.keep(e)
  assert.equal(await judge({ Type: 'daemon', Action: 'reload', Actor: { ID: 'x', Attributes: {} } }), true)
  assert.equal(await judge({ Type: 'image', Action: 'pull', Actor: { ID: 'busybox', Attributes: {} } }), true)
  assert.equal(await judge({ Type: 'image', Action: 'tag', Actor: { ID: 'i', Attributes: { [KEY]: 'b' } } }), false)
  assert.equal(await judge({ Type: 'network', Action: 'create', Actor: { ID: 'n', Attributes: {} } }), true)
  assert.equal(await judge({ Type: 'plugin', Action: 'enable', Actor: { ID: 'p', Attributes: {} } }), false)
})

test('an object whose owner cannot be known is never shared', async () => {
  const engine = { network: async () => null, volume: async () => null } as unknown as EngineQuery
  const filter = tenantEvents({ tenant: 'a', label: KEY, engine, cache: createOwnerCache() }, ['volume', 'network'])
  if (filter.kind !== 'lines') return
  const judge = async (e: unknown): Promise<boolean> => await filter.keep(e)
  assert.equal(await judge({ Type: 'volume', Action: 'destroy', Actor: { ID: 'gone', Attributes: {} } }), false)
  assert.equal(await judge({ Type: 'volume', Action: 'create', Actor: { ID: 'gone', Attributes: {} } }), false)
  assert.equal(await judge({ Type: 'network', Action: 'destroy', Actor: { ID: 'gone', Attributes: {} } }), false)
})
