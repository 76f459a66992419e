// Reading V8 .cpuprofile files (what node --cpu-prof writes): self time per function.

export interface CallFrame { functionName: string, url: string, lineNumber: number, columnNumber: number }
export interface ProfileNode { id: number, callFrame: CallFrame, children?: number[] }
export interface CpuProfile { nodes: ProfileNode[], startTime: number, endTime: number, samples: number[], timeDeltas: number[] }

export interface SelfTime { name: string, where: string, module: string, selfMs: number }

/** Where a function lives, shortened: `node:_http_server`, `dist/forward/forward.js`, or a pseudo-frame. */
function moduleOf (f: CallFrame): string {
  if (f.url === '') return /^\(.*\)$/.test(f.functionName) ? f.functionName : '(native)'
  const dist = f.url.indexOf('/dist/')
  if (dist !== -1) return `dockward ${f.url.slice(dist + 1)}`
  if (f.url.startsWith('node:')) return f.url
  return f.url.replace(/^file:\/\//, '')
}

/**
 * Self time per function from a .cpuprofile, counting only samples taken between `from` and `to`
 * (microseconds on the profile's monotonic clock; null for the whole profile). Each sample is
 * charged the time until the next sample, as DevTools does.
 */
export function selfTimes (profile: CpuProfile, from: number | null, to: number | null): { rows: SelfTime[], totalMs: number, samples: number } {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]))
  const acc = new Map<string, SelfTime>()
  let t = profile.startTime
  let totalUs = 0
  let samples = 0
  for (let i = 0; i < profile.samples.length; i++) {
    t += profile.timeDeltas[i] ?? 0
    const dur = profile.timeDeltas[i + 1] ?? 0
    if ((from !== null && t < from) || (to !== null && t > to)) continue
    const node = byId.get(profile.samples[i]!)
    if (node === undefined) continue
    const f = node.callFrame
    const fn = f.functionName === '' ? '(anonymous)' : f.functionName
    const name = fn.length > 90 ? `${fn.slice(0, 87)}...` : fn
    const where = f.url === '' ? '' : `${f.url.replace(/^file:\/\/.*\/dist\//, 'dist/')}:${f.lineNumber + 1}`
    const key = `${name}\0${where}`
    let row = acc.get(key)
    if (row === undefined) { row = { name, where, module: moduleOf(f), selfMs: 0 }; acc.set(key, row) }
    row.selfMs += dur / 1000
    totalUs += dur
    samples++
  }
  return { rows: [...acc.values()].sort((a, b) => b.selfMs - a.selfMs), totalMs: totalUs / 1000, samples }
}
