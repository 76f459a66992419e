import { test } from 'node:test'
import assert from 'node:assert/strict'
import { buildLabels, refuseOwnerLabel, withOwner, withOwnerChange } from '../../src/tenancy/owner-label.ts'

const KEY = 'io.dockward.tenant'

test('a client\'s owner label is refused in any letter case', () => {
  for (const k of [KEY, 'IO.DOCKWARD.TENANT', 'Io.Dockward.Tenant']) {
    assert.throws(() => refuseOwnerLabel({ [k]: 'b' }, KEY, 'Labels'), { code: 'DW_ERR_TENANCY_DENIED' }, k)
  }
  for (const k of [`${KEY}\u0000`, ` ${KEY}`, `io.dockward\u200b.tenant`, `${KEY}\u00a0`]) {
    assert.throws(() => refuseOwnerLabel({ [k]: 'b' }, KEY, 'Labels'), { code: 'DW_ERR_TENANCY_DENIED' }, JSON.stringify(k))
  }
  refuseOwnerLabel({ app: 'web' }, KEY, 'Labels')
  refuseOwnerLabel(null, KEY, 'Labels')
})

test('the owner label is added to what the client labelled', () => {
  assert.deepEqual({ ...withOwner({ app: 'web' }, KEY, 'a') }, { app: 'web', [KEY]: 'a' })
  assert.deepEqual({ ...withOwner(null, KEY, 'a') }, { [KEY]: 'a' })
})

test('build labels: parsed, checked, owner added', () => {
  assert.equal(buildLabels(['{"app":"web"}'], KEY, 'a'), `{"app":"web","${KEY}":"a"}`)
  assert.equal(buildLabels(undefined, KEY, 'a'), `{"${KEY}":"a"}`)
  assert.throws(() => buildLabels([`{"${KEY}":"b"}`], KEY, 'a'), { code: 'DW_ERR_TENANCY_DENIED' })
  assert.throws(() => buildLabels(['[1]'], KEY, 'a'), { code: 'DW_ERR_BAD_REQUEST_BODY' })
})

test('commit and import changes: the owner LABEL goes last, quoted; a client\'s is refused however spelt', () => {
  assert.deepEqual(withOwnerChange(['ENV A=1'], KEY, 'team "x" $HOME'), ['ENV A=1', `LABEL ${KEY}="team \\"x\\" \\$HOME"`])
  for (const c of [`LABEL ${KEY}=b`, `LABEL "${KEY}"=b`, `label io.dockward.ten\\ant=b`, `LABEL 'IO.DOCKWARD.TENANT'=b`, 'ENV Z=\\', 'LABEL ${P}.tenant=b', 'ENV A=1\nLABEL x=y']) {
    assert.throws(() => withOwnerChange([c], KEY, 'a'), { code: 'DW_ERR_TENANCY_DENIED' }, c)
  }
})
