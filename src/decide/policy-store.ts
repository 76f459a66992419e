import { resolve } from 'node:path'
import { ConfigError } from '../core/errors.ts'
import type { CompiledPolicy } from './policy-compiler.ts'
import { compilePolicySource, isGeneratedPolicy, readPolicySource, resolvePolicyRef } from './policy-loader.ts'
import { createReloadingStore, type ReloadingStore, type ReloadingStoreOptions } from './reloading-store.ts'

export type { ReloadResult } from './reloading-store.ts'

export interface PolicyStoreOptions extends ReloadingStoreOptions {
  /** Where a generated policy (`socket-proxy-env`) reads its variables; default `process.env`. */
  readonly env?: NodeJS.ProcessEnv
}

/** The built-in policy in force, with reload and watch (see reloading-store.ts). */
export interface PolicyStore extends ReloadingStore<CompiledPolicy> {
  /** What the first load had to say about a generated policy (empty for files). */
  readonly warnings: readonly string[]
}

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
  if (isGeneratedPolicy(ref)) {
    // A generated policy has no file: a reload generates it again from the same environment (the
    // same bytes, so nothing changes), and there is nothing to watch.
    const env = options.env ?? process.env
    const first = readPolicySource(ref, env)
    const store = createReloadingStore({
      files: [],
      load: () => compilePolicySource(readPolicySource(ref, env).bytes, ref),
      unreadable: (f, code) => new ConfigError(`${f}: cannot read policy file (${code})`)
    }, options)
    return { ...store, warnings: first.warnings }
  }
  const label = resolvePolicyRef(ref)
  // Absolute now, so a later chdir cannot make the store read another file.
  const file = resolve(label)
  const store = createReloadingStore({
    files: [file],
    load: ([bytes]) => compilePolicySource(bytes!, label),
    unreadable: (f, code) => new ConfigError(`${f}: cannot read policy file (${code})`)
  }, options)
  return { ...store, warnings: [] }
}
