import { ConfigError } from '../core/errors.ts'
import type { AuthOutcome, Authenticator } from './authenticator.ts'
import { labelProblem } from './label.ts'
import type { Identity } from './identity.ts'

/**
 * Per-tenant sockets: a listener bound to one identity, so every request on it is that caller's.
 * Nothing in the request is checked; the socket's file mode and owner/group are what protect it,
 * so give each tenant its own socket that only that tenant's user or group can open (mode 0600 or
 * 0660 with a group of its own). A socket anyone can connect to makes its identity anyone's.
 */

/** The identity part of a config entry, before the method is known. */
export interface IdentityFields {
  readonly name: string
  readonly tenant: string | null
  readonly groups: readonly string[]
}

/**
 * Reads `{ name, tenant?, groups? }` for a listener's fixed identity; the method is `socket`.
 *
 * @example parseFixedIdentity({ name: 'team-a-ci', tenant: 'team-a', groups: ['ci'] }, 'listen[1].identity')
 */
export function parseFixedIdentity (raw: unknown, where: string): Identity {
  const obj = objectWithKeys(raw, where, ['name', 'tenant', 'groups'])
  const fields = parseIdentityFields(obj, where)
  return Object.freeze({ ...fields, method: 'socket' })
}

/**
 * An authenticator that identifies every request as `identity`.
 *
 * @example createFixedIdentityAuthenticator(parseFixedIdentity({ name: 'team-a' }, 'identity')).authenticate(req) // identified
 */
export function createFixedIdentityAuthenticator (identity: Identity): Authenticator {
  // One frozen outcome for every request: nothing about the request can change it.
  const outcome: AuthOutcome = Object.freeze({ kind: 'identified', identity })
  return Object.freeze({
    method: identity.method,
    authenticate: () => outcome
  })
}

/**
 * Checks that `raw` is a mapping with only `allowed` keys; a misspelt key is an error, never ignored.
 *
 * @example objectWithKeys({ name: 'a' }, 'identity', ['name', 'tenant', 'groups'])
 */
export function objectWithKeys (raw: unknown, where: string, allowed: readonly string[]): Record<string, unknown> {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new ConfigError(`${where}: expected a mapping with ${allowed.join(', ')}`)
  }
  for (const key of Object.keys(raw)) {
    if (!allowed.includes(key)) throw new ConfigError(`${where}.${key}: unknown setting (${allowed.join(', ')})`)
  }
  return raw as Record<string, unknown>
}

/**
 * Reads name (required), tenant and groups from an already key-checked mapping, frozen.
 *
 * @example parseIdentityFields({ name: 'ci', groups: ['dev'] }, 'tokens[0]') // { name: 'ci', tenant: null, groups: ['dev'] }
 */
export function parseIdentityFields (obj: Record<string, unknown>, where: string): IdentityFields {
  const name = label(obj.name, `${where}.name`)
  const tenant = obj.tenant === undefined || obj.tenant === null ? null : label(obj.tenant, `${where}.tenant`)
  let groups: readonly string[] = []
  if (obj.groups !== undefined && obj.groups !== null) {
    if (!Array.isArray(obj.groups)) throw new ConfigError(`${where}.groups: expected a list of group names`)
    const list = obj.groups.map((g: unknown, i) => label(g, `${where}.groups[${i}]`))
    const dup = list.find((g, i) => list.indexOf(g) !== i)
    if (dup !== undefined) throw new ConfigError(`${where}.groups: ${JSON.stringify(dup)} is listed twice`)
    groups = list
  }
  return Object.freeze({ name, tenant, groups: Object.freeze(groups) })
}

/** A name, tenant or group: what policies match on and the audit log prints, so nothing invisible. */
function label (value: unknown, where: string): string {
  if (typeof value !== 'string' || value === '') throw new ConfigError(`${where}: expected a non-empty string`)
  const problem = labelProblem(value)
  if (problem !== null) throw new ConfigError(`${where}: ${JSON.stringify(value)} ${problem}`)
  return value
}
