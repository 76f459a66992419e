import type { Parameters } from 'fast-check'

/**
 * Run counts and seeds of the property-based tests. CI runs every property with its default
 * count and one fixed seed, so a red CI run replays exactly; `npm run fuzz` (scripts/fuzz.mjs)
 * raises the count through DOCKWARD_FUZZ_RUNS and passes a fresh random seed (printed) through
 * DOCKWARD_FUZZ_SEED. On a failure fast-check prints `{ seed, path }` and the shrunk
 * counterexample; set DOCKWARD_FUZZ_SEED to that seed to replay it.
 */

// Fixed so that CI is deterministic: a failure there is a failure on every machine.
const DEFAULT_SEED = 0x0d0c_4a2d

function positiveInteger (name: string, raw: string): number {
  const n = Number(raw)
  if (!/^[0-9]+$/.test(raw.trim()) || !Number.isSafeInteger(n) || n <= 0) {
    throw new Error(`${name} must be a positive integer, not ${JSON.stringify(raw)}`)
  }
  return n
}

/**
 * Runs per property: `defaultRuns` (sized for CI: well under a second or two on a slow 2-core
 * machine), or DOCKWARD_FUZZ_RUNS when set (the long run, e.g. 200000). `maxRuns` caps the long
 * run for a property whose every run is costly (one that overflows the stack on purpose), so
 * the long run stays a matter of minutes.
 *
 * @example fuzzRuns(500) // 500, or 200000 under DOCKWARD_FUZZ_RUNS=200000
 */
export function fuzzRuns (defaultRuns: number, maxRuns = Number.POSITIVE_INFINITY): number {
  const raw = process.env['DOCKWARD_FUZZ_RUNS']
  if (raw === undefined || raw === '') return defaultRuns
  return Math.min(positiveInteger('DOCKWARD_FUZZ_RUNS', raw), Math.max(maxRuns, defaultRuns))
}

/**
 * The seed of every property: DOCKWARD_FUZZ_SEED when set (any 32-bit integer, negative too, as
 * fast-check prints it), else a fixed one.
 */
export function fuzzSeed (): number {
  const raw = process.env['DOCKWARD_FUZZ_SEED']
  if (raw === undefined || raw === '') return DEFAULT_SEED
  const n = Number(raw)
  if (!/^-?[0-9]+$/.test(raw.trim()) || !Number.isSafeInteger(n)) {
    throw new Error(`DOCKWARD_FUZZ_SEED must be an integer, not ${JSON.stringify(raw)}`)
  }
  return n
}

/**
 * fast-check parameters for one property: its run count and the seed. Replaying a printed
 * counterexample only needs the seed (and the same run count, or more).
 *
 * @example fc.assert(fc.property(fc.string(), check), fuzzParams(1000))
 */
export function fuzzParams<T> (defaultRuns: number, maxRuns?: number): Parameters<T> {
  return { numRuns: fuzzRuns(defaultRuns, maxRuns), seed: fuzzSeed() }
}
