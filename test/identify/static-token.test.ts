import { test } from 'node:test'
import assert from 'node:assert/strict'
import crypto from 'node:crypto'
import type { IncomingMessage } from 'node:http'
import { syncBuiltinESMExports } from 'node:module'
import { parse as parseYaml } from 'yaml'
import { ConfigError } from '../../src/core/errors.ts'
import type { AuthOutcome } from '../../src/identify/authenticator.ts'
import {
  createTokenAuthenticator, generateToken, hashToken, matchTokenDigest, parseTokenSettings, tokenCommand
} from '../../src/identify/static-token.ts'

const TOKEN_A = 'dwt_' + 'A'.repeat(43)
const TOKEN_B = 'dwt_' + 'B'.repeat(43)
const TOKEN_C = 'dwt_' + 'C'.repeat(43)

function request (...headers: string[]): IncomingMessage {
  return { rawHeaders: ['Host', 'localhost', ...headers] } as unknown as IncomingMessage
}

function entries (): ReturnType<typeof parseTokenSettings> {
  return parseTokenSettings([
    { name: 'ci', tenant: 'team-a', groups: ['ci', 'dev'], sha256: hashToken(TOKEN_A) },
    { name: 'ops', sha256: hashToken(TOKEN_B) },
    { name: 'bot', tenant: 'team-b', sha256: hashToken(TOKEN_C) }
  ], 'identity.tokens')
}

async function outcome (...headers: string[]): Promise<AuthOutcome> {
  return await createTokenAuthenticator(entries()).authenticate(request(...headers))
}

test('hashToken is the SHA-256 that sha256sum prints; generateToken is dwt_ and 32 random bytes', () => {
  assert.equal(hashToken('abc'), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad')
  const a = generateToken()
  assert.match(a, /^dwt_[A-Za-z0-9_-]{43}$/)
  assert.equal(Buffer.from(a.slice(4), 'base64url').length, 32)
  assert.notEqual(a, generateToken())
})

test('parses token entries, normalising tenant and groups', () => {
  assert.deepEqual(entries()[1], { name: 'ops', tenant: null, groups: [], sha256: hashToken(TOKEN_B) })
  assert.deepEqual(entries()[0], { name: 'ci', tenant: 'team-a', groups: ['ci', 'dev'], sha256: hashToken(TOKEN_A) })
  assert.deepEqual(parseTokenSettings(undefined, 'tokens'), [])
})

test('bad token config names the key, says how to hash, and never repeats the value', () => {
  const h = hashToken(TOKEN_A)
  const bad = (raw: unknown, message: RegExp): void => {
    assert.throws(() => parseTokenSettings(raw, 'tokens'), (err: unknown) => {
      assert.ok(err instanceof ConfigError)
      assert.match(err.message, message)
      assert.ok(!err.message.includes(TOKEN_A), 'the token is not echoed')
      return true
    })
  }
  bad({ name: 'x' }, /^tokens: expected a list/)
  bad([{ sha256: h }], /^tokens\[0\]\.name: expected a non-empty string/)
  bad([{ name: 'x' }], /^tokens\[0\]\.sha256: .*64 lower-case hex.*printf %s "\$TOKEN" \| sha256sum/)
  bad([{ name: 'x', sha256: TOKEN_A }], /^tokens\[0\]\.sha256: this looks like a token, not its hash.*sha256sum/)
  bad([{ name: 'x', sha256: 'hunter2-not-hex' }], /^tokens\[0\]\.sha256: this looks like a token/)
  bad([{ name: 'x', sha256: h.toUpperCase() }], /^tokens\[0\]\.sha256: write the hash in lower case/)
  bad([{ name: 'x', sha256: h.slice(1) }], /^tokens\[0\]\.sha256: expected the SHA-256/)
  bad([{ name: 'x', sha256: `${h}  -` }], /^tokens\[0\]\.sha256: drop the "  -"/)
  bad([{ name: 'x', sha256: hashToken('') }], /^tokens\[0\]\.sha256: this is the hash of an empty token/)
  bad([{ name: 'x', sha256: 42 }], /^tokens\[0\]\.sha256: expected the SHA-256/)
  bad([{ name: 'x', token: TOKEN_A }], /^tokens\[0\]\.token: never put a token itself in the config.*sha256sum/)
  bad([{ name: 'x', sha265: h }], /^tokens\[0\]\.sha265: unknown setting/)
  bad([{ name: 'x', tenant: '', sha256: h }], /^tokens\[0\]\.tenant: expected a non-empty string/)
  bad([{ name: 'x', groups: 'dev', sha256: h }], /^tokens\[0\]\.groups: expected a list/)
  bad([{ name: 'x', sha256: h }, { name: 'x', sha256: hashToken(TOKEN_B) }], /^tokens\[1\]\.name: "x" is listed twice/)
  bad([{ name: 'x', sha256: h }, { name: 'y', sha256: h }], /^tokens\[1\]\.sha256: the same hash is listed twice/)
})

test('the exact token identifies its entry, with method token', async () => {
  assert.deepEqual(await outcome('Authorization', `Bearer ${TOKEN_A}`), {
    kind: 'identified', identity: { name: 'ci', tenant: 'team-a', groups: ['ci', 'dev'], method: 'token' }
  })
  assert.deepEqual(await outcome('authorization', `bearer ${TOKEN_C}`), {
    kind: 'identified', identity: { name: 'bot', tenant: 'team-b', groups: [], method: 'token' }
  })
})

test('near misses are rejected: one character off, a prefix, an extension, an empty bearer, two headers', async () => {
  const oneOff = TOKEN_A.slice(0, -1) + 'B'
  for (const value of [`Bearer ${oneOff}`, `Bearer ${TOKEN_A.slice(0, -1)}`, `Bearer ${TOKEN_A}x`, 'Bearer dwt_', 'Bearer', 'Bearer   ']) {
    const o = await outcome('Authorization', value)
    assert.equal(o.kind, 'rejected', value)
    assert.ok(o.kind === 'rejected' && !o.reason.includes('dwt_'), 'the reason never carries the token')
  }
  assert.equal((await outcome('Authorization', `Bearer ${TOKEN_A}`, 'Authorization', `Bearer ${TOKEN_A}`)).kind, 'rejected')
  assert.equal((await outcome('Authorization', `Bearer ${TOKEN_A}`, 'AUTHORIZATION', 'Basic eDp5')).kind, 'rejected')
})

test('no bearer, another scheme, or a JWT-shaped bearer is absent: other methods decide', async () => {
  assert.deepEqual(await outcome(), { kind: 'absent' })
  assert.deepEqual(await outcome('Authorization', `Basic ${Buffer.from(`x:${TOKEN_A}`).toString('base64')}`), { kind: 'absent' })
  assert.deepEqual(await outcome('Authorization', `Token ${TOKEN_A}`), { kind: 'absent' })
  assert.deepEqual(await outcome('Authorization', 'Bearer eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJjaSJ9.c2lnbmF0dXJl'), { kind: 'absent' })
  assert.deepEqual(await outcome('X-Authorization', `Bearer ${TOKEN_A}`), { kind: 'absent' })
})

test('matchTokenDigest compares every stored digest, wherever the match is', () => {
  const stored = [TOKEN_A, TOKEN_B, TOKEN_C].map((t) => Buffer.from(hashToken(t), 'hex'))
  for (const [presented, expected] of [[TOKEN_A, 0], [TOKEN_B, 1], [TOKEN_C, 2], ['dwt_nope', -1]] as const) {
    let calls = 0
    const counting = (a: Buffer, b: Buffer): boolean => { calls++; return crypto.timingSafeEqual(a, b) }
    assert.equal(matchTokenDigest(stored, Buffer.from(hashToken(presented), 'hex'), counting), expected)
    assert.equal(calls, stored.length, `${presented}: every entry compared`)
  }
})

test('the authenticator calls crypto.timingSafeEqual once per entry, match or not', async (t) => {
  const spy = t.mock.method(crypto, 'timingSafeEqual')
  syncBuiltinESMExports() // the module's named import sees the spy
  t.after(() => { spy.mock.restore(); syncBuiltinESMExports() })
  const auth = createTokenAuthenticator(entries())
  for (const token of [TOKEN_A, TOKEN_C, 'dwt_unknown']) {
    spy.mock.resetCalls()
    await auth.authenticate(request('Authorization', `Bearer ${token}`))
    assert.equal(spy.mock.callCount(), 3, token)
  }
})

test('dockward token new prints a token and a config entry that accepts it', async () => {
  let out = ''
  let err = ''
  const io = { stdout: { write: (s: string) => { out += s } }, stderr: { write: (s: string) => { err += s } } }
  assert.equal(tokenCommand(['new', '--name', 'ci', '--tenant', 'team-a', '--group', 'dev', '--group', 'ci'], io), 0)
  assert.equal(err, '')
  const token = out.split('\n')[0] as string
  assert.match(token, /^dwt_[A-Za-z0-9_-]{43}$/)
  // First line the token alone (for scripts), then the entry as YAML.
  const config = parseTokenSettings(parseYaml(out.slice(token.length)), 'printed')
  assert.deepEqual(config, [{ name: 'ci', tenant: 'team-a', groups: ['dev', 'ci'], sha256: hashToken(token) }])
  const o = await createTokenAuthenticator(config).authenticate(request('Authorization', `Bearer ${token}`))
  assert.equal(o.kind, 'identified')

  out = ''
  assert.equal(tokenCommand(['new'], io), 0)
  const generated = out.split('\n')[0] as string
  const [entry] = parseTokenSettings(parseYaml(out.slice(generated.length)), 'printed')
  assert.equal(entry?.name, `token-${hashToken(generated).slice(0, 8)}`)

  for (const argv of [[], ['old'], ['new', '--nam', 'x'], ['new', 'extra'], ['new', '--name', '']]) {
    err = ''
    assert.equal(tokenCommand(argv, io), 2, argv.join(' '))
    assert.match(err, /^dockward token/)
  }
  out = ''
  assert.equal(tokenCommand(['--help'], io), 0)
  assert.match(out, /^Usage: dockward token new/)
})
