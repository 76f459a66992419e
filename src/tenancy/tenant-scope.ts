import { TenancyDeniedError } from '../core/errors.ts'
import type { Identity } from '../identify/identity.ts'
import { inSet, type TenancySettings } from './tenancy-settings.ts'

/** Whom a request acts for on a multi-tenant engine: a tenant, scoped to what it owns, or an operator, not scoped. */
export type TenantScope = { readonly kind: 'operator' } | { readonly kind: 'tenant', readonly tenant: string }

const OPERATOR: TenantScope = Object.freeze({ kind: 'operator' })

/**
 * The scope of an identity. Operators are named in the settings (by name or group); everyone else
 * needs a tenant, and a caller with neither is refused: on a shared engine an unscoped caller
 * would see and touch every tenant's objects.
 *
 * @example scopeOf({ name: 'ci-7', tenant: 'team-a', groups: [], method: 'token' }, settings) // { kind: 'tenant', tenant: 'team-a' }
 */
export function scopeOf (identity: Identity, settings: TenancySettings): TenantScope {
  if (inSet(identity, settings.operators)) return OPERATOR
  if (identity.tenant === null) {
    throw new TenancyDeniedError(`${identity.name} acts for no tenant: on this multi-tenant engine every caller needs a tenant or must be an operator`)
  }
  return Object.freeze({ kind: 'tenant', tenant: identity.tenant })
}
