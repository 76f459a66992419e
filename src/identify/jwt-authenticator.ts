import { createHash } from 'node:crypto'
import { readFileSync, realpathSync, watch as watchFs } from 'node:fs'
import { dirname, resolve } from 'node:path'
import {
  createLocalJWKSet,
  createRemoteJWKSet,
  decodeProtectedHeader,
  errors,
  jwtVerify,
  type JSONWebKeySet,
  type JWTPayload,
  type JWTVerifyGetKey
} from 'jose'
import { ConfigError } from '../core/errors.ts'
import { AMBIGUOUS, bearerToken, looksLikeJwt, type AuthOutcome, type Authenticator } from './authenticator.ts'
import { labelProblem } from './label.ts'
import { objectWithKeys } from './fixed-identity.ts'
import type { Identity } from './identity.ts'

/**
 * JWT bearer tokens (`Authorization: Bearer eyJ…`) signed by an identity provider, verified against
 * its public keys (a JWKS file or URL). Every token must carry `exp`: a token without one would be
 * valid forever, and the verified-token cache needs an end. Verified tokens are cached by their
 * exact bytes until the earliest of `exp`, `iat + maxTokenAgeSeconds` and `cacheMaxSeconds`, so
 * the hot path is one Map lookup and a key removed from the JWKS stops working within that bound
 * (at once for a JWKS file: a reload empties the cache).
 */

/** Claim names (a claim that is not a top-level key is looked up as a dotted path, `realm_access.roles`). */
export interface JwtClaimNames {
  /** Identity name; a string claim, required in every token. */
  readonly name: string
  /** Tenant; when set, every token must carry it as a string. */
  readonly tenant?: string
  /** Groups: an array of strings or one space-separated string; a token without it has none. */
  readonly groups?: string
}

/** The `jwt` authenticator's settings. Everything but `onError` is plain data from the config file. */
export interface JwtSettings {
  /** A local JWKS JSON file, re-read when it changes. Exactly one of jwksFile and jwksUrl. */
  readonly jwksFile?: string
  /** An http(s) URL serving the JWKS; cached, refetched for an unknown `kid` at most every 30 s. */
  readonly jwksUrl?: string
  /** How long one JWKS fetch may take (ms, jwksUrl only, default 5000). */
  readonly timeoutMs?: number
  readonly issuer: string | readonly string[]
  readonly audience: string | readonly string[]
  /** Allowed `alg` values: asymmetric only (RS*, PS*, ES*, EdDSA, Ed25519). */
  readonly algorithms: readonly string[]
  /** Leeway for exp, nbf and iat (default 30, at most 300). */
  readonly clockToleranceSeconds?: number
  /** Refuse tokens issued longer ago than this (needs `iat`). */
  readonly maxTokenAgeSeconds?: number
  readonly claims?: JwtClaimNames
  /** Verified tokens kept (default 10,000; 0 disables the cache). */
  readonly cacheMaxEntries?: number
  /** Longest a verified token is trusted without verifying it again (default 600, at most 600). */
  readonly cacheMaxSeconds?: number
  /** A JWKS file change that could not be loaded (the old keys stay). Default: a process warning. */
  readonly onError?: (err: ConfigError) => void
}

/** Settings with every default applied, as parseJwtSettings returns them. */
export type ResolvedJwtSettings = Omit<JwtSettings, 'onError'> & {
  readonly algorithms: readonly string[]
  readonly clockToleranceSeconds: number
  readonly claims: JwtClaimNames
  readonly cacheMaxEntries: number
  readonly cacheMaxSeconds: number
}

// Public-key algorithms only: the keys come from a JWKS of public keys, and an HMAC algorithm
// "verified" with one would accept tokens from anyone who has read that public key.
const ASYMMETRIC_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519']
const SETTING_KEYS = [
  'jwksFile', 'jwksUrl', 'timeoutMs', 'issuer', 'audience', 'algorithms', 'clockToleranceSeconds',
  'maxTokenAgeSeconds', 'claims', 'cacheMaxEntries', 'cacheMaxSeconds'
]
const DEFAULT_TIMEOUT_MS = 5000
const DEFAULT_CLOCK_TOLERANCE = 30
const MAX_CLOCK_TOLERANCE = 300
const DEFAULT_CACHE_ENTRIES = 10_000
const MAX_CACHE_SECONDS = 600
// Quiet time after the last event in the JWKS file's directory before it is read again.
const RELOAD_DEBOUNCE_MS = 100

/**
 * Validates the `jwt` settings from the config file and applies defaults. Errors name the key.
 *
 * @example parseJwtSettings({ jwksUrl: 'https://idp.example/jwks', issuer: 'https://idp.example', audience: 'dockward', algorithms: ['RS256'] }, 'identity.jwt')
 */
export function parseJwtSettings (raw: unknown, where: string): ResolvedJwtSettings {
  const obj = objectWithKeys(raw, where, SETTING_KEYS)
  const has = (key: string): boolean => obj[key] !== undefined && obj[key] !== null
  if (has('jwksFile') === has('jwksUrl')) {
    throw new ConfigError(`${where}: set exactly one of jwksFile (a local JWKS file) and jwksUrl (the identity provider's JWKS URL)`)
  }
  if (has('timeoutMs') && !has('jwksUrl')) throw new ConfigError(`${where}.timeoutMs: only applies to jwksUrl`)

  const settings: {
    -readonly [K in keyof ResolvedJwtSettings]: ResolvedJwtSettings[K]
  } = {
    issuer: stringOrList(obj.issuer, `${where}.issuer`, 'the expected "iss" value(s)'),
    audience: stringOrList(obj.audience, `${where}.audience`, 'the expected "aud" value(s), usually dockward\'s client id'),
    algorithms: parseAlgorithms(obj.algorithms, `${where}.algorithms`),
    clockToleranceSeconds: has('clockToleranceSeconds')
      ? integer(obj.clockToleranceSeconds, `${where}.clockToleranceSeconds`, 0, MAX_CLOCK_TOLERANCE)
      : DEFAULT_CLOCK_TOLERANCE,
    claims: parseClaimNames(obj.claims, `${where}.claims`),
    cacheMaxEntries: has('cacheMaxEntries') ? integer(obj.cacheMaxEntries, `${where}.cacheMaxEntries`, 0, 1_000_000) : DEFAULT_CACHE_ENTRIES,
    cacheMaxSeconds: has('cacheMaxSeconds') ? integer(obj.cacheMaxSeconds, `${where}.cacheMaxSeconds`, 0, MAX_CACHE_SECONDS) : MAX_CACHE_SECONDS
  }
  if (has('jwksFile')) {
    if (typeof obj.jwksFile !== 'string' || obj.jwksFile === '') throw new ConfigError(`${where}.jwksFile: expected a file path`)
    settings.jwksFile = obj.jwksFile
  } else {
    settings.jwksUrl = parseJwksUrl(obj.jwksUrl, `${where}.jwksUrl`)
    settings.timeoutMs = has('timeoutMs') ? integer(obj.timeoutMs, `${where}.timeoutMs`, 1, 60_000) : DEFAULT_TIMEOUT_MS
  }
  if (has('maxTokenAgeSeconds')) {
    settings.maxTokenAgeSeconds = integer(obj.maxTokenAgeSeconds, `${where}.maxTokenAgeSeconds`, 1, Number.MAX_SAFE_INTEGER)
  }
  return Object.freeze(settings)
}

/**
 * The `jwt` authenticator. A request without a bearer, or with one that is not JWT-shaped, is
 * `absent` (a static token is another authenticator's); a JWT that fails any check is `rejected`.
 * Throws ConfigError for bad settings or a JWKS file that cannot be loaded at start-up.
 *
 * @example
 * const jwt = createJwtAuthenticator({ jwksFile: '/etc/dockward/jwks.json', issuer: 'https://idp.example', audience: 'dockward', algorithms: ['ES256'] })
 * await jwt.authenticate(req) // { kind: 'identified', identity: { name: 'alice', method: 'jwt', … } }
 */
export function createJwtAuthenticator (input: JwtSettings): Authenticator {
  const { onError, ...data } = input
  // Checked again here: settings built in code must not get past what the config file may not.
  const settings = parseJwtSettings(data, 'jwt')
  const report = onError ?? ((err: ConfigError) => { process.emitWarning(err) })
  const cache = new TokenCache(settings.cacheMaxEntries)
  const source = settings.jwksFile !== undefined
    ? watchedJwksFile(resolve(settings.jwksFile), report, () => { cache.clear() })
    : remoteJwks(settings.jwksUrl as string, settings.timeoutMs ?? DEFAULT_TIMEOUT_MS)
  const absent: AuthOutcome = Object.freeze({ kind: 'absent' })
  const verifyOptions = {
    algorithms: [...settings.algorithms],
    issuer: typeof settings.issuer === 'string' ? settings.issuer : [...settings.issuer],
    audience: typeof settings.audience === 'string' ? settings.audience : [...settings.audience],
    clockTolerance: settings.clockToleranceSeconds,
    requiredClaims: ['exp'],
    ...(settings.maxTokenAgeSeconds !== undefined ? { maxTokenAge: settings.maxTokenAgeSeconds } : {})
  }
  // Concurrent requests with one new token (BuildKit opens several at once) share one verification.
  const pending = new Map<string, Promise<AuthOutcome>>()

  const verify = async (token: string, now: number): Promise<AuthOutcome> => {
    const generation = source.generation()
    let payload: JWTPayload
    try {
      ({ payload } = await jwtVerify(token, source.keys(), { ...verifyOptions, currentDate: new Date(now) }))
    } catch (err) {
      return rejected(describeFailure(err, token, source.label))
    }
    const identity = identityFrom(payload, settings.claims)
    if (typeof identity === 'string') return rejected(identity)
    const outcome: AuthOutcome = Object.freeze({ kind: 'identified', identity })
    // requiredClaims made exp present, and jose checked it is a number.
    let until = Math.min((payload.exp as number) * 1000, now + settings.cacheMaxSeconds * 1000)
    if (settings.maxTokenAgeSeconds !== undefined) until = Math.min(until, ((payload.iat as number) + settings.maxTokenAgeSeconds) * 1000)
    // Not cached when the keys changed meanwhile: the answer came from keys that may be gone.
    if (generation === source.generation()) cache.set(token, outcome, until, Date.now())
    return outcome
  }

  return Object.freeze({
    method: 'jwt',
    authenticate (req) {
      const token = bearerToken(req)
      if (token === null) return absent
      if (token === AMBIGUOUS) return rejected('more than one Authorization header')
      if (!looksLikeJwt(token)) return absent
      const now = Date.now()
      const hit = cache.get(token, now)
      if (hit !== undefined) return hit
      let running = pending.get(token)
      if (running === undefined) {
        running = verify(token, now).finally(() => pending.delete(token))
        pending.set(token, running)
      }
      return running
    },
    reload () {
      source.reload?.()
    },
    close () {
      source.close()
      cache.clear()
    }
  } satisfies Authenticator)
}

/**
 * Verified tokens, least recently used first (a Map keeps insertion order; a hit moves its entry
 * to the end). Keyed by the whole token string, so only the exact bytes that were verified match.
 */
class TokenCache {
  readonly #max: number
  readonly #entries = new Map<string, { readonly outcome: AuthOutcome, readonly until: number }>()

  constructor (max: number) { this.#max = max }

  get (token: string, now: number): AuthOutcome | undefined {
    const entry = this.#entries.get(token)
    if (entry === undefined) return undefined
    this.#entries.delete(token)
    if (entry.until <= now) return undefined
    this.#entries.set(token, entry)
    return entry.outcome
  }

  set (token: string, outcome: AuthOutcome, until: number, now: number): void {
    if (this.#max === 0 || until <= now) return
    this.#entries.delete(token)
    this.#entries.set(token, { outcome, until })
    while (this.#entries.size > this.#max) {
      const oldest = this.#entries.keys().next()
      if (oldest.done === true) break
      this.#entries.delete(oldest.value)
    }
  }

  clear (): void { this.#entries.clear() }
}

/** Where the verification keys come from: the key lookup jose calls, and a counter that moves when they change. */
interface KeySource {
  readonly label: string
  keys: () => JWTVerifyGetKey
  generation: () => number
  /** Re-reads a JWKS file now (SIGHUP); a URL's set is refreshed by jose itself. */
  reload?: () => void
  close: () => void
}

function remoteJwks (url: string, timeoutMs: number): KeySource {
  // jose keeps the set for 10 minutes, refetches for an unknown kid at most every 30 s, and
  // shares one fetch between concurrent callers.
  const jwks = createRemoteJWKSet(new URL(url), { timeoutDuration: timeoutMs })
  return { label: `JWKS ${url}`, keys: () => jwks, generation: () => 0, close: () => {} }
}

/**
 * A JWKS file, watched like the policy file (its directory, so editors' rename-over saves and
 * Kubernetes' symlink swaps are seen). A new file that does not load is reported once and the old
 * keys stay; one that loads replaces them and calls `changed`.
 */
function watchedJwksFile (file: string, report: (err: ConfigError) => void, changed: () => void): KeySource {
  const label = `JWKS file ${file}`
  const first = readJwksFile(file, label)
  if (!first.ok) throw first.error
  let keys = first.keys
  let lastTried = first.digest
  let generation = 0
  let timer: NodeJS.Timeout | null = null
  let retried = false

  const check = (): void => {
    timer = null
    const next = readJwksFile(file, label)
    if (!next.ok) {
      // An editor's unlink-then-rename leaves the file missing for a moment: look once more first.
      if (next.unreadable && !retried) { retried = true; schedule(); return }
      retried = false
      // Reported once per distinct problem, not on every event in the directory.
      if (lastTried === next.error.message) return
      lastTried = next.error.message
      report(new ConfigError(`${next.error.message}; the keys loaded before stay in use`))
      return
    }
    retried = false
    if (next.digest === lastTried) return
    lastTried = next.digest
    keys = next.keys
    generation++
    changed()
  }
  const schedule = (): void => {
    if (timer !== null) clearTimeout(timer)
    timer = setTimeout(check, RELOAD_DEBOUNCE_MS)
    timer.unref()
  }
  // persistent: false: watching alone must not keep a process alive (tests, one-shot commands).
  // The file's own directory, and the directory of what it links to: a symlinked JWKS (a
  // Kubernetes Secret, a file kept beside the issuer's config) changes where the target lives.
  const dirs = new Set([dirname(file)])
  try { dirs.add(dirname(realpathSync(file))) } catch {}
  const watchers = [...dirs].map((dir) => {
    const watcher = watchFs(dir, { persistent: false }, schedule)
    watcher.on('error', (err) => {
      report(new ConfigError(`${label}: watching for changes failed (${err.message}); the keys loaded before stay in use`))
    })
    return watcher
  })
  return {
    label,
    // A lookup that reads `keys` per call: a token verified after a reload uses the new set.
    keys: () => keys,
    generation: () => generation,
    close: () => {
      if (timer !== null) clearTimeout(timer)
      timer = null
      for (const w of watchers) w.close()
    },
    reload: () => { retried = false; check() }
  }
}

type JwksRead =
  | { readonly ok: true, readonly keys: JWTVerifyGetKey, readonly digest: string }
  | { readonly ok: false, readonly error: ConfigError, readonly unreadable: boolean }

function readJwksFile (file: string, label: string): JwksRead {
  const fail = (message: string, unreadable = false): JwksRead => ({ ok: false, error: new ConfigError(`${label}: ${message}`), unreadable })
  let bytes: Buffer
  try {
    bytes = readFileSync(file)
  } catch (err) {
    return fail(`cannot read it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, true)
  }
  let json: unknown
  try {
    json = JSON.parse(bytes.toString('utf8'))
  } catch (err) {
    return fail(`not valid JSON (${(err as Error).message})`)
  }
  const members = (json as { keys?: unknown } | null)?.keys
  if (!Array.isArray(members)) return fail('expected a JSON Web Key Set, {"keys": [...]}')
  for (const [i, jwk] of members.entries()) {
    if (typeof jwk !== 'object' || jwk === null) return fail(`keys[${i}] is not a JSON object`)
    // Private or secret key material here means the file is the wrong one, and is now exposed.
    if ('d' in jwk || (jwk as { kty?: unknown }).kty === 'oct') {
      return fail(`keys[${i}] holds private or secret key material; a JWKS for verification holds public keys only`)
    }
  }
  try {
    return { ok: true, keys: createLocalJWKSet(json as JSONWebKeySet), digest: createHash('sha256').update(bytes).digest('hex') }
  } catch (err) {
    return fail((err as Error).message)
  }
}

/** The identity a verified payload names, or why it names none. */
function identityFrom (payload: JWTPayload, claims: JwtClaimNames): Identity | string {
  const name = claimLabel(payload, claims.name, 'identity name')
  if (!name.ok) return name.problem
  let tenant: string | null = null
  if (claims.tenant !== undefined) {
    // A tenant-less identity may be an operator to the policy: a token that should name a tenant
    // and does not must not become one.
    const found = claimLabel(payload, claims.tenant, 'tenant')
    if (!found.ok) return found.problem
    tenant = found.value
  }
  let groups: readonly string[] = []
  if (claims.groups !== undefined) {
    const found = claimGroups(lookupClaim(payload, claims.groups))
    if (typeof found === 'string') return `claim ${JSON.stringify(claims.groups)} (groups) ${found}`
    groups = found
  }
  return Object.freeze({ name: name.value, tenant, groups: Object.freeze(groups), method: 'jwt' })
}

function claimLabel (payload: JWTPayload, claim: string, role: string): { ok: true, value: string } | { ok: false, problem: string } {
  const value = lookupClaim(payload, claim)
  const problem = value === undefined ? 'is missing' : claimLabelProblem(value)
  return problem === null ? { ok: true, value: value as string } : { ok: false, problem: `claim ${JSON.stringify(claim)} (${role}) ${problem}` }
}

// Same rule as configured names: what policies match on and the audit log prints, nothing invisible.
function claimLabelProblem (value: unknown): string | null {
  if (typeof value !== 'string') return `is ${value === null ? 'null' : Array.isArray(value) ? 'an array' : `a ${typeof value}`}, not a string`
  if (value.length > 1024) return 'is longer than 1024 characters'
  return labelProblem(value)
}

function claimGroups (value: unknown): readonly string[] | string {
  if (value === undefined || value === null) return []
  const list = typeof value === 'string' ? value.split(/[ \t]+/).filter((g) => g !== '') : value
  if (!Array.isArray(list)) return `is a ${typeof value}, not an array of strings or a space-separated string`
  const groups: string[] = []
  for (const [i, g] of list.entries()) {
    const problem = claimLabelProblem(g)
    if (problem !== null) return `[${i}] ${problem}`
    if (!groups.includes(g as string)) groups.push(g as string)
  }
  return groups
}

/**
 * A claim by name: the top-level key when there is one (namespaced claims such as
 * `https://example.com/groups` contain dots), else the dotted path through nested objects.
 */
function lookupClaim (payload: JWTPayload, claim: string): unknown {
  if (Object.hasOwn(payload, claim)) return payload[claim]
  let node: unknown = payload
  for (const part of claim.split('.')) {
    if (typeof node !== 'object' || node === null || Array.isArray(node) || !Object.hasOwn(node, part)) return undefined
    node = (node as Record<string, unknown>)[part]
  }
  return node
}

function rejected (reason: string): AuthOutcome {
  return { kind: 'rejected', reason: `jwt: ${reason}` }
}

/** A log line for a failed verification: which check failed, with the token's kid and alg. */
function describeFailure (err: unknown, token: string, keysLabel: string): string {
  let header = ''
  try {
    const h = decodeProtectedHeader(token)
    header = ` (alg ${quote(h.alg)}, kid ${quote(h.kid)})`
  } catch {
    header = ' (unreadable header)'
  }
  if (err instanceof errors.JOSEAlgNotAllowed) return `algorithm not allowed${header}`
  if (err instanceof errors.JWKSNoMatchingKey) return `no key in the ${keysLabel} matches the token${header}`
  if (err instanceof errors.JWKSMultipleMatchingKeys) return `several keys in the ${keysLabel} match and none verifies${header}`
  if (err instanceof errors.JWKSTimeout) return `${keysLabel} did not answer in time${header}`
  if (err instanceof errors.JWSSignatureVerificationFailed) return `signature verification failed${header}`
  if (err instanceof errors.JWTExpired) return `token expired: ${err.message}${header}`
  if (err instanceof errors.JWTClaimValidationFailed) return `claim check failed: ${err.message}${header}`
  if (err instanceof errors.JOSEError) return `${err.code}: ${err.message}${header}`
  // fetch() failures (refused, DNS, TLS) arrive as TypeError('fetch failed') with the reason as cause.
  const cause = (err as { cause?: { code?: unknown, message?: unknown } } | null)?.cause
  const detail = typeof cause?.code === 'string' ? cause.code : typeof cause?.message === 'string' ? cause.message : (err as Error)?.message
  if (err instanceof TypeError && (err.message === 'fetch failed' || cause !== undefined)) return `${keysLabel} unreachable (${detail})${header}`
  return `verification failed: ${String(detail)}${header}`
}

// Header values come from the client: quoted and cut short so they cannot forge log lines.
function quote (value: unknown): string {
  if (value === undefined) return 'none'
  const text = JSON.stringify(value) ?? String(value)
  return text.length > 80 ? `${text.slice(0, 77)}...` : text
}

function stringOrList (value: unknown, where: string, what: string): string | readonly string[] {
  if (typeof value === 'string' && value !== '') return value
  if (Array.isArray(value) && value.length > 0 && value.every((v) => typeof v === 'string' && v !== '')) return Object.freeze([...value as string[]])
  throw new ConfigError(`${where}: required, a non-empty string or list of strings (${what})`)
}

function parseAlgorithms (value: unknown, where: string): readonly string[] {
  if (!Array.isArray(value) || value.length === 0) {
    throw new ConfigError(`${where}: required, the list of accepted signing algorithms, e.g. [RS256] (one or more of ${ASYMMETRIC_ALGORITHMS.join(', ')})`)
  }
  const algorithms: string[] = []
  for (const [i, alg] of (value as unknown[]).entries()) {
    const at = `${where}[${i}]`
    if (typeof alg !== 'string') throw new ConfigError(`${at}: expected an algorithm name`)
    if (alg.toLowerCase() === 'none') throw new ConfigError(`${at}: "none" means unsigned tokens, which anyone can write`)
    if (/^HS\d+$/i.test(alg)) {
      throw new ConfigError(
        `${at}: ${alg} is a shared-secret algorithm; with keys from a JWKS of public keys it would accept tokens ` +
        `signed by anyone who has the public key. Use an asymmetric algorithm (${ASYMMETRIC_ALGORITHMS.join(', ')})`
      )
    }
    if (!ASYMMETRIC_ALGORITHMS.includes(alg)) throw new ConfigError(`${at}: ${JSON.stringify(alg)} is not one of ${ASYMMETRIC_ALGORITHMS.join(', ')}`)
    if (!algorithms.includes(alg)) algorithms.push(alg)
  }
  return Object.freeze(algorithms)
}

function parseClaimNames (value: unknown, where: string): JwtClaimNames {
  if (value === undefined || value === null) return Object.freeze({ name: 'sub' })
  const obj = objectWithKeys(value, where, ['name', 'tenant', 'groups'])
  const claimName = (v: unknown, key: string): string => {
    if (typeof v !== 'string' || v === '' || v.split('.').includes('')) {
      throw new ConfigError(`${where}.${key}: expected a claim name or dotted path, e.g. realm_access.roles`)
    }
    return v
  }
  const claims: { -readonly [K in keyof JwtClaimNames]: JwtClaimNames[K] } = {
    name: obj.name === undefined || obj.name === null ? 'sub' : claimName(obj.name, 'name')
  }
  if (obj.tenant !== undefined && obj.tenant !== null) claims.tenant = claimName(obj.tenant, 'tenant')
  if (obj.groups !== undefined && obj.groups !== null) claims.groups = claimName(obj.groups, 'groups')
  return Object.freeze(claims)
}

function parseJwksUrl (value: unknown, where: string): string {
  let url: URL
  try {
    url = new URL(typeof value === 'string' ? value : '')
  } catch {
    throw new ConfigError(`${where}: expected an http(s) URL`)
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new ConfigError(`${where}: expected an http(s) URL, not ${url.protocol}`)
  // Whoever answers this URL decides which tokens are valid: plain HTTP only on this machine.
  const host = url.hostname.replace(/^\[|\]$/g, '')
  if (url.protocol === 'http:' && !(host === 'localhost' || host === '::1' || /^127\./.test(host))) {
    throw new ConfigError(`${where}: a JWKS URL off this machine must be https (anyone on the path could serve keys)`)
  }
  // fetch() refuses URLs with credentials; say so now rather than on the first request.
  if (url.username !== '' || url.password !== '') throw new ConfigError(`${where}: credentials in the URL are not supported`)
  return url.href
}

function integer (value: unknown, where: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(`${where}: expected a whole number from ${min} to ${max}`)
  }
  return value
}
