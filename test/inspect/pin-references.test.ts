import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { EngineLookup } from '../../src/inspect/facts/engine-lookup.ts'
import { memoizedLookup, pinnedCreateBody, pinnedPathId } from '../../src/inspect/pin-references.ts'
import type { JsonObject } from '../../src/inspect/json-value.ts'

const ids: Record<string, string> = { web: 'a'.repeat(64), agent: 'b'.repeat(64) }
function fakeLookup (): EngineLookup & { asked: string[] } {
  const asked: string[] = []
  return {
    asked,
    volume: async () => null,
    container: async (name) => {
      asked.push(name)
      const id = ids[name]
      return id === undefined ? null : { id, name, hostConfig: Object.create(null) as JsonObject, mounts: [] }
    },
    exec: async () => null
  }
}

test('container path operations get the full id of the container that was judged', async () => {
  const lookup = fakeLookup()
  assert.equal(await pinnedPathId('ContainerExec', { id: 'web' }, lookup), ids['web'])
  assert.equal(await pinnedPathId('PutContainerArchive', { id: 'agent' }, lookup), ids['agent'])
  // Forwarded, a missing name could be another container's by the time the engine reads it.
  await assert.rejects(pinnedPathId('ContainerExec', { id: 'missing' }, lookup), { code: 'DW_ERR_NO_SUCH_OBJECT', message: 'No such container: missing' })
  assert.equal(await pinnedPathId('ContainerStart', { id: 'web' }, lookup), null)
})

test('a create body reaches containers by full id: VolumesFrom keeps its mode, container: modes', async () => {
  const body = { Image: 'x', HostConfig: { VolumesFrom: ['web:ro', 'agent'], PidMode: 'container:agent', NetworkMode: 'container:web', IpcMode: 'host', Memory: 1 } } as unknown as JsonObject
  const pinned = await pinnedCreateBody('ContainerCreate', body, fakeLookup()) as any
  assert.deepEqual(pinned.HostConfig.VolumesFrom, [`${ids['web']!}:ro`, ids['agent']])
  assert.equal(pinned.HostConfig.PidMode, `container:${ids['agent']!}`)
  assert.equal(pinned.HostConfig.NetworkMode, `container:${ids['web']!}`)
  assert.equal(pinned.HostConfig.IpcMode, 'host')
  assert.equal(pinned.HostConfig.Memory, 1)
  assert.equal(pinned.Image, 'x')
  const plain = { Image: 'x', HostConfig: { NetworkMode: 'bridge' } } as unknown as JsonObject
  assert.equal(await pinnedCreateBody('ContainerCreate', plain, fakeLookup()), plain, 'nothing to pin: the same object')
})

test('the memoized lookup asks the engine once per name', async () => {
  const inner = fakeLookup()
  const lookup = memoizedLookup(inner)
  await lookup.container('web')
  await lookup.container('web')
  await lookup.container('agent')
  assert.deepEqual(inner.asked, ['web', 'agent'])
})

test('links reach containers by full id and keep their alias, or the name as alias', async () => {
  const body = { Image: 'x', HostConfig: { Links: ['web:db', '/agent'] } } as unknown as JsonObject
  const pinned = await pinnedCreateBody('ContainerCreate', body, fakeLookup()) as any
  assert.deepEqual(pinned.HostConfig.Links, [`${ids['web']!}:db`, `${ids['agent']!}:agent`])
})

test('a reference that resolves to nothing is refused as the engine refuses it, never forwarded', async () => {
  // The engine reads `container:<x>` again at every start, and a rename may give a name to another container.
  for (const hc of [{ VolumesFrom: ['missing:ro'] }, { Links: ['missing:m'] }, { NetworkMode: 'container:missing' }, { PidMode: 'container:' }]) {
    const body = { Image: 'x', HostConfig: hc } as unknown as JsonObject
    await assert.rejects(pinnedCreateBody('ContainerCreate', body, fakeLookup()), { code: 'DW_ERR_NO_SUCH_REFERENCE', message: /^No such container: (missing)?$/ }, JSON.stringify(hc))
  }
})
