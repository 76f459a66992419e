import { test } from 'node:test'
import assert from 'node:assert/strict'
import { parseFilters, withOwnerFilter } from '../../src/tenancy/label-filter.ts'

test('the owner filter is added to the client\'s filters in either form', () => {
  assert.equal(withOwnerFilter(undefined, 'io.dockward.tenant', 'a'), '{"label":["io.dockward.tenant=a"]}')
  assert.equal(withOwnerFilter('{"status":["exited"]}', 'io.dockward.tenant', 'a'), '{"status":["exited"],"label":["io.dockward.tenant=a"]}')
  // The older map form, and a client label filter: both kept, so the answer only narrows.
  assert.equal(withOwnerFilter('{"label":{"app=web":true}}', 'io.dockward.tenant', 'a'), '{"label":["app=web","io.dockward.tenant=a"]}')
  assert.equal(withOwnerFilter('null', 'k', 'a'), '{"label":["k=a"]}')
})

test('filters dockward cannot read are refused, not passed on', () => {
  for (const bad of ['[]', '{"label":"x"}', '{"label":[1]}', '{"label":["a"],"label":["b"]}', '{', '{"label":{"a":"yes"}}']) {
    assert.throws(() => parseFilters(bad), { code: 'DW_ERR_BAD_REQUEST_BODY' }, bad)
  }
})
