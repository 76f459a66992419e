import { BadRequestBodyError } from '../../core/errors.ts'
import type { JsonArray, JsonObject } from '../json-value.ts'

/** An existing named volume as the engine reports it (`GET /volumes/{name}`). */
export interface VolumeSnapshot {
  driver: string
  options: Record<string, string>
  /** `.Labels`; absent where a lookup does not report them (tests, offline). */
  labels?: Readonly<Record<string, string>>
}

/**
 * An existing container as the engine reports it (`GET /containers/{id}/json`), reduced to what
 * says how it reaches the host. Both values are converted to the types of json-value.ts (numbers
 * as JsonNumber, objects with a null prototype), so the container facts read them with the same
 * code as a create body.
 */
export interface ContainerSnapshot {
  /** `.Id`: the full container id. */
  id: string
  /** `.Name`, as the engine reports it (`/agent`). */
  name: string
  /** `.HostConfig`: the same field names as a create body's `HostConfig`. */
  hostConfig: JsonObject
  /** `.Mounts`: `{ Type, Source, Destination, Name, Driver, RW, … }` per mount, those copied by `VolumesFrom` included. */
  mounts: JsonArray
  /** `.Config.Labels`; absent where a lookup does not report them (tests, offline). */
  labels?: Readonly<Record<string, string>>
}

/** An existing exec instance as the engine reports it (`GET /exec/{id}/json`): the container it runs in (`.ContainerID`). */
export interface ExecSnapshot {
  containerId: string
}

/**
 * What fact extraction may ask the engine. A request can name an object that already exists (a
 * named volume, a container, an exec instance), and what it does then depends on how that object
 * was made. Each answer is null when the engine has no such object; a lookup that cannot tell
 * throws, so nothing is decided without the answer.
 */
export interface EngineLookup {
  volume: (name: string) => Promise<VolumeSnapshot | null>
  /** By id, id prefix or name, as the engine resolves `/containers/{id}/…`. */
  container: (idOrName: string) => Promise<ContainerSnapshot | null>
  exec: (id: string) => Promise<ExecSnapshot | null>
}

/**
 * A lookup that knows nothing: every volume, container and exec is unknown. For tests and for
 * inspecting a request without an engine (`policy explain`).
 *
 * @example await offlineLookup.volume('data') // null
 */
export const offlineLookup: EngineLookup = {
  volume: async () => null,
  container: async () => null,
  exec: async () => null
}

/** Engine lookups one request may cause: a body of 20,000 named volumes took 16 s of them. */
export const MAX_LOOKUPS = 32

/**
 * `lookup` for one request: each object is asked for once (the answer is shared by everyone who
 * asks again), and asking for more than `max` different objects throws a BadRequestBodyError.
 * Lookups are counted when they are asked for, so callers may start them all at once.
 *
 * @example const once = requestLookup(engine); await Promise.all([once.volume('a'), once.volume('a')]) // one GET /volumes/a
 */
export function requestLookup (lookup: EngineLookup, max = MAX_LOOKUPS): EngineLookup {
  const asked = new Map<string, Promise<unknown>>()
  function ask<T> (key: string, query: () => Promise<T>): Promise<T> {
    const known = asked.get(key)
    if (known !== undefined) return known as Promise<T>
    if (asked.size >= max) return Promise.reject(new BadRequestBodyError(`request body: more than ${max} named volumes and containers to look up`))
    const answer = query()
    // A caller that fails first leaves the answers of the others unread; they must not crash the process.
    answer.catch(() => {})
    asked.set(key, answer)
    return answer
  }
  return {
    volume: async (name) => await ask(`volume ${name}`, async () => await lookup.volume(name)),
    container: async (idOrName) => await ask(`container ${idOrName}`, async () => await lookup.container(idOrName)),
    exec: async (id) => await ask(`exec ${id}`, async () => await lookup.exec(id))
  }
}
