import { UpstreamLookupError, type ObjectKind } from '../core/errors.ts'
import type { EngineQuery } from '../forward/engine-query.ts'
import type { EngineLookup } from '../inspect/facts/engine-lookup.ts'

/** An object as tenancy sees it: its full id and the tenant its owner label names (null: none, a shared or operator's object). */
export interface OwnedObject {
  readonly id: string
  readonly owner: string | null
}

/** Resolves what a request names (id, id prefix or name) to the object the engine would use. */
export interface OwnerLookup {
  container: (ref: string) => Promise<OwnedObject | null>
  volume: (name: string) => Promise<OwnedObject | null>
  network: (ref: string) => Promise<OwnedObject | null>
  image: (ref: string) => Promise<OwnedObject | null>
  /** An exec instance, owned through the container it runs in. */
  exec: (id: string) => Promise<OwnedObject | null>
}

/**
 * Owners by full id, shared by all requests. Only kinds whose ids are never reused are kept:
 * container and network ids are random, an image id is the digest of its config (owner label
 * included). A volume's id is its name, which another tenant may take once it is removed, so
 * volumes are always asked for.
 */
export interface OwnerCache {
  get: (kind: CachedKind, id: string) => string | null | undefined
  set: (kind: CachedKind, id: string, owner: string | null) => void
  /**
   * Drops an entry once its object is destroyed, after a grace period: events about the object
   * (a network's `destroy`) may still be on their way to an events stream that needs its owner.
   */
  forget: (kind: CachedKind, id: string) => void
  readonly size: number
}

export type CachedKind = Extract<ObjectKind, 'container' | 'network' | 'image'>

/**
 * A bounded cache: past `max` entries the oldest go first (Map keeps insertion order).
 *
 * @example const cache = createOwnerCache(); cache.set('container', id, 'team-a'); cache.get('container', id) // 'team-a'
 */
export function createOwnerCache (max = 100_000, graceMs = 60_000): OwnerCache {
  const entries = new Map<string, string | null>()
  return {
    get: (kind, id) => entries.get(`${kind} ${id}`),
    set (kind, id, owner) {
      const key = `${kind} ${id}`
      entries.delete(key)
      entries.set(key, owner)
      if (entries.size > max) entries.delete(entries.keys().next().value!)
    },
    forget (kind, id) {
      const key = `${kind} ${id}`
      setTimeout(() => entries.delete(key), graceMs).unref()
    },
    get size () { return entries.size }
  }
}

/** What an owner is read from: the object's full id and labels. */
interface Labelled { readonly id: string, readonly labels?: Readonly<Record<string, string>> | undefined }

function ownerOf (labels: Readonly<Record<string, string>> | undefined, label: string): string | null {
  return labels?.[label] ?? null
}

/**
 * The owner of a container, network or image: from the cache when `ref` is a full id the cache
 * knows, else asked (`ask`) and remembered by the full id the engine answered with; null when the
 * engine has no such object.
 *
 * @example await resolveOwner(cache, 'network', id, true, 'io.dockward.tenant', () => engine.network(id)) // { id, owner: 'team-a' }
 */
export async function resolveOwner (cache: OwnerCache, kind: CachedKind, ref: string, fullId: boolean, label: string, ask: () => Promise<Labelled | null>): Promise<OwnedObject | null> {
  const known = fullId ? cache.get(kind, ref) : undefined
  if (known !== undefined) return { id: ref, owner: known }
  const found = await ask()
  if (found === null) return null
  const owner = ownerOf(found.labels, label)
  cache.set(kind, found.id, owner)
  return { id: found.id, owner }
}

/**
 * A reference the engine refuses to resolve (400: an id prefix that matches several objects, an
 * invalid image reference) is, to a tenant, no object of its own: the request is answered "no
 * such …" and never forwarded, so the engine cannot resolve it differently a moment later.
 */
function refusedIsNone (err: unknown): null {
  if (err instanceof UpstreamLookupError && err.engineStatus === 400) return null
  throw err
}

const FULL_ID = /^[0-9a-f]{64}$/
const IMAGE_ID = /^sha256:[0-9a-f]{64}$/

/**
 * Owner lookups for one request. Containers, volumes and execs go through the request's own
 * memoized lookup (the one fact extraction and id pinning use), so each object is asked for
 * once and every stage sees the same answer; a full id found in the cache is not asked for.
 *
 * @example const owners = ownerLookup(memoizedLookup(engine), engine, cache, 'io.dockward.tenant')
 * await owners.container('web') // { id: '3f2c…', owner: 'team-a' }
 */
export function ownerLookup (lookup: EngineLookup, engine: EngineQuery, cache: OwnerCache, label: string): OwnerLookup {
  const asked = new Map<string, Promise<OwnedObject | null>>()
  const once = (key: string, ask: () => Promise<OwnedObject | null>): Promise<OwnedObject | null> => {
    let hit = asked.get(key)
    if (hit === undefined) { hit = ask().catch(refusedIsNone); asked.set(key, hit) }
    return hit
  }

  /** Containers, networks and images: a full id found in the cache is not asked for; every answer is remembered. */
  const byId = (kind: CachedKind, ref: string, isFullId: RegExp, ask: () => Promise<Labelled | null>): Promise<OwnedObject | null> =>
    once(`${kind} ${ref}`, async () => await resolveOwner(cache, kind, ref, isFullId.test(ref), label, ask))
  const container = (ref: string): Promise<OwnedObject | null> => byId('container', ref, FULL_ID, async () => await lookup.container(ref))

  return {
    container,
    volume: (name) => once(`volume ${name}`, async () => {
      const v = await lookup.volume(name)
      return v === null ? null : { id: name, owner: ownerOf(v.labels, label) }
    }),
    network: (ref) => byId('network', ref, FULL_ID, async () => await engine.network(ref)),
    image: (ref) => byId('image', ref, IMAGE_ID, async () => await engine.image(ref)),
    exec: (id) => once(`exec ${id}`, async () => {
      const e = await lookup.exec(id)
      if (e === null) return null
      const c = await container(e.containerId)
      return { id, owner: c?.owner ?? null }
    })
  }
}
