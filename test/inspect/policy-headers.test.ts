import { test } from 'node:test'
import assert from 'node:assert/strict'
import { canonicalHeaderKey, policyHeaders } from '../../src/inspect/policy-headers.ts'

test('Go-canonical names, the last value wins, credentials and Host withheld', () => {
  const h = policyHeaders([
    'content-type', 'application/json',
    'user-agent', 'Docker-Client/28.0.0 (linux)',
    'x-docker-expose-session-grpc-method', '/a',
    'X-Docker-Expose-Session-Grpc-Method', '/b',
    'Authorization', 'Bearer t',
    'PROXY-AUTHORIZATION', 'Basic x',
    'cookie', 'a=b',
    'X-Registry-Auth', 'e30=',
    'x-registry-config', 'e30=',
    'Host', 'localhost'
  ])
  assert.deepEqual({ ...h }, {
    'Content-Type': 'application/json',
    'User-Agent': 'Docker-Client/28.0.0 (linux)',
    'X-Docker-Expose-Session-Grpc-Method': '/b'
  })
})

test('canonicalHeaderKey is textproto.CanonicalMIMEHeaderKey', () => {
  assert.equal(canonicalHeaderKey('x-registry-auth'), 'X-Registry-Auth')
  assert.equal(canonicalHeaderKey('CONTENT-LENGTH'), 'Content-Length')
  assert.equal(canonicalHeaderKey('-x'), '-X')
  assert.equal(canonicalHeaderKey('a b'), 'a b')
})
