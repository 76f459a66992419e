import { test } from 'node:test'
import assert from 'node:assert/strict'
import { goFoldKey } from '../../src/inspect/go-fold.ts'

const same = (a: string, b: string): boolean => goFoldKey(a) === goFoldKey(b)

test('ASCII keys fold to upper case, whatever their case', () => {
  assert.equal(goFoldKey('privileged'), 'PRIVILEGED')
  assert.ok(same('Privileged', 'privileged'))
  assert.ok(same('Privileged', 'PRIVILEGED'))
  assert.ok(same('Privileged', 'pRiViLeGeD'))
  assert.equal(goFoldKey('Dns_Options-1.x'), 'DNS_OPTIONS-1.X', 'punctuation and digits are kept')
  assert.ok(!same('DnsOptions', 'Dns_Options'), 'Go v1 does not ignore underscores')
})

test("'ſ' (U+017F) matches s and S, the Kelvin sign (U+212A) matches k and K", () => {
  assert.equal(goFoldKey('ſecurityOpt'), 'SECURITYOPT')
  assert.ok(same('ſecurityOpt', 'SecurityOpt'))
  assert.ok(same('\u212Aernelmemory', 'KernelMemory'))
  assert.ok(same('Maſked\u212Aeys', 'MASKEDKEYS'))
})

test('no other non-ASCII rune reaches an ASCII name', () => {
  // Dotless i (U+0131) upper-cases to I in Unicode, but its simple-fold orbit is its own: Go does not match it.
  assert.ok(!same('privıleged', 'Privileged'))
  // Dotted capital I (U+0130) likewise.
  assert.ok(!same('Prİvileged', 'Privileged'))
  assert.equal(goFoldKey('privıleged'), 'PRIVıLEGED')
  assert.equal(goFoldKey('Ünïcode😀'), 'ÜNïCODE😀', 'non-ASCII runes are kept as they are')
  assert.ok(!same('Ｐrivileged', 'Privileged'), 'fullwidth letters are other runes')
})

test('of the runes whose Unicode case mapping is one ASCII letter, Go folds exactly ſ and K', () => {
  const mappedToAscii: number[] = []
  for (let cp = 0x80; cp <= 0x10ffff; cp++) {
    if (cp >= 0xd800 && cp <= 0xdfff) continue
    const ch = String.fromCodePoint(cp)
    if ([ch.toUpperCase(), ch.toLowerCase()].some(m => /^[A-Za-z]$/.test(m))) mappedToAscii.push(cp)
  }
  assert.deepEqual(mappedToAscii, [0x131, 0x17f, 0x212a])
  assert.deepEqual(mappedToAscii.map(cp => goFoldKey(String.fromCodePoint(cp))), ['ı', 'S', 'K'])
})
