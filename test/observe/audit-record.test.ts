import { test } from 'node:test'
import assert from 'node:assert/strict'
import { AuthenticationError, PolicyDeniedError } from '../../src/core/errors.ts'
import type { Decision } from '../../src/decide/policy-input.ts'
import { auditRecord, createdObjectId, createsObject, decisionOf, type TraceState } from '../../src/observe/audit-record.ts'

const allow: Decision = { allow: true, wouldDeny: false, ruleId: 'allow-all', reason: 'ok', trail: [], policyDigest: 'd1' }
const deny: Decision = { allow: false, wouldDeny: false, ruleId: 'deny-privileged', reason: 'no privileged', trail: [], policyDigest: 'd1' }
const wouldDeny: Decision = {
  allow: true,
  wouldDeny: true,
  ruleId: 'allow-all',
  reason: 'ok',
  trail: [{ ruleId: 'deny-binds', action: 'deny', mode: 'audit-only', reason: 'no binds' }, { ruleId: 'allow-all', action: 'allow', mode: 'enforce', reason: 'ok' }],
  policyDigest: 'd1'
}

function state (over: Partial<TraceState> = {}): TraceState {
  return {
    id: 'id-1',
    started: 1000,
    listener: 'unix:///run/dw.sock',
    remote: null,
    userAgent: 'Docker-Client/28.2.2 (linux)',
    method: 'POST',
    rawPath: '/v1.41/containers/create',
    identity: { name: 'alice', tenant: 'team-a', groups: ['dev'], method: 'mtls' },
    rejectedBy: null,
    operation: 'ContainerCreate',
    path: '/containers/create',
    version: '1.41',
    objects: ['web'],
    decision: allow,
    facts: { image: 'docker.io/library/busybox:latest', privileged: false, hostPaths: [], memory: 0, user: '' },
    ...over
  }
}

const done = { status: 201, bytesIn: 120, bytesOut: 88, end: 'complete', error: null }

test('an allowed request: every field, facts without their empty values', () => {
  const r = auditRecord('request', state(), done, 1012.3456)
  assert.deepEqual(r, {
    event: 'request',
    id: 'id-1',
    identity: { name: 'alice', tenant: 'team-a', method: 'mtls' },
    listener: 'unix:///run/dw.sock',
    remote: null,
    userAgent: 'Docker-Client/28.2.2 (linux)',
    method: 'POST',
    path: '/containers/create',
    version: '1.41',
    operation: 'ContainerCreate',
    objects: ['web'],
    decision: 'allow',
    ruleId: 'allow-all',
    reason: 'ok',
    policyDigest: 'd1',
    facts: { image: 'docker.io/library/busybox:latest', privileged: false },
    status: 201,
    bytesIn: 120,
    bytesOut: 88,
    durationMs: 12.346,
    end: 'complete'
  })
})

test('a denial names the rule and carries the error', () => {
  const err = new PolicyDeniedError('deny-privileged', 'no privileged')
  const r = auditRecord('request', state({ decision: deny }), { status: 403, bytesIn: 0, bytesOut: 60, end: 'refused', error: err }, 1001)
  assert.equal(r.decision, 'deny')
  assert.equal(r.ruleId, 'deny-privileged')
  assert.deepEqual(r.error, { code: 'DW_ERR_POLICY_DENIED', message: 'dockward: deny-privileged: no privileged' })
})

test('would-deny reports the audit-only rule that would have denied', () => {
  const r = auditRecord('request', state({ decision: wouldDeny }), done, 1001)
  assert.equal(r.decision, 'would-deny')
  assert.equal(r.ruleId, 'deny-binds')
  assert.equal(r.reason, 'no binds')
})

test('a failed authentication: no identity, the method that rejected, no decision, the raw path', () => {
  const r = auditRecord('request', state({ identity: null, rejectedBy: 'token', operation: null, path: null, version: null, objects: [], decision: null, facts: null }), {
    status: 401, bytesIn: 0, bytesOut: 36, end: 'refused', error: new AuthenticationError()
  }, 1001)
  assert.deepEqual(r.identity, { name: null, tenant: null, method: 'token' })
  assert.equal(r.decision, 'none')
  assert.equal(r.path, '/v1.41/containers/create')
  assert.equal(r.operation, null)
  assert.equal('facts' in r, false)
  assert.equal(r.error?.code, 'DW_ERR_UNAUTHENTICATED')
})

test('stream-end: the protocol, stream bytes and lifetime; no facts (the request record has them)', () => {
  const r = auditRecord('stream-end', state({ started: 2000 }), { status: 101, bytesIn: 5, bytesOut: 7, end: 'complete', error: null, protocol: 'tcp' }, 2500)
  assert.equal(r.event, 'stream-end')
  assert.equal(r.protocol, 'tcp')
  assert.equal(r.durationMs, 500)
  assert.equal('facts' in r, false)
})

test('secrets in error messages and paths are redacted', () => {
  const r = auditRecord('request', state({ path: null, rawPath: '/build' }), { status: 500, bytesIn: 0, bytesOut: 0, end: 'upstream-error', error: new Error('fetch https://u:hunter2@git.example failed') }, 1001)
  assert.ok(!JSON.stringify(r).includes('hunter2'))
})

test('decisionOf', () => {
  assert.equal(decisionOf(null), 'none')
  assert.equal(decisionOf(allow), 'allow')
  assert.equal(decisionOf(deny), 'deny')
  assert.equal(decisionOf(wouldDeny), 'would-deny')
})

test('created object ids are read from create answers only, and only when they look like ids', () => {
  assert.equal(createsObject('ContainerCreate'), true)
  assert.equal(createsObject('ContainerList'), false)
  assert.equal(createdObjectId('ContainerCreate', Buffer.from('{"Id":"3f2c9a","Warnings":[]}')), '3f2c9a')
  assert.equal(createdObjectId('VolumeCreate', Buffer.from('{"Name":"data","Driver":"local"}')), 'data')
  assert.equal(createdObjectId('SecretCreate', Buffer.from('{"ID":"s1"}')), 's1')
  assert.equal(createdObjectId('ContainerCreate', Buffer.from('{"Id":"a b"}')), null)
  assert.equal(createdObjectId('ContainerCreate', Buffer.from('not json')), null)
  assert.equal(createdObjectId('ContainerList', Buffer.from('{"Id":"x"}')), null)
})

test('a plugin setting read as a host path keeps only its shape: it may be a secret', () => {
  const r = auditRecord('request', state({ operation: 'PluginSet', facts: { hostPaths: ['/Zr9s3cretKEY+abc'], devices: ['/Zr9s3cretKEY+abc'] } }), done, 1001)
  assert.doesNotMatch(JSON.stringify(r), /Zr9s3cret/)
  assert.deepEqual(r.facts, { hostPaths: ['[REDACTED]'], devices: ['[REDACTED]'] })
})
