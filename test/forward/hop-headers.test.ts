import { test } from 'node:test'
import assert from 'node:assert/strict'
import { endToEndHeaders } from '../../src/forward/hop-headers.ts'
import { bodyFraming } from '../../src/forward/request-framing.ts'
import { UnsupportedTransferEncodingError } from '../../src/core/errors.ts'

test('keeps order, case and duplicates; drops hop-by-hop fields and those Connection names', () => {
  const raw = [
    'Host', 'x', 'Connection', 'keep-alive, X-Hop', 'X-Docker-Expose-Session-Grpc-Method', '/a',
    'Keep-Alive', 'timeout=5', 'X-Hop', 'secret', 'Transfer-Encoding', 'chunked', 'Upgrade', 'tcp',
    'X-Docker-Expose-Session-Grpc-Method', '/b', 'Expect', '100-continue', 'Proxy-Authorization', 'p', 'TE', 'trailers', 'X-Registry-Auth', 'abc'
  ]
  assert.deepEqual(endToEndHeaders(raw), [
    'Host', 'x', 'X-Docker-Expose-Session-Grpc-Method', '/a', 'X-Docker-Expose-Session-Grpc-Method', '/b', 'X-Registry-Auth', 'abc'
  ])
})

test('an upgrade request gets exactly the decided Upgrade and Connection', () => {
  assert.deepEqual(endToEndHeaders(['Host', 'x', 'Connection', 'Upgrade', 'Upgrade', 'TCP'], { upgrade: 'tcp' }), ['Host', 'x', 'Connection', 'Upgrade', 'Upgrade', 'tcp'])
})

test('body framing', () => {
  assert.equal(bodyFraming(['Host', 'x']), 'none')
  assert.equal(bodyFraming(['Content-Length', '0']), 'none')
  assert.equal(bodyFraming(['Content-Length', '12']), 'length')
  assert.equal(bodyFraming(['Transfer-Encoding', 'Chunked']), 'chunked')
  assert.throws(() => bodyFraming(['Transfer-Encoding', 'gzip, chunked']), UnsupportedTransferEncodingError)
})

test('Authorization never reaches the engine; X-Registry-Auth does', () => {
  const out = endToEndHeaders(['Authorization', 'Bearer secret', 'authorization', 'Basic x', 'X-Registry-Auth', 'abc', 'Host', 'h'])
  assert.deepEqual(out, ['X-Registry-Auth', 'abc', 'Host', 'h'])
})
