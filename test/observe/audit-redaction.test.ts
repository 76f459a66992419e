import { test } from 'node:test'
import assert from 'node:assert/strict'
import { MAX_TEXT, REDACTED, redactFacts, redactOption, redactText } from '../../src/observe/audit-redaction.ts'

test('credentials in URLs are replaced, the rest of the URL stays', () => {
  assert.equal(redactText('https://bob:hunter2@git.example/r.git#main:sub'), `https://${REDACTED}@git.example/r.git#main:sub`)
  assert.equal(redactText('fetch https://git.example/r.tar?token=abc&x=1 failed'), `fetch https://git.example/r.tar?${REDACTED} failed`)
  assert.equal(redactText('git@github.com:org/repo.git'), 'git@github.com:org/repo.git')
})

test('bearer credentials, static tokens and JWTs are replaced wherever they appear', () => {
  const jwt = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl'
  const out = redactText(`Authorization: Bearer ${jwt} then dwt_abcDEF123_-x and Basic dXNlcjpwYXNz`)
  for (const secret of [jwt, 'dwt_abcDEF123_-x', 'dXNlcjpwYXNz']) assert.ok(!out.includes(secret), out)
  assert.match(out, /Bearer \[REDACTED\]/)
})

test('control characters are escaped so a value cannot forge a line', () => {
  assert.equal(redactText('a\nb\u2028c'), 'a\\u000ab\\u2028c')
})

test('long text is cut', () => {
  const out = redactText('x'.repeat(10_000))
  assert.equal(out.length, MAX_TEXT)
  assert.ok(out.endsWith('...'))
})

test('option values are hidden when the name says they are credentials', () => {
  assert.equal(redactOption('encryption_passphrase=abc'), `encryption_passphrase=${REDACTED}`)
  assert.equal(redactOption('com.example.api-key=abc'), `com.example.api-key=${REDACTED}`)
  assert.equal(redactOption('parent=eth0'), 'parent=eth0')
})

test('facts: strings and lists are redacted, booleans and numbers kept', () => {
  const out = redactFacts({
    remoteContext: 'https://u:p4ss@git.example/r.git',
    importSource: 'https://example.com/rootfs.tar?sig=s3cr3t',
    networkOptions: ['secret_key=k3y', 'mtu=1400'],
    privileged: false,
    memory: 64,
    hostPaths: ['/srv/ci']
  })
  assert.deepEqual(out, {
    remoteContext: `https://${REDACTED}@git.example/r.git`,
    importSource: `https://example.com/rootfs.tar?${REDACTED}`,
    networkOptions: [`secret_key=${REDACTED}`, 'mtu=1400'],
    privileged: false,
    memory: 64,
    hostPaths: ['/srv/ci']
  })
  assert.ok(!JSON.stringify(out).includes('p4ss'))
})

test('a password holding @ is replaced whole; tokens glued to a word are still found', () => {
  assert.equal(redactText('https://user:p@ss@host/r.git'), 'https://[REDACTED]@host/r.git')
  assert.equal(redactText('a@b https://x/y'), 'a@b https://x/y')
  assert.equal(redactText('my_dwt_abc'), 'my_[REDACTED]')
})
