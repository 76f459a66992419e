import { readdirSync, readlinkSync } from 'node:fs'

/** Open sockets of a process, from /proc: a leak shows as a count that does not come back down. */
export function socketCount (pid: number): number {
  let n = 0
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      if (readlinkSync(`/proc/${pid}/fd/${fd}`).startsWith('socket:')) n++
    } catch {
      // The descriptor closed while we looked.
    }
  }
  return n
}
