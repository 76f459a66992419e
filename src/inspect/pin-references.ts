import { ObjectNotFoundError, ReferenceNotFoundError } from '../core/errors.ts'
import type { EngineLookup } from './facts/engine-lookup.ts'
import { isJsonObject, type JsonObject, type JsonValue } from './json-value.ts'

/**
 * A lookup that asks the engine once per name for the whole request, so the facts and the pinning
 * below see the same answer.
 *
 * @example const lookup = memoizedLookup(engine); await lookup.container('web'); await lookup.container('web') // one GET
 */
export function memoizedLookup (inner: EngineLookup): EngineLookup {
  // Made on first use: most requests look nothing up.
  let volumes: Map<string, ReturnType<EngineLookup['volume']>> | undefined
  let containers: Map<string, ReturnType<EngineLookup['container']>> | undefined
  let execs: Map<string, ReturnType<EngineLookup['exec']>> | undefined
  const once = <T>(map: Map<string, T>, key: string, ask: () => T): T => {
    let hit = map.get(key)
    if (hit === undefined) { hit = ask(); map.set(key, hit) }
    return hit
  }
  return {
    volume: (name) => once(volumes ??= new Map(), name, () => inner.volume(name)),
    container: (name) => once(containers ??= new Map(), name, () => inner.container(name)),
    exec: (id) => once(execs ??= new Map(), id, () => inner.exec(id))
  }
}

// Operations whose `{id}` path parameter names an existing container the decision looked at.
const CONTAINER_PATH_OPERATIONS = new Set([
  'ContainerExec', 'ContainerAttach', 'ContainerAttachWebsocket', 'ContainerArchive',
  'ContainerArchiveInfo', 'PutContainerArchive', 'ContainerExport'
])

/**
 * The container id to put in the forwarded path instead of the name the client wrote, or null to
 * keep the path. A decision about `agent` must not apply to whatever is named `agent` a moment
 * later (a rename between the lookup and the engine's own lookup): the engine gets the full id of
 * the container that was judged. A name that resolves to nothing is answered as the engine would
 * answer it (404), never forwarded: a rename could give it to another container in between, one
 * the decision never saw.
 *
 * @example await pinnedPathId('ContainerExec', { id: 'web' }, lookup) // '3f2c…64 hex'
 */
export async function pinnedPathId (operation: string, params: Readonly<Record<string, string>>, lookup: EngineLookup): Promise<string | null> {
  if (!CONTAINER_PATH_OPERATIONS.has(operation) || !Object.hasOwn(params, 'id')) return null
  const name = params['id']!
  const snapshot = await lookup.container(name)
  if (snapshot === null) throw new ObjectNotFoundError('container', name)
  return snapshot.id
}

/**
 * A container create body with every container it reaches (`VolumesFrom`, `Links`,
 * `container:<x>` in the pid, network and ipc modes and in `Cgroup`) replaced by the full id the
 * facts and the tenancy check were taken from.
 * A name that resolves to nothing is refused as the engine refuses it (400 "No such container"):
 * forwarded, it could name another container by the time the engine reads it (`container:<x>`
 * network modes are read at every start). Other operations' bodies are returned as they are.
 *
 * @example await pinnedCreateBody('ContainerCreate', { HostConfig: { PidMode: 'container:db' } }, lookup)
 * // { HostConfig: { PidMode: 'container:9a1b…' } }
 */
export async function pinnedCreateBody (operation: string, body: JsonValue | undefined, lookup: EngineLookup): Promise<JsonValue | undefined> {
  if (operation !== 'ContainerCreate' || !isJsonObject(body) || !isJsonObject(body['HostConfig'])) return body
  const hc = body['HostConfig']
  const out: Record<string, JsonValue> = Object.create(null) as Record<string, JsonValue>
  let changed = false
  for (const key of Object.keys(hc)) {
    const value = hc[key]!
    if ((key === 'PidMode' || key === 'NetworkMode' || key === 'IpcMode' || key === 'Cgroup') && typeof value === 'string' && value.startsWith('container:')) {
      const id = await resolve(value.slice('container:'.length), lookup)
      out[key] = `container:${id}`
      changed ||= out[key] !== value
    } else if (key === 'Links' && Array.isArray(value)) {
      // `name:alias`; the engine resolves the name as it resolves any container reference, so a
      // full id works as well. Without an alias the engine names the link after the container:
      // that name is kept as the alias.
      const pinned = await pinEntries(value, lookup, (name, rest) => rest === '' ? `:${name}` : rest, true)
      out[key] = pinned.entries
      changed ||= pinned.changed
    } else if (key === 'VolumesFrom' && Array.isArray(value)) {
      // `name[:ro|:rw]`: moby's parseVolumesFrom splits at the first colon, as the facts do.
      const pinned = await pinEntries(value, lookup, (_name, rest) => rest, false)
      out[key] = pinned.entries
      changed ||= pinned.changed
        } else {
      out[key] = value
    }
  }
  if (!changed) return body
  const copy: Record<string, JsonValue> = Object.create(null) as Record<string, JsonValue>
  for (const key of Object.keys(body)) copy[key] = key === 'HostConfig' ? out : body[key]!
  return copy as JsonObject
}

/**
 * `name[:rest]` entries with each name that resolves replaced by its full id; `suffix` says what
 * follows the id, given the name and the rest (`:alias`, `:ro`, or '').
 */
async function pinEntries (entries: readonly JsonValue[], lookup: EngineLookup, suffix: (name: string, rest: string) => string, leadingSlash: boolean): Promise<{ entries: JsonValue[], changed: boolean }> {
  const pinned: JsonValue[] = []
  let changed = false
  for (const entry of entries) {
    if (typeof entry !== 'string') { pinned.push(entry); continue }
    const colon = entry.indexOf(':')
    const written = colon === -1 ? entry : entry.slice(0, colon)
    const name = leadingSlash ? written.replace(/^\//, '') : written
    const out = `${await resolve(name, lookup)}${suffix(name, colon === -1 ? '' : entry.slice(colon))}`
    changed ||= out !== entry
    pinned.push(out)
  }
  return { entries: pinned, changed }
}

async function resolve (name: string, lookup: EngineLookup): Promise<string> {
  const snapshot = name === '' ? null : await lookup.container(name)
  if (snapshot === null) throw new ReferenceNotFoundError('container', name)
  return snapshot.id
}
