import fs from 'node:fs'
import net from 'node:net'
import { ConfigError } from '../core/errors.ts'

/**
 * Makes a socket path free for listening. A leftover socket file from a process that died is
 * removed; a socket some process still answers on, or any file that is not a socket, is left alone
 * and start-up fails, so dockward never steals another server's address or deletes a user's file.
 */
export async function clearStaleSocket (path: string): Promise<void> {
  let stat: fs.Stats
  try {
    stat = fs.lstatSync(path)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return
    throw new ConfigError(`cannot inspect ${path}: ${(err as Error).message}`)
  }
  if (!stat.isSocket()) throw new ConfigError(`${path} exists and is not a socket; refusing to replace it`)
  const alive = await new Promise<boolean>((resolve) => {
    const probe = net.connect(path)
    probe.once('connect', () => { probe.destroy(); resolve(true) })
    probe.once('error', () => resolve(false))
  })
  if (alive) throw new ConfigError(`${path} is in use by another process`)
  fs.unlinkSync(path)
}

/** Resolves a group name or numeric id from /etc/group. */
export function resolveGroup (group: string): number {
  return resolveId(group, '/etc/group', 'group')
}

/** Resolves a user name or numeric id from /etc/passwd. */
export function resolveUser (user: string): number {
  return resolveId(user, '/etc/passwd', 'user')
}

// Both files have the name first and the numeric id third (name:x:id:…).
function resolveId (value: string, file: string, what: string): number {
  if (/^[0-9]+$/.test(value)) return Number(value)
  let text = ''
  try {
    text = fs.readFileSync(file, 'utf8')
  } catch {}
  for (const line of text.split('\n')) {
    const [name, , id] = line.split(':')
    if (name === value && id !== undefined && /^[0-9]+$/.test(id)) return Number(id)
  }
  throw new ConfigError(`${what} ${JSON.stringify(value)} does not exist`)
}

/** Where and how a unix socket is made: its path, file mode, group and owner. */
export interface UnixSocketAddress { readonly path: string, readonly mode: number, readonly group: string | null, readonly owner: string | null }

/**
 * Binds a server to a unix socket path: everything that can fail is checked before the socket
 * exists (so a failed start leaves nothing), the socket is created owner-only and then given its
 * owner, group and mode, so there is no moment where others could connect. `undo` closes the
 * server when they cannot be set (a different owner needs root).
 *
 * @example await bindUnixSocket(address, () => listen(server, { path: address.path }), () => server.close())
 */
export async function bindUnixSocket (address: UnixSocketAddress, listen: () => Promise<unknown>, undo: () => unknown): Promise<void> {
  const gid = address.group === null ? -1 : resolveGroup(address.group)
  const uid = address.owner === null ? -1 : resolveUser(address.owner)
  await clearStaleSocket(address.path)
  const old = process.umask(0o177)
  try {
    await listen()
  } finally {
    process.umask(old)
  }
  try {
    fs.chownSync(address.path, uid, gid)
    fs.chmodSync(address.path, address.mode)
  } catch (err) {
    await undo()
    fs.rmSync(address.path, { force: true })
    throw new ConfigError(`cannot set owner or mode of ${address.path}: ${(err as Error).message}`)
  }
}
