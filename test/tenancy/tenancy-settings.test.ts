import { test } from 'node:test'
import assert from 'node:assert/strict'
import { inSet, operatorsWarning, parseTenancySettings } from '../../src/tenancy/tenancy-settings.ts'
import { scopeOf } from '../../src/tenancy/tenant-scope.ts'

test('tenancy settings: defaults, operators, refused values', () => {
  const s = parseTenancySettings({ operators: { groups: ['platform'] } }, 'tenancy')
  assert.equal(s.label, 'io.dockward.tenant')
  assert.deepEqual(s.operators, { names: [], groups: ['platform'], methods: [] })
  assert.equal(parseTenancySettings(null, 'tenancy').label, 'io.dockward.tenant')
  assert.deepEqual(parseTenancySettings({ redactEnv: { names: ['auditor'] } }, 'tenancy').redactEnv, { names: ['auditor'], groups: [], methods: [] })
  for (const bad of [{ label: 'Owner=x' }, { label: '' }, { operators: { names: 'ops' } }, { operator: [] }, { operators: { groups: ['a\u202e'] } }, { operators: { names: ['x'], methods: ['password'] } }]) {
    assert.throws(() => parseTenancySettings(bad, 'tenancy'), { name: 'ConfigError' }, JSON.stringify(bad))
  }
})

test('scope: operators by name or group, tenants by their tenant, no one else', () => {
  const s = parseTenancySettings({ operators: { names: ['root-ci'], groups: ['platform'] } }, 'tenancy')
  assert.deepEqual(scopeOf({ name: 'x', tenant: 'a', groups: ['platform'], method: 'token' }, s), { kind: 'operator' })
  assert.deepEqual(scopeOf({ name: 'root-ci', tenant: null, groups: [], method: 'token' }, s), { kind: 'operator' })
  assert.deepEqual(scopeOf({ name: 'ci', tenant: 'a', groups: [], method: 'jwt' }, s), { kind: 'tenant', tenant: 'a' })
  assert.throws(() => scopeOf({ name: 'anonymous', tenant: null, groups: [], method: 'anonymous' }, s), { code: 'DW_ERR_TENANCY_DENIED' })
})

test('scope: an operator set with methods takes its names only from those methods', () => {
  // A JWT whose subject an IdP lets users pick must not become the static token's operator.
  const s = parseTenancySettings({ operators: { names: ['deploy-bot'], methods: ['token'] }, redactEnv: { groups: ['ops'], methods: ['mtls'] } }, 'tenancy')
  assert.deepEqual(scopeOf({ name: 'deploy-bot', tenant: null, groups: [], method: 'token' }, s), { kind: 'operator' })
  assert.deepEqual(scopeOf({ name: 'deploy-bot', tenant: 'team-b', groups: [], method: 'jwt' }, s), { kind: 'tenant', tenant: 'team-b' })
  assert.equal(inSet({ name: 'x', groups: ['ops'], method: 'mtls' }, s.redactEnv), true)
  assert.equal(inSet({ name: 'x', groups: ['ops'], method: 'jwt' }, s.redactEnv), false)
})

test('a start-up warning when operators are named without methods and names can come several ways', () => {
  const loose = parseTenancySettings({ operators: { names: ['deploy-bot'] } }, 'tenancy')
  assert.match(operatorsWarning(loose, new Set(['jwt', 'token'])) ?? '', /^tenancy\.operators names identities without methods, and callers here prove names by jwt, token: .*set tenancy\.operators\.methods/)
  assert.equal(operatorsWarning(loose, new Set(['socket'])), null, 'one way only: nothing to confuse')
  assert.equal(operatorsWarning(parseTenancySettings({ operators: { names: ['deploy-bot'], methods: ['token'] } }, 'tenancy'), new Set(['jwt', 'token'])), null)
  assert.equal(operatorsWarning(parseTenancySettings({}, 'tenancy'), new Set(['jwt', 'token'])), null, 'no operators')
})
