import { test } from 'node:test'
import assert from 'node:assert/strict'
import { opaInput } from '../../../src/decide/opa/opa-input.ts'
import { anonymousIdentity } from '../../../src/identify/identity.ts'
import type { PolicyInput } from '../../../src/decide/policy-input.ts'

const base: PolicyInput = {
  identity: anonymousIdentity,
  operation: 'SystemAuth',
  method: 'POST',
  path: '/auth',
  version: '1.41',
  params: {},
  query: {},
  body: { username: 'bob', password: 'HUNTER2pw' } as unknown as PolicyInput['body'],
  facts: {},
  listener: 'unix:///run/dw.sock'
}

test('a docker login body never reaches a Rego policy, as the engine keeps it from AuthZ plugins', () => {
  const input = opaInput(base)
  assert.equal(input.Body, null)
  assert.doesNotMatch(JSON.stringify(input), /HUNTER2/)
  // Other operations get their canonical body.
  assert.deepEqual(opaInput({ ...base, operation: 'ContainerCreate', path: '/containers/create' }).Body, base.body)
})
