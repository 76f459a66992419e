import { ConfigError } from '../core/errors.ts'
import { objectWithKeys } from '../identify/fixed-identity.ts'
import { authMethods, type AuthMethod } from '../identify/identity.ts'
import { labelProblem } from '../identify/label.ts'

/**
 * The `tenancy` section: one engine shared by many tenants. When it is set, every caller must
 * act for a tenant (identity.tenant) or be an operator, and tenants see and touch only what they
 * own (see README, "Multi-tenancy").
 */
export interface TenancySettings {
  /** The label that records an object's owner; dockward sets it and no client may. */
  readonly label: string
  /** Identities that are not scoped to a tenant: they see everything, like the engine's own socket. */
  readonly operators: IdentitySet
  /** Identities that see `Config.Env` in container inspect with the values replaced (names kept). */
  readonly redactEnv: IdentitySet
  /**
   * Event types whose events about objects nobody owns (shared images and networks, the daemon,
   * plugins, operators' containers) every tenant sees. Default none.
   */
  readonly sharedEvents: readonly EventType[]
  /**
   * Whether tenants may build images. Off by default: a build reads any image on the engine by
   * name (`FROM`, `COPY --from`), and the build cache, BuildKit cache mounts and the classic
   * builder's intermediate images are shared by everyone who builds.
   */
  readonly builds: boolean
}

/** The event types of the Engine API (`Type` of `/events`). */
export const EVENT_TYPES = ['builder', 'config', 'container', 'daemon', 'image', 'network', 'node', 'plugin', 'secret', 'service', 'volume'] as const
export type EventType = typeof EVENT_TYPES[number]

/**
 * Identities by name or group, proved by one of `methods` (empty: any). A name alone is only as
 * good as the weakest method that can carry it: a JWT whose subject an IdP lets users choose, or
 * a certificate CN from a CA another team shares, could claim an operator's name.
 */
export interface IdentitySet { readonly names: readonly string[], readonly groups: readonly string[], readonly methods: readonly AuthMethod[] }

/**
 * Whether an identity is in the set.
 *
 * @example inSet({ name: 'ci', groups: ['dev'], method: 'mtls' }, { names: [], groups: ['dev'], methods: ['mtls'] }) // true
 */
export function inSet (identity: { readonly name: string, readonly groups: readonly string[], readonly method: AuthMethod }, set: IdentitySet): boolean {
  if (set.methods.length > 0 && !set.methods.includes(identity.method)) return false
  return set.names.includes(identity.name) || identity.groups.some((g) => set.groups.includes(g))
}

/**
 * The start-up warning for operators named without `methods` while callers can prove a name in
 * more than one way: any of those methods could then carry an operator's name (a JWT subject an
 * IdP lets users choose, a CN from a CA another team shares). Null when there is nothing to say.
 *
 * @example operatorsWarning(settings, new Set(['jwt', 'token'])) // 'tenancy.operators names identities … set tenancy.operators.methods …'
 */
export function operatorsWarning (settings: TenancySettings, methods: ReadonlySet<AuthMethod>): string | null {
  const ops = settings.operators
  if (ops.methods.length > 0 || (ops.names.length === 0 && ops.groups.length === 0) || methods.size < 2) return null
  return `tenancy.operators names identities without methods, and callers here prove names by ${[...methods].sort().join(', ')}: ` +
    'any of these that can carry an operator\'s name or group makes an operator; set tenancy.operators.methods to the one that proves it'
}

/** Reverse-DNS, as the engine's documentation asks of label keys that tools set. */
export const DEFAULT_OWNER_LABEL = 'io.dockward.tenant'

/**
 * Reads `{ label?, operators?: { names?, groups? } }`.
 *
 * @example parseTenancySettings({ operators: { groups: ['platform'] } }, 'tenancy')
 * // { label: 'io.dockward.tenant', operators: { names: [], groups: ['platform'] } }
 */
export function parseTenancySettings (raw: unknown, where: string): TenancySettings {
  const obj = objectWithKeys(raw ?? {}, where, ['label', 'operators', 'redactEnv', 'sharedEvents', 'builds'])
  if (obj.builds !== undefined && typeof obj.builds !== 'boolean') throw new ConfigError(`${where}.builds: expected true or false`)
  const label = obj.label === undefined ? DEFAULT_OWNER_LABEL : ownerLabel(obj.label, `${where}.label`)
  const shared = names(obj.sharedEvents, `${where}.sharedEvents`)
  shared.forEach((t, i) => {
    if (!(EVENT_TYPES as readonly string[]).includes(t)) throw new ConfigError(`${where}.sharedEvents[${i}]: expected one of ${EVENT_TYPES.join(', ')}`)
  })
  return Object.freeze({
    label,
    operators: identitySet(obj.operators, `${where}.operators`),
    redactEnv: identitySet(obj.redactEnv, `${where}.redactEnv`),
    sharedEvents: shared as readonly EventType[],
    builds: obj.builds === true
  })
}

function identitySet (raw: unknown, where: string): IdentitySet {
  const obj = objectWithKeys(raw ?? {}, where, ['names', 'groups', 'methods'])
  const methods = names(obj.methods, `${where}.methods`)
  methods.forEach((m, i) => {
    if (!(authMethods as readonly string[]).includes(m)) throw new ConfigError(`${where}.methods[${i}]: expected one of ${authMethods.join(', ')}`)
  })
  return Object.freeze({ names: names(obj.names, `${where}.names`), groups: names(obj.groups, `${where}.groups`), methods: methods as readonly AuthMethod[] })
}

function ownerLabel (value: unknown, where: string): string {
  // The key goes into `label=KEY=VALUE` engine filters: no '=' and nothing a filter would split on.
  if (typeof value !== 'string' || !/^[a-z0-9]+([.-][a-z0-9]+)*$/.test(value)) {
    throw new ConfigError(`${where}: expected a lower-case label key like ${DEFAULT_OWNER_LABEL}`)
  }
  return value
}

function names (value: unknown, where: string): readonly string[] {
  if (value === undefined || value === null) return Object.freeze([])
  if (!Array.isArray(value)) throw new ConfigError(`${where}: expected a list of names`)
  return Object.freeze(value.map((v: unknown, i) => {
    if (typeof v !== 'string') throw new ConfigError(`${where}[${i}]: expected a string`)
    const problem = labelProblem(v)
    if (problem !== null) throw new ConfigError(`${where}[${i}]: ${JSON.stringify(v)} ${problem}`)
    return v
  }))
}
