/** The `name{labels} value` lines of a Prometheus text exposition, comments dropped. */
export function metricSamples (text: string): Map<string, number> {
  const out = new Map<string, number>()
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue
    const cut = line.lastIndexOf(' ')
    out.set(line.slice(0, cut), Number(line.slice(cut + 1)))
  }
  return out
}

/** Every label value in an exposition, for checks on what may never be a label. */
export function labelValues (text: string): string[] {
  const out: string[] = []
  for (const m of text.matchAll(/^[a-zA-Z_:][\w:]*\{([^}]*)\}/gm)) {
    for (const v of m[1]!.matchAll(/="((?:[^"\\]|\\.)*)"/g)) out.push(v[1]!)
  }
  return out
}
