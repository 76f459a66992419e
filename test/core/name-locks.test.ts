import { test } from 'node:test'
import assert from 'node:assert/strict'
import { NameLocks } from '../../src/core/name-locks.ts'

test('holds are granted one at a time per name, in arrival order, and released once', async () => {
  const locks = new NameLocks()
  const order: string[] = []
  const first = await locks.acquire(['data'])
  const second = locks.acquire(['data', 'cache']).then((release) => { order.push('second'); return release })
  const other = locks.acquire(['other']).then((release) => { order.push('other'); return release })
  await (await other)()
  assert.deepEqual(order, ['other'], 'another name is not held up')
  first()
  first()
  const releaseSecond = await second
  assert.deepEqual(order, ['other', 'second'])
  const third = locks.acquire(['cache'])
  let thirdHeld = false
  void third.then(() => { thirdHeld = true })
  await new Promise((resolve) => setImmediate(resolve))
  assert.equal(thirdHeld, false, 'cache is still held by the second')
  releaseSecond()
  ;(await third)()
  assert.equal(locks.size, 0, 'nothing is left behind')
})

test('two holders of the same names in different order cannot wait on each other', async () => {
  const locks = new NameLocks()
  const a = await locks.acquire(['x', 'y'])
  const b = locks.acquire(['y', 'x'])
  const c = locks.acquire(['x', 'y'])
  a()
  ;(await b)()
  ;(await c)()
  assert.equal(locks.size, 0)
})
