import { test } from 'node:test'
import assert from 'node:assert/strict'
import { combineEngines } from '../../src/decide/combined-engine.ts'
import type { Decision, PolicyEngine, PolicyInput } from '../../src/decide/policy-input.ts'
import { anonymousIdentity } from '../../src/identify/identity.ts'

const input: PolicyInput = { identity: anonymousIdentity, operation: 'ContainerList', method: 'GET', path: '/containers/json', version: null, params: {}, query: {}, body: undefined, facts: {}, listener: 'unix:///t.sock' }

function engine (name: string, allow: boolean, wouldDeny = false): PolicyEngine & { calls: number } {
  const d: Decision = { allow, wouldDeny, ruleId: `${name}-rule`, reason: `${name} says ${String(allow)}`, trail: [{ ruleId: `${name}-rule`, action: allow ? 'allow' : 'deny', mode: 'enforce', reason: 'r' }], policyDigest: name }
  const e = { name, digest: `${name}-digest`, calls: 0, decide: () => { e.calls++; return d } }
  return e
}

test('the first engine\'s denial ends evaluation; otherwise the second decides', () => {
  const denyFirst = engine('a', false)
  const second = engine('b', true)
  const both = combineEngines(denyFirst, second)
  const d = both.decide(input)
  assert.equal(d.ruleId, 'a-rule')
  assert.equal(second.calls, 0)
  assert.equal(d.policyDigest, both.digest)
  assert.match(both.digest, /^[0-9a-f]{64}$/)

  const allowed = combineEngines(engine('a', true, true), engine('b', false)).decide(input)
  assert.equal(allowed.allow, false)
  assert.equal(allowed.ruleId, 'b-rule')
  assert.equal(allowed.wouldDeny, true)
  assert.deepEqual(allowed.trail.map((h) => h.ruleId), ['a-rule', 'b-rule'])
  assert.equal(combineEngines(engine('a', true), engine('b', true)).decide(input).allow, true)
})
