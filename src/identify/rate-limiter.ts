import { ConfigError } from '../core/errors.ts'
import { objectWithKeys } from './fixed-identity.ts'
import type { Identity } from './identity.ts'

/**
 * Per-identity rate limits, answered with 429 (`RateLimitedError`). Requests go through a token
 * bucket per identity; hijacked streams (attach, exec, BuildKit sessions) hold a slot for as long as
 * they are open, since one of them can cost the engine far more than many short requests.
 */

/** Validated limits; null means unlimited. */
export interface RateLimitSettings {
  /** Bucket refill rate (may be fractional: 0.5 is one request every two seconds). */
  readonly requestsPerSecond: number | null
  /** Bucket capacity: requests allowed back to back after a quiet spell. */
  readonly burst: number | null
  /** Hijacked streams one identity may hold open at once. */
  readonly concurrentHijacks: number | null
}

export interface RateLimiter {
  /** Takes one request from the identity's bucket; false means answer 429. */
  admit: (identity: Identity) => boolean
  /** Claims a stream slot; call the returned function (any number of times) when the stream ends. null means answer 429. */
  openStream: (identity: Identity) => (() => void) | null
  /** State entries held (buckets plus open-stream counters), after evicting idle full buckets. */
  size: () => number
}

export const UNLIMITED: RateLimitSettings = Object.freeze({ requestsPerSecond: null, burst: null, concurrentHijacks: null })

/**
 * Reads `{ requestsPerSecond?, burst?, concurrentHijacks? }`; absent (or the whole value absent)
 * means unlimited, and burst defaults to requestsPerSecond (at least 1).
 *
 * @example parseRateLimitSettings({ requestsPerSecond: 20, burst: 50, concurrentHijacks: 8 }, 'rateLimit')
 */
export function parseRateLimitSettings (raw: unknown, where: string): RateLimitSettings {
  if (raw === undefined || raw === null) return UNLIMITED
  const obj = objectWithKeys(raw, where, ['requestsPerSecond', 'burst', 'concurrentHijacks'])
  const rps = optional(obj.requestsPerSecond, `${where}.requestsPerSecond`, false)
  let burst = optional(obj.burst, `${where}.burst`, false)
  const concurrentHijacks = optional(obj.concurrentHijacks, `${where}.concurrentHijacks`, true)
  if (burst !== null && rps === null) throw new ConfigError(`${where}.burst: needs requestsPerSecond`)
  // A bucket smaller than one request would refuse everything: a config mistake, not a limit.
  if (burst !== null && burst < 1) throw new ConfigError(`${where}.burst: must be at least 1`)
  if (rps !== null && burst === null) burst = Math.max(1, rps)
  return Object.freeze({ requestsPerSecond: rps, burst, concurrentHijacks })
}

function optional (value: unknown, where: string, integer: boolean): number | null {
  if (value === undefined || value === null) return null
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0 || (integer && !Number.isSafeInteger(value))) {
    throw new ConfigError(`${where}: expected a positive ${integer ? 'integer' : 'number'}`)
  }
  return value
}

/**
 * The key an identity's limits are kept under: `method:name:tenant`, with name and tenant
 * percent-encoded so a `:` in a name cannot make two identities share one bucket.
 *
 * @example identityKey({ name: 'ci', tenant: 'team-a', groups: [], method: 'token' }) // 'token:ci:team-a'
 */
export function identityKey (identity: Identity): string {
  // JSON, not encodeURIComponent: that throws on a lone surrogate, and no two triples collide.
  return JSON.stringify([identity.method, identity.name, identity.tenant])
}

/**
 * A token bucket kept as the time it will be full again (GCRA) rather than as a token count: no
 * fractions of a token are added up on every request (ten refills of 0.1 make 0.999…, and a request
 * that is due would be refused), and a refused request changes nothing.
 */
interface Bucket {
  /** When the bucket is full again; a request is admitted while that is at most `burst - 1` intervals away. */
  fullAt: number
  /** Time of the last admitted request, which orders the Map. */
  touched: number
}

/**
 * A limiter for `settings`. `now` returns milliseconds from a monotonic clock (tests pass a fake).
 *
 * Memory stays bounded however many identities there are: a bucket left alone for `burst /
 * requestsPerSecond` seconds is full again, and a full bucket behaves exactly like a missing one, so
 * it is dropped. Buckets sit in a Map in order of their last admitted request (each admit moves its
 * bucket to the end), so each call evicts from the front until it meets one used within the refill
 * window: amortised O(1), and at most one bucket per identity admitted in that window. Stream counters are deleted
 * when they drop to zero, so they never outnumber open streams.
 *
 * @example
 * const limiter = createRateLimiter(parseRateLimitSettings({ requestsPerSecond: 10 }, 'rateLimit'))
 * if (!limiter.admit(identity)) throw new RateLimitedError(identity.name)
 */
export function createRateLimiter (settings: RateLimitSettings, options: { now?: () => number } = {}): RateLimiter {
  const now = options.now ?? (() => performance.now())
  const rate = settings.requestsPerSecond
  const capacity = settings.burst ?? (rate === null ? null : Math.max(1, rate))
  const streamLimit = settings.concurrentHijacks
  const buckets = new Map<string, Bucket>()
  const streams = new Map<string, number>()
  const interval = rate === null ? 0 : 1000 / rate
  const tolerance = capacity === null ? 0 : (capacity - 1) * interval
  // After an admitted request the bucket is full again within capacity × interval, so a bucket
  // untouched that long is full: dropping it changes no answer.
  const refillMs = tolerance + interval

  const evictIdle = (t: number): void => {
    for (const [key, bucket] of buckets) {
      if (t - bucket.touched < refillMs) break
      buckets.delete(key)
    }
  }

  const release = (key: string): void => {
    const n = streams.get(key) ?? 0
    if (n <= 1) streams.delete(key)
    else streams.set(key, n - 1)
  }

  return {
    admit (identity) {
      if (rate === null) return true
      const t = now()
      evictIdle(t)
      const key = identityKey(identity)
      const fullAt = Math.max(buckets.get(key)?.fullAt ?? t, t)
      if (fullAt - t > tolerance) return false // refused requests take nothing from the bucket
      buckets.delete(key) // and set again: the Map stays in order of last admitted request
      buckets.set(key, { fullAt: fullAt + interval, touched: t })
      return true
    },
    openStream (identity) {
      if (streamLimit === null) return () => {}
      const key = identityKey(identity)
      const n = streams.get(key) ?? 0
      if (n >= streamLimit) return null
      streams.set(key, n + 1)
      let released = false
      return () => {
        // Idempotent: close and error handlers may both fire for one stream.
        if (released) return
        released = true
        release(key)
      }
    },
    size () {
      if (rate !== null) evictIdle(now())
      return buckets.size + streams.size
    }
  }
}
