import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'
import { parseArgs } from 'node:util'
import { ConfigError } from '../core/errors.ts'
import { AMBIGUOUS, bearerToken, looksLikeJwt, type AuthOutcome, type Authenticator } from './authenticator.ts'
import { objectWithKeys, parseIdentityFields } from './fixed-identity.ts'
import type { Identity } from './identity.ts'

/**
 * Static API tokens for small setups: `Authorization: Bearer dwt_…`. The config holds only each
 * token's SHA-256, so a leaked config file (or a backup of it) lets nobody in. The tokens are 256
 * random bits, so a plain hash is enough; a slow password hash would only slow every request down.
 */

/** One configured token: who it identifies, and the SHA-256 of the token as 64 lower-case hex digits. */
export interface TokenEntry {
  readonly name: string
  readonly tenant: string | null
  readonly groups: readonly string[]
  readonly sha256: string
}

const TOKEN_PREFIX = 'dwt_'
const HOW_TO_HASH = 'printf %s "$TOKEN" | sha256sum'
// The SHA-256 of the empty string: a bearer with nothing after it must never identify anyone.
const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'

/**
 * Reads the token list. Errors name the key and never repeat the value, which may be a secret
 * pasted into the wrong place.
 *
 * @example parseTokenSettings([{ name: 'ci', tenant: 'team-a', sha256: 'ab12…' }], 'identity.tokens')
 */
export function parseTokenSettings (raw: unknown, where: string): TokenEntry[] {
  if (raw === undefined || raw === null) return []
  if (!Array.isArray(raw)) throw new ConfigError(`${where}: expected a list of tokens (name, tenant, groups, sha256)`)
  const names = new Set<string>()
  const hashes = new Set<string>()
  return raw.map((item: unknown, i) => {
    const at = `${where}[${i}]`
    if (typeof item === 'object' && item !== null && 'token' in item) {
      throw new ConfigError(`${at}.token: never put a token itself in the config; store its hash as sha256 (${HOW_TO_HASH})`)
    }
    const obj = objectWithKeys(item, at, ['name', 'tenant', 'groups', 'sha256'])
    const fields = parseIdentityFields(obj, at)
    const sha256 = parseSha256(obj.sha256, `${at}.sha256`)
    if (names.has(fields.name)) throw new ConfigError(`${at}.name: ${JSON.stringify(fields.name)} is listed twice`)
    // Two entries with one hash would make the identity depend on list order.
    if (hashes.has(sha256)) throw new ConfigError(`${at}.sha256: the same hash is listed twice`)
    names.add(fields.name)
    hashes.add(sha256)
    return Object.freeze({ ...fields, sha256 })
  })
}

/**
 * A token hash from the config: 64 lower-case hex digits, with a pointed error for the usual
 * mistakes (a token pasted instead of its hash, sha256sum's trailing "  -").
 *
 * @example parseSha256('5e88…(64 hex)', 'admin.tokenSha256')
 */
export function parseSha256 (value: unknown, where: string): string {
  const expected = `expected the SHA-256 of the token as 64 lower-case hex digits; hash it with: ${HOW_TO_HASH}`
  if (typeof value !== 'string' || value === '') throw new ConfigError(`${where}: ${expected}`)
  if (/^[0-9a-f]{64}$/.test(value)) {
    if (value === EMPTY_SHA256) throw new ConfigError(`${where}: this is the hash of an empty token`)
    return value
  }
  if (/^[0-9a-fA-F]{64}$/.test(value)) throw new ConfigError(`${where}: write the hash in lower case`)
  if (/^[0-9a-f]{64}\s+-$/.test(value)) throw new ConfigError(`${where}: drop the "  -" that sha256sum prints after the hash`)
  if (value.startsWith(TOKEN_PREFIX) || !/^[0-9a-fA-F]*$/.test(value)) {
    throw new ConfigError(`${where}: this looks like a token, not its hash; never put a token in the config. ${expected}`)
  }
  throw new ConfigError(`${where}: ${expected}`)
}

/**
 * Index of the stored digest equal to `digest`, or -1. Every entry is compared, with no early
 * exit, so the time taken says how many tokens there are (not secret) but not which one matched.
 * `equal` is there for tests to count the comparisons.
 *
 * @example matchTokenDigest([hashA, hashB], sha256(presented)) // 1 when the token is B's
 */
export function matchTokenDigest (
  stored: readonly Buffer[],
  digest: Buffer,
  equal: (a: Buffer, b: Buffer) => boolean = timingSafeEqual
): number {
  let found = -1
  for (let i = 0; i < stored.length; i++) {
    const same = equal(stored[i] as Buffer, digest)
    found = same ? i : found
  }
  return found
}

/**
 * The `token` authenticator. A JWT-shaped bearer is left to the JWT authenticator (`absent`);
 * any other bearer must be one of `entries`.
 *
 * @example createTokenAuthenticator(parseTokenSettings(config.tokens, 'identity.tokens')).authenticate(req)
 */
export function createTokenAuthenticator (entries: readonly TokenEntry[]): Authenticator {
  const digests = entries.map((e) => Buffer.from(e.sha256, 'hex'))
  const outcomes: AuthOutcome[] = entries.map((e) => {
    const identity: Identity = Object.freeze({ name: e.name, tenant: e.tenant, groups: e.groups, method: 'token' })
    return Object.freeze({ kind: 'identified', identity })
  })
  const absent: AuthOutcome = Object.freeze({ kind: 'absent' })
  return Object.freeze({
    method: 'token',
    authenticate (req) {
      const token = bearerToken(req)
      if (token === null) return absent
      if (token === AMBIGUOUS) return { kind: 'rejected', reason: 'more than one Authorization header' }
      if (token === '') return { kind: 'rejected', reason: 'empty bearer token' }
      if (looksLikeJwt(token)) return absent
      const found = matchTokenDigest(digests, createHash('sha256').update(token, 'utf8').digest())
      return outcomes[found] ?? { kind: 'rejected', reason: 'unknown token' }
    }
  } satisfies Authenticator)
}

/**
 * A new token: 32 random bytes, base64url, prefixed `dwt_` so it is recognisable in a leak scan.
 *
 * @example generateToken() // 'dwt_q3J…' (47 characters)
 */
export function generateToken (): string {
  return TOKEN_PREFIX + randomBytes(32).toString('base64url')
}

/**
 * The SHA-256 of a token as the config stores it; the same as `printf %s "$TOKEN" | sha256sum`.
 *
 * @example hashToken('dwt_abc') // 64 lower-case hex digits
 */
export function hashToken (token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex')
}

export const TOKEN_USAGE = `Usage: dockward token new [--name NAME] [--tenant TENANT] [--group GROUP]...

Prints a new API token and the config entry for it. dockward stores only the token's
SHA-256, so the token is shown this once: hand it to its user now.

Options:
  --name NAME      Identity name policies and the audit log see (default: token-<hash prefix>)
  --tenant TENANT  Tenant the token acts for (default: none)
  --group GROUP    A group, repeatable

Exit status: 0 success, 2 wrong usage.
`

/**
 * `dockward token …`. Returns the exit status.
 *
 * @example tokenCommand(['new', '--name', 'ci', '--tenant', 'team-a'], process) // prints the token and its entry, returns 0
 */
export function tokenCommand (
  argv: readonly string[],
  io: { readonly stdout: { write: (text: string) => unknown }, readonly stderr: { write: (text: string) => unknown } }
): number {
  const [command, ...rest] = argv
  if (command === '--help' || command === '-h' || command === 'help') {
    io.stdout.write(TOKEN_USAGE)
    return 0
  }
  if (command !== 'new') {
    io.stderr.write(`dockward token: ${command === undefined ? 'missing command' : `unknown command ${JSON.stringify(command)}`}\n\n${TOKEN_USAGE}`)
    return 2
  }
  let values: { name?: string | undefined, tenant?: string | undefined, group?: string[] | undefined, help?: boolean | undefined }
  try {
    values = parseArgs({
      args: [...rest],
      options: { name: { type: 'string' }, tenant: { type: 'string' }, group: { type: 'string', multiple: true }, help: { type: 'boolean', short: 'h' } },
      strict: true,
      allowPositionals: false
    }).values
  } catch (err) {
    io.stderr.write(`dockward token new: ${(err as Error).message}\n\n${TOKEN_USAGE}`)
    return 2
  }
  if (values.help === true) {
    io.stdout.write(TOKEN_USAGE)
    return 0
  }
  const token = generateToken()
  const sha256 = hashToken(token)
  let fields
  try {
    // The same checks as the config file, so the printed entry is one the config accepts.
    fields = parseIdentityFields({ name: values.name ?? `token-${sha256.slice(0, 8)}`, tenant: values.tenant, groups: values.group }, 'token')
  } catch (err) {
    io.stderr.write(`dockward token new: ${(err as Error).message.replace(/^token\./, '--')}\n`)
    return 2
  }
  const lines = [
    token,
    '',
    '# The token above is shown only this once; dockward keeps only its hash. Config entry:',
    `- name: ${JSON.stringify(fields.name)}`
  ]
  if (fields.tenant !== null) lines.push(`  tenant: ${JSON.stringify(fields.tenant)}`)
  if (fields.groups.length > 0) lines.push(`  groups: [${fields.groups.map((g) => JSON.stringify(g)).join(', ')}]`)
  lines.push(`  sha256: ${sha256}`)
  io.stdout.write(lines.join('\n') + '\n')
  return 0
}
