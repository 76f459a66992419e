import { isAbsolute, resolve } from 'node:path'
import { ConfigError } from '../core/errors.ts'
import { objectWithKeys } from '../identify/fixed-identity.ts'
import type { AuditDestination } from './audit-sink.ts'

/** The `audit` section as written (config file or flags), before defaults. */
export interface AuditInput {
  /** `stdout`, `none`, or a file path. */
  destination?: string
  failClosed?: boolean
}

/** Where audit records go and what happens when they cannot be written. */
export interface AuditConfig {
  /** null: audit is off (`destination: none`). */
  readonly destination: AuditDestination | null
  readonly failClosed: boolean
}

export const DEFAULT_AUDIT_DESTINATION = 'stdout'

const KEYS = ['destination', 'failClosed']

/**
 * Reads the config file's `audit` mapping; errors name the key under `where`.
 *
 * @example parseAuditSettings({ destination: '/var/log/dockward/audit.jsonl', failClosed: true }, 'audit')
 */
export function parseAuditSettings (raw: unknown, where: string): AuditInput {
  const obj = objectWithKeys(raw, where, KEYS)
  const out: AuditInput = {}
  if (obj.destination !== undefined) {
    if (typeof obj.destination !== 'string' || obj.destination === '') throw new ConfigError(`${where}.destination: expected stdout, none or a file path`)
    out.destination = obj.destination
  }
  if (obj.failClosed !== undefined) {
    if (typeof obj.failClosed !== 'boolean') throw new ConfigError(`${where}.failClosed: expected true or false`)
    out.failClosed = obj.failClosed
  }
  return out
}

/**
 * Flags over the file over defaults: records go to stdout unless told otherwise. A relative file
 * path is taken from the working directory (the config file reader has already made its own
 * paths absolute). Fail-closed without a destination would refuse every request, so it is an error.
 *
 * @example resolveAudit({}, { destination: 'none' }) // { destination: null, failClosed: false }
 */
export function resolveAudit (file: AuditInput, flags: AuditInput): AuditConfig {
  const text = flags.destination ?? file.destination ?? DEFAULT_AUDIT_DESTINATION
  const failClosed = flags.failClosed ?? file.failClosed ?? false
  let destination: AuditDestination | null
  if (text === 'none') destination = null
  else if (text === 'stdout' || text === '-') destination = { kind: 'stdout' }
  else destination = { kind: 'file', path: isAbsolute(text) ? text : resolve(text) }
  if (destination === null && failClosed) throw new ConfigError('audit.failClosed needs an audit destination (stdout or a file), not none')
  return Object.freeze({ destination, failClosed })
}
