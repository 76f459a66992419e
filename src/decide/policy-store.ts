import { resolve } from 'node:path'
import { ConfigError } from '../core/errors.ts'
import type { CompiledPolicy } from './policy-compiler.ts'
import { compilePolicySource, resolvePolicyRef } from './policy-loader.ts'
import { createReloadingStore, type ReloadingStore, type ReloadingStoreOptions } from './reloading-store.ts'

export type { ReloadResult } from './reloading-store.ts'

export type PolicyStoreOptions = ReloadingStoreOptions

/** The built-in policy in force, with reload and watch (see reloading-store.ts). */
export type PolicyStore = ReloadingStore<CompiledPolicy>

/**
 * Holds the built-in policy in force and swaps it on reload. The first load throws (a policy
 * that does not load stops start-up); later failures are reported and the old policy keeps
 * deciding, so a typo saved in an editor never leaves the gateway without a policy. The file's
 * directory is watched (editors that save by renaming, Kubernetes ConfigMap symlink swaps).
 *
 * @example
 * const store = createPolicyStore('default', { onReload: (r) => console.log(r) })
 * const stop = store.watch()
 * store.current().decide(input)
 */
export function createPolicyStore (ref: string, options: PolicyStoreOptions = {}): PolicyStore {
  const label = resolvePolicyRef(ref)
  // Absolute now, so a later chdir cannot make the store read another file.
  const file = resolve(label)
  return createReloadingStore({
    files: [file],
    load: ([bytes]) => compilePolicySource(bytes!, label),
    unreadable: (f, code) => new ConfigError(`${f}: cannot read policy file (${code})`)
  }, options)
}
