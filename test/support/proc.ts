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

/** Open file descriptors of a process (sockets, files, pipes, epoll), from /proc. */
export function fdCount (pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length
}

/**
 * Polls `count` until it is at most `atMost` or `ms` pass, and returns the last value: closing
 * takes a few event-loop turns in the process being watched.
 */
export async function settledCount (count: () => number, atMost: number, ms = 3000): Promise<number> {
  let now = count()
  for (const end = Date.now() + ms; now > atMost && Date.now() < end;) {
    await new Promise((resolve) => setTimeout(resolve, 50))
    now = count()
  }
  return now
}
