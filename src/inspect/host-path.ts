/**
 * Host paths as the engine reads them, lexically. Symlinks on the host are NOT resolved: dockward
 * cannot see the filesystem of a (possibly remote) engine, while the engine resolves them when it
 * mounts. A rule that allows a directory therefore allows whatever its symlinks point at; allow
 * only directories whose contents the requesters cannot change.
 */

/**
 * Go's `filepath.Clean` on Linux: collapses repeated `/`, removes `.` segments, resolves `..`
 * against the segment before it (at the root, `..` stays the root), drops a trailing `/`. A
 * relative path stays relative (`a/../../b` → `../b`) and '' becomes `.`.
 *
 * @example cleanHostPath('/srv//data/../logs/') // '/srv/logs'
 */
export function cleanHostPath (p: string): string {
  if (p === '') return '.'
  const rooted = p.startsWith('/')
  const out: string[] = []
  // Leading `..` segments of a relative path cannot be resolved and are kept.
  let fixed = 0
  for (const seg of p.split('/')) {
    if (seg === '' || seg === '.') continue
    if (seg === '..') {
      if (out.length > fixed) out.pop()
      else if (!rooted) {
        out.push('..')
        fixed++
      }
      continue
    }
    out.push(seg)
  }
  const joined = out.join('/')
  if (rooted) return '/' + joined
  return joined === '' ? '.' : joined
}

/**
 * Whether `path` is `prefix` or lies below it, by whole segments after cleaning both: `/srv/data`
 * is under `/srv` and `/srv/`, `/srvx` is not under `/srv`, everything absolute is under `/`. A
 * path is under itself. An absolute path is never under a relative prefix, nor the reverse.
 *
 * @example isUnder('/srv/data', '/srv/') // true
 */
export function isUnder (path: string, prefix: string): boolean {
  const p = cleanHostPath(path)
  const base = cleanHostPath(prefix)
  if (p.startsWith('/') !== base.startsWith('/')) return false
  if (p === base || base === '/') return true
  if (base === '.') return p !== '..' && !p.startsWith('../')
  return p.startsWith(base + '/')
}
