import { test } from 'node:test'
import assert from 'node:assert/strict'
import { InvalidApiVersionError } from '../../src/core/errors.ts'
import { checkApiVersion } from '../../src/route/api-version.ts'

test('versions from 1.24 on, and no version, pass', () => {
  for (const v of [null, '1.24', '1.41', '1.100', '2.0']) assert.doesNotThrow(() => checkApiVersion(v), String(v))
})

test('older versions are refused in the engine\'s words', () => {
  for (const v of ['1.23', '1.12', '1.2', '0.99']) {
    assert.throws(() => checkApiVersion(v), (err: unknown) => err instanceof InvalidApiVersionError &&
      err.status === 400 && err.message === `client version ${v} is too old. Minimum supported API version is 1.24, please upgrade your client to a newer version`)
  }
})
