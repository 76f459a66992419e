import { ConfigError } from '../../core/errors.ts'
import { objectWithKeys } from '../../identify/fixed-identity.ts'

/** Which engines decide: the built-in rules, an OPA policy, or both (both must allow). */
export type PolicyEngineKind = 'builtin' | 'opa' | 'both'
export const POLICY_ENGINE_KINDS: readonly PolicyEngineKind[] = ['builtin', 'opa', 'both']

/** The `opa` section as written (config file or flags), before defaults. */
export interface OpaSettingsInput {
  /** A bundle from `opa build -t wasm` (`.tar.gz` with policy.wasm and data.json). */
  bundle?: string
  /** A bare compiled policy instead of a bundle. */
  wasm?: string
  /** JSON (or YAML) data for a bare `wasm`: the policy's `data`. */
  data?: string
  /** The entrypoint evaluated per request (`docker/authz/allow` or `data.docker.authz.allow`). */
  entrypoint?: string
  /** Cap on the policy's WebAssembly memory, in bytes. */
  maxMemory?: number
}

/** Where the compiled policy comes from. */
export type OpaSource =
  | { readonly kind: 'bundle', readonly file: string }
  | { readonly kind: 'wasm', readonly file: string, readonly data: string | null }

/** The validated `opa` settings. */
export interface OpaSettings {
  readonly source: OpaSource
  /** Slash form, `docker/authz/allow`. */
  readonly entrypoint: string
  readonly maxMemory: number
}

/** opa-docker-authz's default (`-allowPath data.docker.authz.allow`), so its policies work unchanged. */
export const DEFAULT_OPA_ENTRYPOINT = 'docker/authz/allow'
export const DEFAULT_OPA_MAX_MEMORY = 256 * 1024 * 1024
const MIN_MEMORY = 1024 * 1024
const MAX_MEMORY = 4 * 1024 * 1024 * 1024
const KEYS = ['bundle', 'wasm', 'data', 'entrypoint', 'maxMemory'] as const

/**
 * Reads the `opa` mapping of a config file: known keys only, each of the right type. Paths are
 * returned as written; the combination is checked by resolveOpaSettings.
 *
 * @example parseOpaSettings({ bundle: 'authz.tar.gz', entrypoint: 'docker/authz/allow' }, 'opa')
 */
export function parseOpaSettings (raw: unknown, where: string): OpaSettingsInput {
  const obj = objectWithKeys(raw, where, KEYS)
  const out: OpaSettingsInput = {}
  for (const key of ['bundle', 'wasm', 'data', 'entrypoint'] as const) {
    const v = obj[key]
    if (v === undefined) continue
    if (typeof v !== 'string' || v === '') throw new ConfigError(`${where}.${key}: expected a non-empty string`)
    out[key] = v
  }
  if (obj.maxMemory !== undefined) {
    const v = obj.maxMemory
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < MIN_MEMORY || v > MAX_MEMORY) {
      throw new ConfigError(`${where}.maxMemory: expected a number of bytes from ${MIN_MEMORY} (1 MiB) to ${MAX_MEMORY} (4 GiB)`)
    }
    out.maxMemory = v
  }
  return out
}

/**
 * Checks the `opa` settings as a whole and applies defaults: exactly one of `bundle` and
 * `wasm`, `data` only beside `wasm` (a bundle carries its own), a well-formed entrypoint.
 *
 * @example resolveOpaSettings({ wasm: 'p.wasm', entrypoint: 'data.docker.authz.allow' }, 'opa').entrypoint // 'docker/authz/allow'
 */
export function resolveOpaSettings (input: OpaSettingsInput, where: string): OpaSettings {
  if ((input.bundle === undefined) === (input.wasm === undefined)) {
    throw new ConfigError(`${where}: set exactly one of bundle (a .tar.gz from "opa build -t wasm") and wasm (a bare policy.wasm)`)
  }
  if (input.bundle !== undefined && input.data !== undefined) {
    throw new ConfigError(`${where}.data: a bundle carries its own data.json; data goes only with wasm`)
  }
  const source: OpaSource = input.bundle !== undefined
    ? { kind: 'bundle', file: input.bundle }
    : { kind: 'wasm', file: input.wasm!, data: input.data ?? null }
  return Object.freeze({
    source: Object.freeze(source),
    entrypoint: normalizeEntrypoint(input.entrypoint ?? DEFAULT_OPA_ENTRYPOINT, `${where}.entrypoint`),
    maxMemory: input.maxMemory ?? DEFAULT_OPA_MAX_MEMORY
  })
}

/**
 * An entrypoint in the slash form `opa build -e` and the wasm module use. The rule-path forms
 * opa-docker-authz accepts for `-allowPath` (`data.docker.authz.allow`, `/docker/authz/allow`)
 * are rewritten to it.
 *
 * @example normalizeEntrypoint('data.docker.authz.allow', 'opa.entrypoint') // 'docker/authz/allow'
 */
export function normalizeEntrypoint (raw: string, where: string): string {
  let ep = raw.trim()
  if (ep.startsWith('data.')) ep = ep.slice('data.'.length).replaceAll('.', '/')
  else if (ep.startsWith('/')) ep = ep.slice(1)
  if (!/^[^\s/]+(\/[^\s/]+)*$/.test(ep)) {
    throw new ConfigError(`${where}: ${JSON.stringify(raw)} is not an entrypoint (write it as in "opa build -e", e.g. docker/authz/allow)`)
  }
  return ep
}
