import { test, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { createServer, type IncomingMessage, type RequestListener } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { exportJWK, exportSPKI, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose'
import { createJwtAuthenticator, parseJwtSettings, type JwtSettings } from '../../src/identify/jwt-authenticator.ts'
import type { AuthOutcome, Authenticator } from '../../src/identify/authenticator.ts'
import type { Identity } from '../../src/identify/identity.ts'

const ISSUER = 'https://idp.test'
const AUDIENCE = 'dockward'

interface Signer { readonly privateKey: CryptoKey, readonly publicKey: CryptoKey, readonly jwk: JWK, readonly kid: string, readonly alg: string }

async function signer (alg: 'RS256' | 'ES256', kid: string): Promise<Signer> {
  const { privateKey, publicKey } = await generateKeyPair(alg)
  const jwk = { ...await exportJWK(publicKey), kid, alg, use: 'sig' }
  return { privateKey, publicKey, jwk, kid, alg }
}

const rsa = await signer('RS256', 'rsa-1')
const ec = await signer('ES256', 'ec-1')
// Signs with a kid the JWKS does not have.
const stranger = await signer('RS256', 'stranger')

const nowSeconds = (): number => Math.floor(Date.now() / 1000)

/** A token from `by` with iss, aud, sub, iat and exp (5 minutes) set; `claims` overrides or, with undefined, removes them. */
async function sign (by: Signer, claims: Record<string, unknown> = {}, header: Record<string, unknown> = {}): Promise<string> {
  const now = nowSeconds()
  const payload = Object.fromEntries(Object.entries({ iss: ISSUER, aud: AUDIENCE, sub: 'alice', iat: now, exp: now + 300, ...claims }).filter(([, v]) => v !== undefined))
  return await new SignJWT(payload).setProtectedHeader({ alg: by.alg, kid: by.kid, typ: 'JWT', ...header }).sign(by.privateKey)
}

function b64 (value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url')
}

function request (...authorization: string[]): IncomingMessage {
  const rawHeaders = ['Host', 'localhost', ...authorization.flatMap((v) => ['Authorization', v])]
  const headers: Record<string, string> = { host: 'localhost' }
  if (authorization[0] !== undefined) headers.authorization = authorization[0]
  return { rawHeaders, headers, socket: {} } as unknown as IncomingMessage
}

const bearer = (token: string): IncomingMessage => request(`Bearer ${token}`)

function identified (outcome: AuthOutcome): Identity {
  assert.equal(outcome.kind, 'identified', outcome.kind === 'rejected' ? outcome.reason : outcome.kind)
  return (outcome as { identity: Identity }).identity
}

function assertRejected (outcome: AuthOutcome, reason: RegExp): void {
  assert.equal(outcome.kind, 'rejected')
  assert.match((outcome as { reason: string }).reason, reason)
}

function writeJwks (file: string, keys: readonly JWK[]): void {
  // Write-then-rename, as editors and config management do.
  writeFileSync(`${file}.tmp`, JSON.stringify({ keys }))
  renameSync(`${file}.tmp`, file)
}

function tempJwks (t: TestContext, keys: readonly JWK[]): string {
  const dir = mkdtempSync(join(tmpdir(), 'dockward-jwks-'))
  t.after(() => { rmSync(dir, { recursive: true, force: true }) })
  const file = join(dir, 'jwks.json')
  writeJwks(file, keys)
  return file
}

function authenticator (t: TestContext, settings: Omit<JwtSettings, 'issuer' | 'audience' | 'algorithms'> & Partial<JwtSettings>): Authenticator {
  const auth = createJwtAuthenticator({ issuer: ISSUER, audience: AUDIENCE, algorithms: ['RS256', 'ES256'], ...settings })
  t.after(() => auth.close?.())
  return auth
}

async function serve (t: TestContext, handler: RequestListener): Promise<string> {
  const server = createServer(handler)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.after(() => {
    server.closeAllConnections()
    server.close()
  })
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks`
}

/** A JWKS server on loopback; `fetches()` counts the requests it answered. */
async function serveJwks (t: TestContext, keys: () => readonly JWK[]): Promise<{ url: string, fetches: () => number }> {
  let fetches = 0
  const url = await serve(t, (_req, res) => {
    fetches++
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: keys() }))
  })
  return { url, fetches: () => fetches }
}

async function eventually (check: () => Promise<boolean>, what: string): Promise<void> {
  const end = Date.now() + 5000
  while (Date.now() < end) {
    if (await check()) return
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
  assert.fail(`timed out waiting for ${what}`)
}

test('an RS256 token from a JWKS file maps name, tenant and groups, dotted paths included', async (t) => {
  const auth = authenticator(t, {
    jwksFile: tempJwks(t, [rsa.jwk, ec.jwk]),
    claims: { name: 'preferred_username', tenant: 'org.tenant', groups: 'realm_access.roles' }
  })
  const token = await sign(rsa, { preferred_username: 'alice', org: { tenant: 'team-a' }, realm_access: { roles: ['dev', 'ci', 'dev'] } })
  assert.deepEqual(identified(await auth.authenticate(bearer(token))), { name: 'alice', tenant: 'team-a', groups: ['dev', 'ci'], method: 'jwt' })
  assert.equal(auth.method, 'jwt')
})

test('an ES256 token from a JWKS URL maps groups from a space-separated string', async (t) => {
  const jwks = await serveJwks(t, () => [rsa.jwk, ec.jwk])
  const auth = authenticator(t, { jwksUrl: jwks.url, claims: { name: 'sub', groups: 'groups', tenant: 'https://idp.test/tenant' } })
  const token = await sign(ec, { sub: 'bob', groups: ' ops  ci ', 'https://idp.test/tenant': 'team-b' })
  assert.deepEqual(identified(await auth.authenticate(bearer(token))), { name: 'bob', tenant: 'team-b', groups: ['ops', 'ci'], method: 'jwt' })
  // The default name claim is sub; a token without the groups claim has none.
  const plain = createJwtAuthenticator({ jwksUrl: jwks.url, issuer: [ISSUER, 'https://other'], audience: ['x', AUDIENCE], algorithms: ['ES256'] })
  t.after(() => plain.close?.())
  assert.deepEqual(identified(await plain.authenticate(bearer(await sign(ec, { sub: 'carol' })))), { name: 'carol', tenant: null, groups: [], method: 'jwt' })
})

test('requests without a JWT bearer are absent, two Authorization headers are rejected', async (t) => {
  const auth = authenticator(t, { jwksFile: tempJwks(t, [rsa.jwk]) })
  assert.deepEqual(await auth.authenticate(request()), { kind: 'absent' })
  assert.deepEqual(await auth.authenticate(request('Bearer dwt_abcdef')), { kind: 'absent' })
  assert.deepEqual(await auth.authenticate(request('Bearer a.b')), { kind: 'absent' })
  assert.deepEqual(await auth.authenticate(request('Bearer')), { kind: 'absent' })
  assert.deepEqual(await auth.authenticate(request('Basic YWxpY2U6c2VjcmV0')), { kind: 'absent' })
  const token = await sign(rsa)
  assertRejected(await auth.authenticate(request(`Bearer ${token}`, `Bearer ${token}`)), /more than one Authorization header/)
  assertRejected(await auth.authenticate(request(`Bearer ${token}`, 'Basic YWxpY2U6c2VjcmV0')), /more than one Authorization header/)
})

test('each failed check is rejected with a precise reason', async (t) => {
  const auth = authenticator(t, { jwksFile: tempJwks(t, [rsa.jwk, ec.jwk]), claims: { name: 'sub', tenant: 'tenant' } })
  const now = nowSeconds()
  const cases: Array<[string, () => Promise<string>, RegExp]> = [
    ['expired', async () => await sign(rsa, { tenant: 't', iat: now - 600, exp: now - 60 }), /token expired: "exp" claim timestamp check failed/],
    ['nbf beyond the tolerance', async () => await sign(rsa, { tenant: 't', nbf: now + 120 }), /"nbf" claim timestamp check failed/],
    ['wrong audience', async () => await sign(rsa, { tenant: 't', aud: 'someone-else' }), /unexpected "aud" claim value/],
    ['wrong issuer', async () => await sign(rsa, { tenant: 't', iss: 'https://evil.test' }), /unexpected "iss" claim value/],
    ['no exp', async () => await sign(rsa, { tenant: 't', exp: undefined }), /missing required "exp" claim/],
    ['alg none', async () => `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ iss: ISSUER, aud: AUDIENCE, sub: 'root', tenant: 't', exp: now + 300 })}.`, /algorithm not allowed \(alg "none"/],
    ['HS256 keyed with the public key PEM', async () => {
      const pem = new TextEncoder().encode(await exportSPKI(rsa.publicKey))
      return await new SignJWT({ iss: ISSUER, aud: AUDIENCE, sub: 'root', tenant: 't', exp: now + 300 }).setProtectedHeader({ alg: 'HS256', kid: rsa.kid }).sign(pem)
    }, /algorithm not allowed \(alg "HS256", kid "rsa-1"\)/],
    ['HS256 keyed with the public JWK', async () => {
      const secret = new TextEncoder().encode(JSON.stringify(rsa.jwk))
      return await new SignJWT({ iss: ISSUER, aud: AUDIENCE, sub: 'root', tenant: 't', exp: now + 300 }).setProtectedHeader({ alg: 'HS256' }).sign(secret)
    }, /algorithm not allowed \(alg "HS256"/],
    ['an allowed alg the key was not made for', async () => {
      // RS256 header, but the kid names the EC key: no usable key.
      return await sign(rsa, { tenant: 't' }, { kid: ec.kid })
    }, /no key in the JWKS file .* matches the token \(alg "RS256", kid "ec-1"\)/],
    ['unknown kid', async () => await sign(stranger, { tenant: 't' }), /no key in the JWKS file .* matches the token \(alg "RS256", kid "stranger"\)/],
    ['signed by another key under a known kid', async () => await sign(stranger, { tenant: 't' }, { kid: rsa.kid }), /signature verification failed/],
    ['tampered payload', async () => {
      const [header, , signature] = (await sign(rsa, { tenant: 't' })).split('.')
      return `${header}.${b64({ iss: ISSUER, aud: AUDIENCE, sub: 'root', tenant: 't', exp: now + 300 })}.${signature}`
    }, /signature verification failed/],
    ['missing name claim', async () => await sign(rsa, { tenant: 't', sub: undefined }), /claim "sub" \(identity name\) is missing/],
    ['ill-typed name claim', async () => await sign(rsa, { tenant: 't', sub: 42 }), /claim "sub" \(identity name\) is a number, not a string/],
    ['name claim with a control character', async () => await sign(rsa, { tenant: 't', sub: 'alice\nadmin' }), /control characters/],
    ['configured tenant claim missing', async () => await sign(rsa), /claim "tenant" \(tenant\) is missing/]
  ]
  for (const [name, make, reason] of cases) {
    await t.test(name, async () => {
      assertRejected(await auth.authenticate(bearer(await make())), reason)
    })
  }
  await t.test('nbf within the tolerance is accepted', async () => {
    identified(await auth.authenticate(bearer(await sign(rsa, { tenant: 't', nbf: now + 10 }))))
  })
})

test('maxTokenAgeSeconds refuses old tokens and tokens without iat', async (t) => {
  const auth = authenticator(t, { jwksFile: tempJwks(t, [rsa.jwk]), maxTokenAgeSeconds: 60, clockToleranceSeconds: 0 })
  identified(await auth.authenticate(bearer(await sign(rsa))))
  assertRejected(await auth.authenticate(bearer(await sign(rsa, { iat: nowSeconds() - 120 }))), /"iat" claim timestamp check failed \(too far in the past\)/)
  assertRejected(await auth.authenticate(bearer(await sign(rsa, { iat: undefined }))), /missing required "iat" claim/)
})

test('groups of the wrong type are rejected', async (t) => {
  const auth = authenticator(t, { jwksFile: tempJwks(t, [rsa.jwk]), claims: { name: 'sub', groups: 'groups' } })
  assertRejected(await auth.authenticate(bearer(await sign(rsa, { groups: ['dev', 7] }))), /claim "groups" \(groups\) \[1\] is a number/)
  assertRejected(await auth.authenticate(bearer(await sign(rsa, { groups: { dev: true } }))), /claim "groups" \(groups\) is a object/)
})

test('a JWKS URL that does not answer is rejected after timeoutMs, not hung', async (t) => {
  const url = await serve(t, () => { /* never answers */ })
  const auth = authenticator(t, { jwksUrl: url, timeoutMs: 200 })
  const started = Date.now()
  assertRejected(await auth.authenticate(bearer(await sign(rsa))), /JWKS http:\/\/127\.0\.0\.1:\d+\/jwks did not answer in time/)
  assert.ok(Date.now() - started < 3000, `took ${Date.now() - started} ms`)
})

test('a JWKS URL that refuses connections or answers an error is rejected', async (t) => {
  const closed = createServer()
  await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve))
  const port = (closed.address() as AddressInfo).port
  await new Promise((resolve) => closed.close(resolve))
  const refused = authenticator(t, { jwksUrl: `http://127.0.0.1:${port}/jwks` })
  assertRejected(await refused.authenticate(bearer(await sign(rsa))), /JWKS http:\/\/127\.0\.0\.1:\d+\/jwks unreachable \(ECONNREFUSED\)/)

  const failing = authenticator(t, { jwksUrl: await serve(t, (_req, res) => res.writeHead(500).end()) })
  assertRejected(await failing.authenticate(bearer(await sign(rsa))), /Expected 200 OK/)
})

test('a cache hit returns the same identity without verifying again', async (t) => {
  const jwks = await serveJwks(t, () => [rsa.jwk, ec.jwk])
  const auth = authenticator(t, { jwksUrl: jwks.url })
  const verify = t.mock.method(crypto.subtle, 'verify')
  const token = await sign(ec)
  const first = identified(await auth.authenticate(bearer(token)))
  assert.equal(verify.mock.callCount(), 1)
  const again = auth.authenticate(bearer(token))
  // Synchronous on a hit: no promise, no jose.
  assert.ok(!(again instanceof Promise))
  assert.equal(identified(again), first)
  assert.equal(verify.mock.callCount(), 1)
  assert.equal(jwks.fetches(), 1)

  // Another token is verified (the cache is per token), but the JWKS is not fetched again.
  identified(await auth.authenticate(bearer(await sign(rsa))))
  assert.equal(verify.mock.callCount(), 2)
  assert.equal(jwks.fetches(), 1)

  // Concurrent requests with one new token share a single verification.
  const fresh = await sign(rsa, { sub: 'dave' })
  const outcomes = await Promise.all([1, 2, 3].map(async () => await auth.authenticate(bearer(fresh))))
  assert.equal(verify.mock.callCount(), 3)
  for (const o of outcomes) assert.equal(identified(o).name, 'dave')
})

test('the cache is bounded: the least recently used token is verified again', async (t) => {
  const auth = authenticator(t, { jwksFile: tempJwks(t, [rsa.jwk]), cacheMaxEntries: 2 })
  const verify = t.mock.method(crypto.subtle, 'verify')
  const [a, b, c] = await Promise.all(['a', 'b', 'c'].map(async (sub) => await sign(rsa, { sub })))
  for (const token of [a, b, a, c, a]) identified(await auth.authenticate(bearer(token as string)))
  assert.equal(verify.mock.callCount(), 3, 'a stays cached (recently used), c evicts b')
  identified(await auth.authenticate(bearer(b as string)))
  assert.equal(verify.mock.callCount(), 4)
})

test('a cached token is not trusted past its exp or cacheMaxSeconds', async (t) => {
  t.mock.timers.enable({ apis: ['Date'], now: Date.now() })
  const auth = authenticator(t, { jwksFile: tempJwks(t, [rsa.jwk]), clockToleranceSeconds: 0, cacheMaxSeconds: 600 })
  const verify = t.mock.method(crypto.subtle, 'verify')
  const shortLived = await sign(rsa, { exp: nowSeconds() + 60 })
  const longLived = await sign(rsa, { sub: 'bob', exp: nowSeconds() + 3600 })
  identified(await auth.authenticate(bearer(shortLived)))
  identified(await auth.authenticate(bearer(longLived)))
  t.mock.timers.tick(30_000)
  identified(await auth.authenticate(bearer(shortLived)))
  assert.equal(verify.mock.callCount(), 2)

  t.mock.timers.tick(31_000)
  assertRejected(await auth.authenticate(bearer(shortLived)), /token expired/)
  identified(await auth.authenticate(bearer(longLived)))
  assert.equal(verify.mock.callCount(), 3, 'the long-lived token is still cached')

  t.mock.timers.tick(540_000)
  identified(await auth.authenticate(bearer(longLived)))
  assert.equal(verify.mock.callCount(), 4, 'verified again after cacheMaxSeconds')
})

test('a changed JWKS file brings in new keys, drops removed ones, and a broken one keeps the old keys', async (t) => {
  const file = tempJwks(t, [rsa.jwk])
  const errors: Error[] = []
  const auth = authenticator(t, { jwksFile: file, onError: (err) => { errors.push(err) } })
  const rsaToken = await sign(rsa)
  const ecToken = await sign(ec, { sub: 'bob' })
  identified(await auth.authenticate(bearer(rsaToken)))
  assertRejected(await auth.authenticate(bearer(ecToken)), /no key in the JWKS file/)

  writeJwks(file, [rsa.jwk, ec.jwk])
  await eventually(async () => (await auth.authenticate(bearer(ecToken))).kind === 'identified', 'the new key')

  // Removing a key revokes its tokens at once, cached ones included.
  writeJwks(file, [ec.jwk])
  await eventually(async () => (await auth.authenticate(bearer(rsaToken))).kind === 'rejected', 'the key removal')

  writeFileSync(file, '{"keys": [')
  await eventually(async () => errors.length > 0, 'the error report')
  assert.match(errors[0]?.message ?? '', /JWKS file .*jwks\.json: not valid JSON .*; the keys loaded before stay in use/)
  assert.equal(errors[0]?.name, 'ConfigError')
  identified(await auth.authenticate(bearer(await sign(ec, { sub: 'carol' }))))
})

test('a JWKS file that cannot be loaded at start-up is a ConfigError', (t) => {
  const base = { issuer: ISSUER, audience: AUDIENCE, algorithms: ['RS256'] }
  assert.throws(() => createJwtAuthenticator({ ...base, jwksFile: '/nonexistent/jwks.json' }), { name: 'ConfigError', message: /cannot read it \(ENOENT\)/ })
  const file = tempJwks(t, [{ ...rsa.jwk, d: 'private' }])
  assert.throws(() => createJwtAuthenticator({ ...base, jwksFile: file }), { name: 'ConfigError', message: /keys\[0\] holds private or secret key material/ })
})

test('settings validation names the key', () => {
  const base = { jwksUrl: 'https://idp.test/jwks', issuer: ISSUER, audience: AUDIENCE, algorithms: ['RS256'] }
  const bad = (raw: unknown, message: RegExp): void => {
    assert.throws(() => parseJwtSettings(raw, 'identity.jwt'), { name: 'ConfigError', message })
  }
  bad({ ...base, algorithms: ['RS256', 'HS256'] }, /^identity\.jwt\.algorithms\[1\]: HS256 is a shared-secret algorithm/)
  bad({ ...base, algorithms: ['none'] }, /^identity\.jwt\.algorithms\[0\]: "none" means unsigned tokens/)
  bad({ ...base, algorithms: ['RSA-OAEP'] }, /^identity\.jwt\.algorithms\[0\]: "RSA-OAEP" is not one of/)
  bad({ ...base, algorithms: [] }, /^identity\.jwt\.algorithms: required/)
  bad({ ...base, jwksFile: '/etc/jwks.json' }, /^identity\.jwt: set exactly one of jwksFile .* and jwksUrl/)
  bad({ issuer: ISSUER, audience: AUDIENCE, algorithms: ['RS256'] }, /^identity\.jwt: set exactly one of jwksFile/)
  bad({ ...base, audience: undefined }, /^identity\.jwt\.audience: required/)
  bad({ ...base, issuer: [] }, /^identity\.jwt\.issuer: required/)
  bad({ ...base, jwksUrl: 'file:///etc/jwks.json' }, /^identity\.jwt\.jwksUrl: expected an http\(s\) URL, not file:/)
  bad({ ...base, jwksUrl: 'https://user:pw@idp.test/jwks' }, /^identity\.jwt\.jwksUrl: credentials in the URL/)
  bad({ ...base, clockToleranceSeconds: 301 }, /^identity\.jwt\.clockToleranceSeconds: expected a whole number from 0 to 300/)
  bad({ ...base, cacheMaxSeconds: 3600 }, /^identity\.jwt\.cacheMaxSeconds: expected a whole number from 0 to 600/)
  bad({ ...base, jwksUrl: undefined, jwksFile: '/etc/jwks.json', timeoutMs: 100 }, /^identity\.jwt\.timeoutMs: only applies to jwksUrl/)
  bad({ ...base, claims: { name: '' } }, /^identity\.jwt\.claims\.name: expected a claim name/)
  bad({ ...base, claims: { role: 'x' } }, /^identity\.jwt\.claims\.role: unknown setting/)
  bad({ ...base, audiences: 'x' }, /^identity\.jwt\.audiences: unknown setting/)
  bad('yes', /^identity\.jwt: expected a mapping/)

  assert.deepEqual(parseJwtSettings(base, 'identity.jwt'), {
    ...base,
    timeoutMs: 5000,
    clockToleranceSeconds: 30,
    claims: { name: 'sub' },
    cacheMaxEntries: 10_000,
    cacheMaxSeconds: 600
  })
  // Settings built in code get the same checks.
  assert.throws(() => createJwtAuthenticator({ ...base, algorithms: ['HS256'] }), { name: 'ConfigError', message: /^jwt\.algorithms\[0\]: HS256/ })
})
