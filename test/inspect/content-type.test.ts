import { test } from 'node:test'
import assert from 'node:assert/strict'
import { BadRequestBodyError } from '../../src/core/errors.ts'
import { checkContentType } from '../../src/inspect/content-type.ts'

test('JSON operations take application/json in any case and with parameters, or no type', () => {
  for (const ct of ['application/json', 'Application/JSON; charset=utf-8', ' application/json ;x=y']) {
    assert.doesNotThrow(() => checkContentType(['Content-Type', ct], 'POST', 'json'), ct)
  }
  assert.doesNotThrow(() => checkContentType([], 'POST', 'json'))
  for (const ct of ['text/plain', 'application/jsonx', 'application/json,text/plain', '']) {
    assert.throws(() => checkContentType(['Content-Type', ct], 'POST', 'json'), BadRequestBodyError, ct)
  }
})

test('form-encoded bodies are refused on POST, PUT and PATCH, however spelled', () => {
  for (const ct of ['application/x-www-form-urlencoded', 'APPLICATION/X-WWW-FORM-URLENCODED; charset=utf-8', 'multipart/form-data; boundary=x', ' application/x-www-form-urlencoded']) {
    for (const method of ['POST', 'PUT', 'PATCH']) {
      assert.throws(() => checkContentType(['content-type', ct], method, 'stream'), /form-encoded/, `${method} ${ct}`)
    }
    // Go's ParseForm reads no body on other methods.
    assert.doesNotThrow(() => checkContentType(['content-type', ct], 'GET', 'none'))
  }
})

test('two Content-Type headers are refused; stream operations keep their own type', () => {
  assert.throws(() => checkContentType(['Content-Type', 'application/json', 'content-type', 'text/plain'], 'POST', 'json'), /more than one/)
  assert.doesNotThrow(() => checkContentType(['Content-Type', 'application/x-tar'], 'POST', 'stream'))
})

test('a Content-Type with non-ASCII characters is refused (Go lower-cases İ to i and K to k)', () => {
  // Node hands header bytes over as latin1: UTF-8 İ (c4 b0) arrives as two characters.
  const latin1 = Buffer.from('applİcation/x-www-form-urlencoded', 'utf8').toString('latin1')
  for (const ct of [latin1, 'application/json\u00a0', 'text/\u212Aplain']) {
    for (const kind of ['stream', 'json', 'none'] as const) {
      assert.throws(() => checkContentType(['Content-Type', ct], 'POST', kind), /plain ASCII/, `${kind} ${ct}`)
    }
  }
})
