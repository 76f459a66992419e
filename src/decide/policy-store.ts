import { createHash } from 'node:crypto'
import { watch as watchFs } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { ConfigError } from '../core/errors.ts'
import type { CompiledPolicy } from './policy-compiler.ts'
import { compilePolicySource, isGeneratedPolicy, readPolicyFile, readPolicySource, resolvePolicyRef } from './policy-loader.ts'

/** What a reload did: the new policy's digest (`changed` false when the file was the same), or why it kept the old one. */
export type ReloadResult =
  | { readonly ok: true, readonly digest: string, readonly changed: boolean }
  | { readonly ok: false, readonly error: ConfigError }

export interface PolicyStoreOptions {
  /** Called after every reload: SIGHUP, `reload()`, or a change the watcher saw. */
  readonly onReload?: (result: ReloadResult) => void
  /** Quiet time after the last file event before the watcher reloads (ms, default 100). */
  readonly debounceMs?: number
  /** Where a generated policy (`socket-proxy-env`) reads its variables; default `process.env`. */
  readonly env?: NodeJS.ProcessEnv
}

export interface PolicyStore {
  /** The policy in force; callers fetch it per request so a reload applies to the next one. */
  current: () => CompiledPolicy
  /** Reads and compiles the file again; on any error the policy in force stays. */
  reload: () => ReloadResult
  /** Reloads when the file changes; returns the function that stops watching. */
  watch: () => () => void
  /** What the first load had to say about a generated policy (empty for files). */
  readonly warnings: readonly string[]
}

/**
 * Holds the policy in force and swaps it on reload. The first load throws (a policy that does
 * not load stops start-up); later failures are reported and the old policy keeps deciding, so a
 * typo saved in an editor never leaves the gateway without a policy.
 *
 * The watcher watches the file's directory, not the file: editors that save by writing a new file
 * and renaming it over the old one, and Kubernetes' symlink swaps of mounted ConfigMaps, replace
 * the inode an fs.watch on the file would follow. Events are debounced, and the file is reloaded
 * only when its bytes differ from the ones last tried, so unrelated events in the directory and
 * repeated saves of the same bytes are silent.
 *
 * @example
 * const store = createPolicyStore('default', { onReload: (r) => console.log(r) })
 * const stop = store.watch()
 * store.current().decide(input)
 */
export function createPolicyStore (ref: string, options: PolicyStoreOptions = {}): PolicyStore {
  // A generated policy has no file: a reload generates it again from the same environment (the
  // same bytes, so nothing changes), and there is nothing to watch.
  const generated = isGeneratedPolicy(ref)
  const env = options.env ?? process.env
  const label = generated ? ref : resolvePolicyRef(ref)
  // Absolute now, so a later chdir cannot make the store read another file.
  const file = resolve(label)
  const debounceMs = options.debounceMs ?? 100
  const first = generated ? readPolicySource(ref, env) : { bytes: readPolicyFile(file), warnings: [] }
  let policy = compilePolicySource(first.bytes, label)
  // Digest of the bytes last tried (loaded or failed), or 'unreadable'; the watcher skips repeats.
  let lastTried = policy.digest

  const report = (result: ReloadResult): ReloadResult => {
    options.onReload?.(result)
    return result
  }

  const tryBytes = (bytes: Buffer): ReloadResult => {
    try {
      const next = compilePolicySource(bytes, label)
      const changed = next.digest !== policy.digest
      policy = next
      return { ok: true, digest: next.digest, changed }
    } catch (err) {
      return { ok: false, error: err instanceof ConfigError ? err : new ConfigError(`${label}: ${(err as Error).message}`) }
    }
  }

  const read = (): Buffer | ConfigError => {
    try {
      return generated ? readPolicySource(ref, env).bytes : readPolicyFile(file)
    } catch (err) {
      return err as ConfigError
    }
  }

  return {
    current: () => policy,
    warnings: first.warnings,

    reload (): ReloadResult {
      const bytes = read()
      if (bytes instanceof ConfigError) {
        lastTried = 'unreadable'
        return report({ ok: false, error: bytes })
      }
      lastTried = sha256(bytes)
      return report(tryBytes(bytes))
    },

    watch (): () => void {
      if (generated) return () => {}
      let timer: NodeJS.Timeout | null = null
      let retried = false
      const schedule = (): void => {
        if (timer !== null) clearTimeout(timer)
        timer = setTimeout(check, debounceMs)
        timer.unref()
      }
      const check = (): void => {
        timer = null
        const bytes = read()
        if (bytes instanceof ConfigError) {
          // Between an editor's unlink and rename the file is missing for a moment: look once more
          // before reporting, and report a file that stays unreadable only once.
          if (!retried) { retried = true; schedule(); return }
          retried = false
          if (lastTried === 'unreadable') return
          lastTried = 'unreadable'
          report({ ok: false, error: bytes })
          return
        }
        retried = false
        const digest = sha256(bytes)
        if (digest === lastTried) return
        lastTried = digest
        report(tryBytes(bytes))
      }
      // persistent: false — watching alone must not keep a process alive (tests, one-shot commands).
      const watcher = watchFs(dirname(file), { persistent: false }, schedule)
      watcher.on('error', (err) => {
        report({ ok: false, error: new ConfigError(`${label}: watching for changes failed (${err.message}); reload with SIGHUP`) })
      })
      return () => {
        if (timer !== null) clearTimeout(timer)
        timer = null
        watcher.close()
      }
    }
  }
}

function sha256 (bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex')
}
