import { test } from 'node:test'
import assert from 'node:assert/strict'
import { parseRequestTarget } from '../../src/route/request-target.ts'
import { AmbiguousPathError, BadRequestTargetError, InvalidApiVersionError } from '../../src/core/errors.ts'

test('splits version, path and raw query', () => {
  assert.deepEqual(parseRequestTarget('/v1.41/containers/json?all=1&filters=%7B%7D'), { path: '/containers/json', version: '1.41', query: 'all=1&filters=%7B%7D' })
  assert.deepEqual(parseRequestTarget('/_ping'), { path: '/_ping', version: null, query: '' })
  assert.deepEqual(parseRequestTarget('/v1.56/_ping?'), { path: '/_ping', version: '1.56', query: '' })
  assert.deepEqual(parseRequestTarget('/v2.0/x'), { path: '/x', version: '2.0', query: '' })
})

test('decodes harmless percent-encodings the engine would decode too', () => {
  assert.equal(parseRequestTarget('/images/busybox%3Alatest/json').path, '/images/busybox:latest/json')
  assert.equal(parseRequestTarget('/containers/%61bc/json').path, '/containers/abc/json')
  // Decoded before the version is read, as the engine does.
  assert.equal(parseRequestTarget('/v%31.41/_ping').version, '1.41')
})

test('a first segment that is not a version stays part of the path', () => {
  assert.deepEqual(parseRequestTarget('/version'), { path: '/version', version: null, query: '' })
  assert.deepEqual(parseRequestTarget('/volumes'), { path: '/volumes', version: null, query: '' })
  assert.equal(parseRequestTarget('/vx.1/_ping').path, '/vx.1/_ping')
})

test('refuses every form that could route differently in the engine', () => {
  const ambiguous = [
    '/containers/%2F/json', '/containers/%2f/json', '/containers/%2E%2E/json', '/containers/%2e/json',
    '/containers/%252F/json', '/containers/%5C/json', '/containers/%00/json', '/containers/%0a/json',
    '/containers/%3F/json', '/containers/%23/json', '/containers/%C3%A9/json', '/containers/%2/json', '/containers/%G0/json',
    '/containers//json', '//_ping', '/containers/./json', '/containers/../_ping', '/containers/x/..', '/.', '/..',
    '/containers/a b/json', '/containers/\\/json', '/containers/é/json', '/%2E%2E/_ping'
  ]
  for (const t of ambiguous) assert.throws(() => parseRequestTarget(t), AmbiguousPathError, t)
  for (const t of ['/v1.41.1/_ping', '/v01.41/_ping', '/v1/_ping', '/v1./_ping', '/v.41/_ping', '/v1..41/_ping', '/v1.41./x', '/v12345.1/x']) {
    assert.throws(() => parseRequestTarget(t), InvalidApiVersionError, t)
  }
  for (const t of ['http://x/_ping', '*', 'localhost:2375', '', '/_ping?a#b']) {
    assert.throws(() => parseRequestTarget(t), BadRequestTargetError, t)
  }
})

test('dots inside names are not dot segments', () => {
  assert.equal(parseRequestTarget('/images/my.registry:5000/a.b/json').path, '/images/my.registry:5000/a.b/json')
  assert.equal(parseRequestTarget('/containers/..x/json').path, '/containers/..x/json')
  assert.equal(parseRequestTarget('/containers/.x/json').path, '/containers/.x/json')
})
