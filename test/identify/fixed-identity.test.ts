import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { IncomingMessage } from 'node:http'
import { ConfigError } from '../../src/core/errors.ts'
import { createFixedIdentityAuthenticator, parseFixedIdentity } from '../../src/identify/fixed-identity.ts'

test('parses a fixed identity with method socket', () => {
  assert.deepEqual(parseFixedIdentity({ name: 'team-a-ci', tenant: 'team-a', groups: ['ci', 'dev'] }, 'listen[1].identity'),
    { name: 'team-a-ci', tenant: 'team-a', groups: ['ci', 'dev'], method: 'socket' })
  const minimal = parseFixedIdentity({ name: 'ops' }, 'identity')
  assert.deepEqual(minimal, { name: 'ops', tenant: null, groups: [], method: 'socket' })
  assert.ok(Object.isFrozen(minimal) && Object.isFrozen(minimal.groups))
  assert.deepEqual(parseFixedIdentity({ name: 'ops', tenant: null, groups: null }, 'identity').tenant, null)
})

test('bad fixed identities name the key', () => {
  const bad = (raw: unknown, message: RegExp): void => {
    assert.throws(() => parseFixedIdentity(raw, 'listen[1].identity'), (err: unknown) => err instanceof ConfigError && message.test(err.message))
  }
  bad('team-a', /^listen\[1\]\.identity: expected a mapping with name, tenant, groups/)
  bad(null, /^listen\[1\]\.identity: expected a mapping/)
  bad([{ name: 'x' }], /^listen\[1\]\.identity: expected a mapping/)
  bad({}, /^listen\[1\]\.identity\.name: expected a non-empty string/)
  bad({ name: '' }, /^listen\[1\]\.identity\.name: expected a non-empty string/)
  bad({ name: 7 }, /^listen\[1\]\.identity\.name: expected a non-empty string/)
  bad({ name: 'a\nb' }, /^listen\[1\]\.identity\.name: .*control characters/)
  bad({ name: ' a' }, /^listen\[1\]\.identity\.name: .*surrounding spaces/)
  bad({ name: 'a', tenant: 3 }, /^listen\[1\]\.identity\.tenant: expected a non-empty string/)
  bad({ name: 'a', groups: 'dev' }, /^listen\[1\]\.identity\.groups: expected a list/)
  bad({ name: 'a', groups: ['dev', ''] }, /^listen\[1\]\.identity\.groups\[1\]: expected a non-empty string/)
  bad({ name: 'a', groups: ['dev', 'dev'] }, /^listen\[1\]\.identity\.groups: "dev" is listed twice/)
  bad({ name: 'a', method: 'mtls' }, /^listen\[1\]\.identity\.method: unknown setting \(name, tenant, groups\)/)
})

test('the authenticator identifies every request as its identity, whatever the request carries', async () => {
  const identity = parseFixedIdentity({ name: 'team-a', tenant: 'team-a' }, 'identity')
  const auth = createFixedIdentityAuthenticator(identity)
  assert.equal(auth.method, 'socket')
  for (const rawHeaders of [[], ['Authorization', 'Bearer dwt_someone-else'], ['Authorization', 'Basic eDp5']]) {
    const outcome = await auth.authenticate({ rawHeaders } as unknown as IncomingMessage)
    assert.deepEqual(outcome, { kind: 'identified', identity })
    assert.equal(outcome.kind === 'identified' && outcome.identity, identity)
  }
})
