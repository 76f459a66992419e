import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { IncomingMessage } from 'node:http'
import { AuthenticationError } from '../../src/core/errors.ts'
import { identify } from '../../src/identify/authenticate.ts'
import type { AuthOutcome, Authenticator } from '../../src/identify/authenticator.ts'
import type { Identity } from '../../src/identify/identity.ts'

const req = (rawHeaders: string[] = []): IncomingMessage => ({ rawHeaders, headers: {}, socket: {} }) as unknown as IncomingMessage
const alice: Identity = { name: 'alice', tenant: 't', groups: [], method: 'mtls' }
const fixed = (method: Authenticator['method'], outcome: AuthOutcome, calls: string[] = []): Authenticator =>
  ({ method, authenticate: () => { calls.push(method); return outcome } })

test('methods are tried in order; absent passes on, identified ends the chain', async () => {
  const calls: string[] = []
  const who = await identify(req(), {
    authenticators: [fixed('mtls', { kind: 'absent' }, calls), fixed('jwt', { kind: 'identified', identity: alice }, calls), fixed('token', { kind: 'absent' }, calls)],
    allowAnonymous: false
  }, () => {})
  assert.equal(who, alice)
  assert.deepEqual(calls, ['mtls', 'jwt'])
})

test('a rejected credential is a 401 and is never retried as anonymous; the reason goes to the log only', async () => {
  const logged: string[] = []
  await assert.rejects(identify(req(), { authenticators: [fixed('jwt', { kind: 'rejected', reason: 'token expired' })], allowAnonymous: true }, (m, r) => logged.push(`${m}: ${r}`)),
    (err: unknown) => err instanceof AuthenticationError && err.status === 401 && err.message === 'authentication required')
  assert.deepEqual(logged, ['jwt: token expired'])
})

test('no credential: anonymous where allowed, else 401', async () => {
  assert.equal((await identify(req(), { authenticators: [fixed('token', { kind: 'absent' })], allowAnonymous: true }, () => {})).method, 'anonymous')
  await assert.rejects(identify(req(), { authenticators: [fixed('token', { kind: 'absent' })], allowAnonymous: false }, () => {}), AuthenticationError)
})

test('an Authorization header no method accepts is a 401, even where anonymous is allowed', async () => {
  const logged: string[] = []
  await assert.rejects(identify(req(['Authorization', 'Basic YWxpY2U6cHc=']), { authenticators: [fixed('jwt', { kind: 'absent' })], allowAnonymous: true }, (_m, r) => logged.push(r)), AuthenticationError)
  await assert.rejects(identify(req(['authorization', 'Bearer x']), { authenticators: [], allowAnonymous: true }, (_m, r) => logged.push(r)), AuthenticationError)
  assert.equal(logged.length, 2)
})
