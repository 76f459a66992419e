import { test } from 'node:test'
import assert from 'node:assert/strict'
import { ConfigError, RateLimitedError, AuthenticationError, statusByCode } from '../../src/core/errors.ts'
import type { Identity } from '../../src/identify/identity.ts'
import { createRateLimiter, identityKey, parseRateLimitSettings, UNLIMITED } from '../../src/identify/rate-limiter.ts'

const who = (name: string, tenant: string | null = null, method: Identity['method'] = 'token'): Identity =>
  ({ name, tenant, groups: [], method })

function clock (): { now: () => number, advance: (ms: number) => void } {
  let t = 1_000
  return { now: () => t, advance: (ms) => { t += ms } }
}

function admitted (limiter: ReturnType<typeof createRateLimiter>, identity: Identity, n: number): number {
  let ok = 0
  for (let i = 0; i < n; i++) if (limiter.admit(identity)) ok++
  return ok
}

test('parses settings: burst defaults to requestsPerSecond, absent means unlimited', () => {
  assert.deepEqual(parseRateLimitSettings({ requestsPerSecond: 20, burst: 50, concurrentHijacks: 8 }, 'rateLimit'),
    { requestsPerSecond: 20, burst: 50, concurrentHijacks: 8 })
  assert.deepEqual(parseRateLimitSettings({ requestsPerSecond: 5 }, 'rateLimit'), { requestsPerSecond: 5, burst: 5, concurrentHijacks: null })
  assert.deepEqual(parseRateLimitSettings({ requestsPerSecond: 0.5 }, 'rateLimit'), { requestsPerSecond: 0.5, burst: 1, concurrentHijacks: null })
  assert.deepEqual(parseRateLimitSettings({ concurrentHijacks: 2 }, 'rateLimit'), { requestsPerSecond: null, burst: null, concurrentHijacks: 2 })
  assert.deepEqual(parseRateLimitSettings(undefined, 'rateLimit'), UNLIMITED)
  assert.deepEqual(parseRateLimitSettings({}, 'rateLimit'), UNLIMITED)
})

test('bad settings name the key', () => {
  const bad = (raw: unknown, message: RegExp): void => {
    assert.throws(() => parseRateLimitSettings(raw, 'rateLimit'), (err: unknown) => err instanceof ConfigError && message.test(err.message))
  }
  bad(10, /^rateLimit: expected a mapping/)
  bad({ requestsPerSecond: 0 }, /^rateLimit\.requestsPerSecond: expected a positive number/)
  bad({ requestsPerSecond: -1 }, /^rateLimit\.requestsPerSecond: expected a positive number/)
  bad({ requestsPerSecond: '10' }, /^rateLimit\.requestsPerSecond: expected a positive number/)
  bad({ requestsPerSecond: Infinity }, /^rateLimit\.requestsPerSecond: expected a positive number/)
  bad({ requestsPerSecond: 1, burst: 0.5 }, /^rateLimit\.burst: must be at least 1/)
  bad({ burst: 10 }, /^rateLimit\.burst: needs requestsPerSecond/)
  bad({ concurrentHijacks: 1.5 }, /^rateLimit\.concurrentHijacks: expected a positive integer/)
  bad({ requestsPerSec: 1 }, /^rateLimit\.requestsPerSec: unknown setting/)
})

test('the errors: 429 and 401 in the engine format, the 401 never saying why', () => {
  const limited = new RateLimitedError('ci')
  assert.equal(limited.status, 429)
  assert.equal(limited.code, 'DW_ERR_RATE_LIMITED')
  assert.equal(limited.toBody(), '{"message":"dockward: rate limit for ci exceeded"}')
  const unauth = new AuthenticationError()
  assert.equal(unauth.status, 401)
  assert.equal(statusByCode.DW_ERR_UNAUTHENTICATED, 401)
  assert.equal(unauth.toBody(), '{"message":"authentication required"}')
})

test('a bucket allows a burst, then refills at requestsPerSecond', () => {
  const c = clock()
  const limiter = createRateLimiter(parseRateLimitSettings({ requestsPerSecond: 2, burst: 5 }, 'r'), { now: c.now })
  const ci = who('ci')
  assert.equal(admitted(limiter, ci, 10), 5, 'the burst')
  c.advance(499)
  assert.equal(limiter.admit(ci), false, 'not yet a whole token')
  c.advance(1)
  assert.equal(limiter.admit(ci), true, 'one token after 500 ms')
  assert.equal(limiter.admit(ci), false)
  c.advance(10_000)
  assert.equal(admitted(limiter, ci, 10), 5, 'refills to the burst, no further')
  c.advance(-5_000) // a clock that steps back gives nothing
  assert.equal(limiter.admit(ci), false)
})

test('refused requests do not use up tokens', () => {
  const c = clock()
  const limiter = createRateLimiter(parseRateLimitSettings({ requestsPerSecond: 1 }, 'r'), { now: c.now })
  assert.equal(limiter.admit(who('a')), true)
  for (let i = 0; i < 9; i++) { c.advance(100); assert.equal(limiter.admit(who('a')), false) }
  c.advance(100)
  assert.equal(limiter.admit(who('a')), true, '1 s after the last admitted request, despite refusals in between')
})

test('identities have their own buckets, keyed by method, name and tenant', () => {
  const c = clock()
  const limiter = createRateLimiter(parseRateLimitSettings({ requestsPerSecond: 1, burst: 2 }, 'r'), { now: c.now })
  assert.equal(admitted(limiter, who('ci', 'team-a'), 5), 2)
  for (const other of [who('ci', 'team-b'), who('ci'), who('ci', 'team-a', 'jwt'), who('ops', 'team-a')]) {
    assert.equal(admitted(limiter, other, 5), 2, identityKey(other))
  }
  // A ':' in a name cannot land two identities in one bucket.
  assert.notEqual(identityKey(who('a:b', 'c')), identityKey(who('a', 'b:c')))
  assert.equal(identityKey(who('ci', 'team-a')), '["token","ci","team-a"]')
  // A lone surrogate (from a signed token) must not throw.
  assert.doesNotThrow(() => identityKey(who('\ud800')))
  assert.equal(admitted(limiter, who('a:b', 'c'), 5), 2)
  assert.equal(admitted(limiter, who('a', 'b:c'), 5), 2)
})

test('unlimited settings admit everything and keep no state', () => {
  const limiter = createRateLimiter(UNLIMITED)
  assert.equal(admitted(limiter, who('ci'), 10_000), 10_000)
  const releases = Array.from({ length: 100 }, () => limiter.openStream(who('ci')))
  assert.ok(releases.every((r) => typeof r === 'function'))
  assert.equal(limiter.size(), 0)
})

test('concurrent streams are limited per identity; release is idempotent', () => {
  const limiter = createRateLimiter(parseRateLimitSettings({ concurrentHijacks: 2 }, 'r'))
  const first = limiter.openStream(who('ci'))
  const second = limiter.openStream(who('ci'))
  assert.ok(first !== null && second !== null)
  assert.equal(limiter.openStream(who('ci')), null, 'at the limit')
  assert.notEqual(limiter.openStream(who('ops')), null, 'another identity has its own slots')
  first()
  first()
  first() // close and error handlers both firing must not free a slot held by another stream
  const third = limiter.openStream(who('ci'))
  assert.ok(third !== null)
  assert.equal(limiter.openStream(who('ci')), null, 'one release frees one slot')
  second()
  third()
  assert.equal(limiter.size(), 1, 'the counter of an identity with no open streams is gone; ops still holds one')
})

test('idle full buckets are evicted, so memory is bounded by identities active in the refill window', () => {
  const c = clock()
  // burst 4 at 2/s: any bucket is full again 2 s after its last use.
  const limiter = createRateLimiter(parseRateLimitSettings({ requestsPerSecond: 2, burst: 4 }, 'r'), { now: c.now })
  for (let i = 0; i < 10_000; i++) {
    limiter.admit(who(`user-${i}`))
    c.advance(1) // 10 s in all, in 1 ms steps
  }
  // Only the identities of the last 2 s can have buckets left: 2000 of them.
  assert.ok(limiter.size() <= 2_000, `size ${limiter.size()}`)
  assert.ok(limiter.size() >= 1_999, `recent buckets are kept (${limiter.size()})`)
  c.advance(2_000)
  assert.equal(limiter.size(), 0, 'all idle')

  // Eviction never changes an answer: a bucket that is not full yet is kept.
  assert.equal(admitted(limiter, who('busy'), 4), 4)
  c.advance(1_999)
  limiter.admit(who('other'))
  assert.equal(limiter.size(), 2)
  assert.equal(admitted(limiter, who('busy'), 5), 3, 'refilled by 3.998 tokens, not reset to 4')
  c.advance(2_000)
  assert.equal(limiter.size(), 0)

  // A bucket used again moves to the back, so older idle ones in front of it are still evicted.
  limiter.admit(who('a'))
  c.advance(1_000)
  limiter.admit(who('b'))
  c.advance(500)
  assert.equal(admitted(limiter, who('a'), 4), 4, 'a empties its bucket')
  c.advance(1_500) // b idle 2 s (full), a idle 1.5 s (3 tokens back of 4)
  assert.equal(limiter.size(), 1)
  assert.equal(admitted(limiter, who('a'), 5), 3, 'a kept its state: 3 tokens, not a fresh 4')
})
