import { test } from 'node:test'
import assert from 'node:assert/strict'
import { CopyGuard, namedVolumeMounts, withoutCopy } from '../../src/inspect/volume-copy.ts'

const body = (hc: Record<string, unknown>) => ({ Image: 'x', HostConfig: hc }) as any

test('the named volumes a create mounts, and whether the engine would copy into them', () => {
  assert.deepEqual(namedVolumeMounts(body({
    Binds: ['data:/d', 'cache:/c:ro,nocopy', '/host:/h', '/anon', 'data:/d2:nocopy'],
    Mounts: [{ Type: 'volume', Source: 'm1', Target: '/m1' }, { Type: 'volume', Source: 'm2', Target: '/m2', VolumeOptions: { NoCopy: true } }, { Type: 'bind', Source: '/x', Target: '/x' }, { Type: 'volume', Target: '/anon2' }]
  })), [{ name: 'data', copies: true }, { name: 'cache', copies: false }, { name: 'm1', copies: true }, { name: 'm2', copies: false }])
  assert.deepEqual(namedVolumeMounts(undefined), [])
  assert.deepEqual(namedVolumeMounts({ Image: 'x' } as any), [])
})

test('withoutCopy sets nocopy on every mount of the named volumes, and leaves the rest', () => {
  const out = withoutCopy(body({
    Binds: ['data:/d', 'data:/d2:ro', 'data:/d3:nocopy', 'data:/d4:', 'other:/o', '/host:/h'],
    Mounts: [{ Type: 'volume', Source: 'data', Target: '/m', VolumeOptions: { Labels: { a: 'b' } } }, { Type: 'volume', Source: 'other', Target: '/n' }],
    Memory: 1
  }), new Set(['data'])) as any
  assert.deepEqual(out.HostConfig.Binds, ['data:/d:nocopy', 'data:/d2:ro,nocopy', 'data:/d3:nocopy', 'data:/d4:nocopy', 'other:/o', '/host:/h'])
  assert.deepEqual(JSON.parse(JSON.stringify(out.HostConfig.Mounts)), [
    { Type: 'volume', Source: 'data', Target: '/m', VolumeOptions: { Labels: { a: 'b' }, NoCopy: true } },
    { Type: 'volume', Source: 'other', Target: '/n' }
  ])
  assert.equal(out.HostConfig.Memory, 1)
  assert.equal(out.Image, 'x')
})

test('CopyGuard: a create that mounts a named volume waits for the creates already in flight, and a volume in use loses its copy', async () => {
  const inUse = new Set(['shared'])
  const guard = new CopyGuard(async (name) => inUse.has(name))
  const anonymous = await guard.hold(body({}))
  assert.equal(anonymous.body, undefined, 'no named volume: nothing held but the create itself')
  let mounted = false
  const mounting = guard.hold(body({ Binds: ['fresh:/a', 'shared:/b'] })).then((h) => { mounted = true; return h })
  await new Promise((resolve) => setImmediate(resolve))
  assert.equal(mounted, false, 'it waits while an earlier create may be filling an anonymous volume')
  anonymous.release()
  const held = await mounting
  assert.deepEqual((held.body as any).HostConfig.Binds, ['fresh:/a', 'shared:/b:nocopy'])
  // A later create of the same volume waits for this one's release.
  let later = false
  const next = guard.hold(body({ Binds: ['fresh:/c'] })).then((h) => { later = true; return h })
  await new Promise((resolve) => setImmediate(resolve))
  assert.equal(later, false)
  held.release()
  ;(await next).release()
  assert.equal(later, true)
})
