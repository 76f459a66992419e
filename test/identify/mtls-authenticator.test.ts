import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import http from 'node:http'
import https from 'node:https'
import type { AddressInfo } from 'node:net'
import type { AuthOutcome, Authenticator } from '../../src/identify/authenticator.ts'
import { createMtlsAuthenticator, parseMtlsSettings, parseSubjectAltName, type MtlsSettings } from '../../src/identify/mtls-authenticator.ts'
import { ConfigError } from '../../src/core/errors.ts'
import { makeTestPki, type CertFiles } from '../support/certs.ts'

const pki = makeTestPki()
process.once('exit', pki.cleanup)
const carol = pki.issue('carol', { cn: 'carol' })
const twoNames = pki.issue('two-cns', { cn: ['first', 'second'], o: ['acme'] })
const twoOrgs = pki.issue('two-orgs', { cn: 'dave', o: ['acme', 'globex'] })
const constructorCn = pki.issue('constructor', { cn: 'constructor' })
const sanOnly = pki.issue('san-only', { san: ['DNS:runner.example'] })

/**
 * An HTTPS server that asks for client certificates the way the TLS listener does (verified
 * against the CA, handshake completes either way) and answers with the authenticator's outcome.
 * Two calls per request also show the outcome is kept per connection.
 */
async function askAs (settings: MtlsSettings, client: CertFiles | undefined): Promise<AuthOutcome> {
  const auth = createMtlsAuthenticator(settings)
  const server = https.createServer({
    cert: readFileSync(pki.server.cert),
    key: readFileSync(pki.server.key),
    ca: readFileSync(pki.ca.cert),
    requestCert: true,
    rejectUnauthorized: false
  }, (req, res) => {
    void (async () => {
      const first = await auth.authenticate(req)
      assert.equal(await auth.authenticate(req), first)
      res.end(JSON.stringify(first))
    })()
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  try {
    const res = await new Promise<http.IncomingMessage>((resolve, reject) => {
      https.get({
        host: '127.0.0.1',
        port: (server.address() as AddressInfo).port,
        agent: false,
        ca: readFileSync(pki.ca.cert),
        ...(client === undefined ? {} : { cert: readFileSync(client.cert), key: readFileSync(client.key) })
      }, resolve).on('error', reject)
    })
    let body = ''
    for await (const c of res) body += String(c)
    return JSON.parse(body) as AuthOutcome
  } finally {
    server.close()
  }
}

function identified (name: string, tenant: string | null, groups: string[]): AuthOutcome {
  return { kind: 'identified', identity: { name, tenant, groups, method: 'mtls' } }
}

test('the CN names the caller; tenant and groups only when asked for', async () => {
  assert.deepEqual(await askAs({}, pki.alice), identified('alice', null, []))
  // Node gives two OUs as an array: both are groups.
  assert.deepEqual(await askAs({ tenantFrom: 'o', groupsFrom: 'ou' }, pki.alice), identified('alice', 'acme', ['dev', 'ops']))
  assert.deepEqual(await askAs({ tenantFrom: 'ou', groupsFrom: 'o' }, pki.bob), identified('bob', 'ci', ['globex']))
  // A tenant must be one value: two OUs, or none at all, is not a tenant.
  assert.match(reason(await askAs({ tenantFrom: 'ou' }, pki.alice)), /tenantFrom ou needs exactly one OU, found 2/)
  assert.match(reason(await askAs({ tenantFrom: 'o' }, carol)), /tenantFrom o needs exactly one O, found 0/)
  assert.match(reason(await askAs({ tenantFrom: 'o' }, twoOrgs)), /found 2/)
  assert.deepEqual(await askAs({ groupsFrom: 'o' }, carol), identified('carol', null, []))
})

test('an explicit mapping wins as a whole over tenantFrom and groupsFrom', async () => {
  const settings: MtlsSettings = {
    tenantFrom: 'o',
    groupsFrom: 'ou',
    identities: { alice: { tenant: 'team-a', groups: ['admins'] }, bob: {} }
  }
  assert.deepEqual(await askAs(settings, pki.alice), identified('alice', 'team-a', ['admins']))
  assert.deepEqual(await askAs(settings, pki.bob), identified('bob', null, []))
  // Not in the mapping: from the subject.
  assert.deepEqual(await askAs({ ...settings, identities: {} }, pki.bob), identified('bob', 'globex', ['ci']))
  // A name that is also a property of every object finds nothing in the mapping.
  assert.deepEqual(await askAs({ identities: {} }, constructorCn), identified('constructor', null, []))
})

test('names from subjectAltName', async () => {
  assert.deepEqual(await askAs({ name: 'san-dns' }, pki.bob), identified('ci.globex.example', null, []))
  assert.deepEqual(await askAs({ name: 'san-uri', groupsFrom: 'ou' }, pki.bob), identified('spiffe://globex.example/ci/runner', null, ['ci']))
  assert.deepEqual(await askAs({ name: 'san-email' }, pki.bob), identified('bob@globex.example', null, []))
  assert.deepEqual(await askAs({ name: 'san-dns' }, sanOnly), identified('runner.example', null, []))
  // The chosen field missing is a rejection, never a fallback to another field.
  assert.match(reason(await askAs({ name: 'san-dns' }, pki.alice)), /"CN=alice,O=acme,OU=dev,OU=ops": has no DNS subjectAltName/)
  assert.match(reason(await askAs({}, sanOnly)), /has no CN/)
  assert.match(reason(await askAs({}, twoNames)), /has more than one CN/)
})

test('no certificate is absent; one that did not verify is rejected with the reason', async () => {
  assert.deepEqual(await askAs({}, undefined), { kind: 'absent' })
  assert.match(reason(await askAs({}, pki.otherClient)), /^client certificate "CN=mallory,O=acme" not accepted: UNABLE_TO_VERIFY_LEAF_SIGNATURE$/)
  assert.match(reason(await askAs({}, pki.expiredClient)), /not accepted: CERT_HAS_EXPIRED$/)
  // A server certificate (no clientAuth) is not a client certificate.
  assert.match(reason(await askAs({}, pki.server)), /not accepted: INVALID_PURPOSE$/)
  // Identities only ever come from verified certificates, mapping or not.
  assert.equal((await askAs({ identities: { mallory: { tenant: 'acme' } } }, pki.otherClient)).kind, 'rejected')
})

test('a request that did not come over TLS is absent', async () => {
  const auth: Authenticator = createMtlsAuthenticator({})
  const server = http.createServer((req, res) => {
    void Promise.resolve(auth.authenticate(req)).then((o) => res.end(JSON.stringify(o)))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const res = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`)
  assert.deepEqual(await res.json(), { kind: 'absent' })
  server.close()
})

test('mtls settings: defaults, and every problem names its key', () => {
  assert.deepEqual(parseMtlsSettings(undefined, 'identity.mtls'), { name: 'cn', tenantFrom: null, groupsFrom: null, identities: {} })
  assert.deepEqual(parseMtlsSettings({ name: 'san-uri', tenantFrom: 'ou', groupsFrom: 'o', identities: { 'spiffe://x/y': { groups: ['ci'] }, alice: null } }, 'm'), {
    name: 'san-uri',
    tenantFrom: 'ou',
    groupsFrom: 'o',
    identities: { 'spiffe://x/y': { tenant: null, groups: ['ci'] }, alice: { tenant: null, groups: [] } }
  })
  const cases: Array<[unknown, RegExp]> = [
    ['cn', /^identity\.mtls: expected a mapping with name, tenantFrom, groupsFrom, identities$/],
    [{ name: 'CN' }, /^identity\.mtls\.name: expected one of cn, san-dns, san-uri, san-email$/],
    [{ tenantFrom: 'cn' }, /^identity\.mtls\.tenantFrom: expected one of o, ou$/],
    [{ groupsFrom: ['ou'] }, /^identity\.mtls\.groupsFrom: expected one of o, ou$/],
    [{ nmae: 'cn' }, /^identity\.mtls\.nmae: unknown setting/],
    [{ identities: ['alice'] }, /^identity\.mtls\.identities: expected a mapping of certificate names/],
    [{ identities: { alice: { tenant: 'a', group: ['x'] } } }, /^identity\.mtls\.identities\.alice\.group: unknown setting \(tenant, groups\)$/],
    [{ identities: { alice: { groups: 'dev' } } }, /^identity\.mtls\.identities\.alice\.groups: expected a list/],
    [{ identities: { alice: { groups: ['a', 'a'] } } }, /"a" is listed twice/],
    [{ identities: { ' alice': {} } }, /^identity\.mtls\.identities: " alice" has control characters, format or invisible characters, or surrounding spaces$/],
    [{ identities: { 'ad\u202emin': {} } }, /^identity\.mtls\.identities: "ad\u202emin" has control characters/]
  ]
  for (const [raw, message] of cases) {
    assert.throws(() => parseMtlsSettings(raw, 'identity.mtls'), (err: Error) => err instanceof ConfigError && message.test(err.message), JSON.stringify(raw))
  }
})

test("Node's subjectaltname string is read exactly, quoted values included", () => {
  assert.deepEqual(parseSubjectAltName(''), [])
  assert.deepEqual(parseSubjectAltName('DNS:a.example, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1, email:q@x'), [
    { type: 'DNS', value: 'a.example' },
    { type: 'IP Address', value: '127.0.0.1' },
    { type: 'IP Address', value: '0:0:0:0:0:0:0:1' },
    { type: 'email', value: 'q@x' }
  ])
  // Node quotes a value with a comma in it (as it printed a URI SAN of `http://x/a,b`).
  assert.deepEqual(parseSubjectAltName('URI:"http://x/a\\u002cb", DNS:ok.example'), [
    { type: 'URI', value: 'http://x/a,b' },
    { type: 'DNS', value: 'ok.example' }
  ])
  // A comma inside a value can never split it into a name of its own choosing.
  assert.deepEqual(parseSubjectAltName('URI:"x, DNS:admin"'), [{ type: 'URI', value: 'x, DNS:admin' }])
  for (const bad of ['DNS', 'DNS:a,DNS:b', 'URI:"unterminated', 'DNS:a, ', 'URI:"x"y']) assert.equal(parseSubjectAltName(bad), null, bad)
})

function reason (outcome: AuthOutcome): string {
  assert.equal(outcome.kind, 'rejected', JSON.stringify(outcome))
  return (outcome as { reason: string }).reason
}
