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
    volume: async (name: string) => name === 'mine' ? { driver: 'local', options: {}, labels: { [KEY]: 'a' }, createdSec: 0 } : { driver: 'local', options: {}, labels: { [KEY]: 'b' }, createdSec: 0 },
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

test('a replayed volume event from before the volume of that name existed is not its current owner\'s', async () => {
  // Tenant b had "data" and removed it; tenant a made a new "data" at t=1000 and asks since t=0.
  const engine = { volume: async () => ({ driver: 'local', options: {}, labels: { [KEY]: 'a' }, createdSec: 1000 }) } as unknown as EngineQuery
  const filter = tenantEvents({ tenant: 'a', label: KEY, engine, cache: createOwnerCache() }, ['volume'])
  if (filter.kind !== 'lines') return
  const judge = async (e: unknown): Promise<boolean> => await filter.keep(e)
  assert.equal(await judge({ Type: 'volume', Action: 'mount', time: 900, Actor: { ID: 'data', Attributes: { container: 'c-b', destination: '/d' } } }), false, 'b\'s mount, before a\'s volume')
  assert.equal(await judge({ Type: 'volume', Action: 'create', time: 1000, Actor: { ID: 'data', Attributes: {} } }), true, 'a\'s own create')
  assert.equal(await judge({ Type: 'volume', Action: 'mount', time: 1001, Actor: { ID: 'data', Attributes: { container: 'c-a' } } }), true)
})

test('with shared types: an image delete without labels and an anonymous volume\'s mount are judged by their real owner', async () => {
  const engine = {
    volume: async () => ({ driver: 'local', options: {}, labels: {}, createdSec: 0 }),
    container: async (id: string) => ({ id, name: id, hostConfig: {}, mounts: [], labels: { [KEY]: id === 'c-a' ? 'a' : 'b' } })
  } as unknown as EngineQuery
  const cache = createOwnerCache()
  cache.set('image', 'sha256:mine', 'a')
  const filter = tenantEvents({ tenant: 'a', label: KEY, engine, cache }, ['image', 'volume'])
  if (filter.kind !== 'lines') return
  const judge = async (e: unknown): Promise<boolean> => await filter.keep(e)
  // The engine logs `delete` once the image is gone, without labels.
  assert.equal(await judge({ Type: 'image', Action: 'delete', Actor: { ID: 'sha256:theirs', Attributes: { name: 'sha256:theirs' } } }), false, 'an unknown owner is not shared')
  assert.equal(await judge({ Type: 'image', Action: 'delete', Actor: { ID: 'sha256:mine', Attributes: {} } }), true)
  // An anonymous volume (nobody owns it) mounted by b's container is about b's container.
  assert.equal(await judge({ Type: 'volume', Action: 'mount', time: 5, Actor: { ID: 'anon1', Attributes: { container: 'c-b', destination: '/data' } } }), false)
  assert.equal(await judge({ Type: 'volume', Action: 'mount', time: 5, Actor: { ID: 'anon1', Attributes: { container: 'c-a', destination: '/data' } } }), true)
  assert.equal(await judge({ Type: 'volume', Action: 'create', time: 5, Actor: { ID: 'anon2', Attributes: {} } }), true, 'a shared volume\'s own event')
})
