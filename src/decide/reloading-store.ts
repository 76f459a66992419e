import { createHash } from 'node:crypto'
import { readFileSync, watch as watchFs } from 'node:fs'
import { dirname } from 'node:path'
import { ConfigError } from '../core/errors.ts'

/** What a reload did: the new digest (`changed` false when it equals the old one), or why the old value stays. */
export type ReloadResult =
  | { readonly ok: true, readonly digest: string, readonly changed: boolean }
  | { readonly ok: false, readonly error: ConfigError }

export interface ReloadingStoreOptions {
  /** Called after every reload: SIGHUP, `reload()`, or a change the watcher saw. */
  readonly onReload?: (result: ReloadResult) => void
  /** Quiet time after the last file event before the watcher reloads (ms, default 100). */
  readonly debounceMs?: number
}

export interface ReloadingStore<T> {
  /** The value in force; callers fetch it per request so a reload applies to the next one. */
  current: () => T
  /** Reads and loads the files again; on any error the value in force stays. */
  reload: () => ReloadResult
  /** Reloads when a file changes; returns the function that stops watching. */
  watch: () => () => void
}

/** How to turn a set of files into the value a store holds. */
export interface StoreSource<T extends { readonly digest: string }> {
  /** Absolute paths, read in this order; the first names the store in messages. */
  readonly files: readonly string[]
  /** Builds the value from the files' bytes (same order); throws a ConfigError on bad content. */
  readonly load: (contents: readonly Buffer[]) => T
  /** The ConfigError for a file that cannot be read. */
  readonly unreadable: (file: string, code: string) => ConfigError
}

/**
 * Holds a value loaded from files (a policy, an OPA bundle) and swaps it on reload. The first
 * load throws (what does not load stops start-up); later failures are reported and the old value
 * stays, so a half-written file never leaves the gateway without a policy.
 *
 * The watcher watches the files' directories, not the files: editors that save by writing a new
 * file and renaming it over the old one, and Kubernetes' symlink swaps of mounted ConfigMaps,
 * replace the inode an fs.watch on the file would follow. Events are debounced, and the files
 * are loaded only when their bytes differ from the ones last tried, so unrelated events in the
 * directory and repeated saves of the same bytes are silent.
 *
 * @example
 * const store = createReloadingStore({ files: ['/etc/p.yaml'], load: ([b]) => compile(b), unreadable }, { onReload: console.log })
 * const stop = store.watch()
 */
export function createReloadingStore<T extends { readonly digest: string }> (source: StoreSource<T>, options: ReloadingStoreOptions = {}): ReloadingStore<T> {
  const { files, load } = source
  const label = files[0] ?? '(no file)'
  const debounceMs = options.debounceMs ?? 100

  const read = (): Buffer[] | ConfigError => {
    const out: Buffer[] = []
    for (const file of files) {
      try {
        out.push(readFileSync(file))
      } catch (err) {
        return source.unreadable(file, (err as NodeJS.ErrnoException).code ?? (err as Error).message)
      }
    }
    return out
  }

  const first = read()
  if (first instanceof ConfigError) throw first
  let value = load(first)
  // Digest of the bytes last tried (loaded or failed), or 'unreadable'; the watcher skips repeats.
  let lastTried = bytesDigest(first)

  const report = (result: ReloadResult): ReloadResult => {
    options.onReload?.(result)
    return result
  }

  const tryBytes = (contents: readonly Buffer[]): ReloadResult => {
    try {
      const next = load(contents)
      const changed = next.digest !== value.digest
      value = next
      return { ok: true, digest: next.digest, changed }
    } catch (err) {
      return { ok: false, error: err instanceof ConfigError ? err : new ConfigError(`${label}: ${(err as Error).message}`) }
    }
  }

  return {
    current: () => value,

    reload (): ReloadResult {
      const contents = read()
      if (contents instanceof ConfigError) {
        lastTried = 'unreadable'
        return report({ ok: false, error: contents })
      }
      lastTried = bytesDigest(contents)
      return report(tryBytes(contents))
    },

    watch (): () => void {
      let timer: NodeJS.Timeout | null = null
      let retried = false
      const schedule = (): void => {
        if (timer !== null) clearTimeout(timer)
        timer = setTimeout(check, debounceMs)
        timer.unref()
      }
      const check = (): void => {
        timer = null
        const contents = read()
        if (contents instanceof ConfigError) {
          // Between an editor's unlink and rename the file is missing for a moment: look once more
          // before reporting, and report a file that stays unreadable only once.
          if (!retried) { retried = true; schedule(); return }
          retried = false
          if (lastTried === 'unreadable') return
          lastTried = 'unreadable'
          report({ ok: false, error: contents })
          return
        }
        retried = false
        const digest = bytesDigest(contents)
        if (digest === lastTried) return
        lastTried = digest
        report(tryBytes(contents))
      }
      // persistent: false — watching alone must not keep a process alive (tests, one-shot commands).
      const watchers = [...new Set(files.map((f) => dirname(f)))].map((dir) => {
        const watcher = watchFs(dir, { persistent: false }, schedule)
        watcher.on('error', (err) => {
          report({ ok: false, error: new ConfigError(`${label}: watching for changes failed (${err.message}); reload with SIGHUP`) })
        })
        return watcher
      })
      return () => {
        if (timer !== null) clearTimeout(timer)
        timer = null
        for (const w of watchers) w.close()
      }
    }
  }
}

/**
 * The digest of file contents: SHA-256 of one file's bytes, or of the files' digests in order.
 *
 * @example bytesDigest([readFileSync('p.yaml')]) // sha256 of the file, as `sha256sum` prints it
 */
export function bytesDigest (contents: readonly Buffer[]): string {
  if (contents.length === 1) return createHash('sha256').update(contents[0]!).digest('hex')
  const h = createHash('sha256')
  for (const c of contents) h.update(createHash('sha256').update(c).digest())
  return h.digest('hex')
}
