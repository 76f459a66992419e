import { resolve } from 'node:path'
import { ConfigError } from '../../core/errors.ts'
import { createReloadingStore, type ReloadingStore, type ReloadingStoreOptions } from '../reloading-store.ts'
import { opaBundleFromFiles, opaSourceFiles } from './opa-bundle.ts'
import { createOpaEngine, type OpaEngine } from './opa-engine.ts'
import type { OpaSettings, OpaSource } from './opa-settings.ts'

export interface OpaStoreOptions extends ReloadingStoreOptions {
  /** The operational log, for evaluation errors. */
  readonly onError?: (message: string) => void
}

/**
 * Loads an OPA policy (bundle, or wasm and data) and swaps it when its files change or on
 * `reload()` (SIGHUP). The first load throws a ConfigError; a bundle that fails later (a
 * half-copied file, a missing entrypoint, a module that does not load) is reported and the policy
 * in force stays.
 *
 * @example
 * const store = createOpaStore(settings, { onReload: (r) => log(r), onError: log })
 * store.current().decide(input)
 */
export function createOpaStore (settings: OpaSettings, options: OpaStoreOptions = {}): ReloadingStore<OpaEngine> {
  // Absolute now, so a later chdir cannot make the store read other files.
  const source: OpaSource = settings.source.kind === 'bundle'
    ? { kind: 'bundle', file: resolve(settings.source.file) }
    : { kind: 'wasm', file: resolve(settings.source.file), data: settings.source.data === null ? null : resolve(settings.source.data) }
  const engineOptions = options.onError === undefined
    ? { entrypoint: settings.entrypoint, maxMemory: settings.maxMemory }
    : { entrypoint: settings.entrypoint, maxMemory: settings.maxMemory, onError: options.onError }
  return createReloadingStore({
    files: opaSourceFiles(source),
    load: (contents) => createOpaEngine(opaBundleFromFiles(source, contents), engineOptions),
    unreadable: (file, code) => new ConfigError(`${file}: cannot read OPA policy file (${code})`)
  }, options)
}
