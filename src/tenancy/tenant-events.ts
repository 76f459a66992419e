import type { ResponseFilter } from '../forward/response-filter.ts'
import { parseFilters } from './label-filter.ts'
import { resolveOwner } from './owner-lookup.ts'
import type { ResponseContext } from './tenant-responses.ts'
import { serializeJson } from '../inspect/go-json.ts'

/** Event types that can be about a tenant's objects; daemon, plugin and swarm events never are. */
const TENANT_TYPES = ['container', 'image', 'volume', 'network'] as const
/** Types whose events carry the object's labels in `Actor.Attributes` (moby daemon/events.go copies them). */
const LABELLED_TYPES = new Set(['container', 'image'])

/**
 * The `filters` of an events request, narrowed at the engine: only the event types a tenant can
 * own or that are shared (`tenancy.sharedEvents`), and when the client asked only for labelled
 * types and none is shared, the owner label as well.
 *
 * @example eventFilters('{"type":["container"]}', 'io.dockward.tenant', 'team-a', [])
 * // '{"type":["container"],"label":["io.dockward.tenant=team-a"]}'
 */
export function eventFilters (value: string | undefined, label: string, tenant: string, shared: readonly string[]): string {
  const filters = parseFilters(value)
  const asked = filters['type']
  const visible = new Set<string>([...TENANT_TYPES, ...shared])
  const types = asked === undefined ? [...visible] : asked.filter((t) => visible.has(t))
  if (types.length > 0) filters['type'] = types
  // Volume and network events carry no labels: a label filter would hide the tenant's own, and
  // shared events have no owner to match.
  const labelled = types.every((t) => LABELLED_TYPES.has(t) && !shared.includes(t))
  if (types.length === 0 || labelled) filters['label'] = [...(filters['label'] ?? []), `${label}=${tenant}`]
  return serializeJson(filters)
}

type Json = Record<string, unknown>
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v)

/**
 * Each event is checked before the tenant sees it: container and image events by the owner label
 * they carry; volume events by the volume's owner; network events when the network is the
 * tenant's, or shared and the event is about one of the tenant's containers (connect, disconnect).
 * Events about objects nobody owns pass when their type is in `shared`; everything else is dropped. Volume owners are remembered for the stream's life, so a volume's
 * `destroy` (when the engine no longer has it) is still shown to its owner.
 */
export function tenantEvents (ctx: ResponseContext, shared: readonly string[]): ResponseFilter {
  // Owners are tri-state: a tenant, null (the object exists and nobody owns it), or undefined
  // (dockward cannot tell: the object is gone and was not seen). Unknown is never shared.
  const volumes = new Map<string, string | null>()
  const containerOwner = async (id: string): Promise<string | null | undefined> =>
    (await resolveOwner(ctx.cache, 'container', id, true, ctx.label, async () => await ctx.engine.container(id)))?.owner
  const volumeOwner = async (name: string, action: string, eventSec: number): Promise<string | null | undefined> => {
    if (action === 'destroy') {
      const owner = volumes.get(name)
      volumes.delete(name)
      return owner
    }
    const v = await ctx.engine.volume(name)
    if (v === null) return volumes.get(name)
    // An event from before this volume existed (a replay with `since`) is about an earlier volume
    // of the same name, maybe another tenant's: its owner is the one seen then, or unknown.
    if (v.createdSec === undefined || eventSec < v.createdSec) return volumes.get(name)
    const owner = v.labels[ctx.label] ?? null
    volumes.set(name, owner)
    return owner
  }
  const networkOwner = async (id: string): Promise<string | null | undefined> =>
    (await resolveOwner(ctx.cache, 'network', id, true, ctx.label, async () => await ctx.engine.network(id)))?.owner
  return {
    kind: 'lines',
    keep (event) {
      if (!isObject(event) || !isObject(event['Actor'])) return false
      const actor = event['Actor']
      const id = typeof actor['ID'] === 'string' ? actor['ID'] : ''
      const attributes = isObject(actor['Attributes']) ? actor['Attributes'] : {}
      const action = typeof event['Action'] === 'string' ? event['Action'] : ''
      const type = typeof event['Type'] === 'string' ? event['Type'] : ''
      const isShared = shared.includes(type)
      const labelOwner = (): string | null => typeof attributes[ctx.label] === 'string' ? attributes[ctx.label] as string : null
      const eventSec = typeof event['time'] === 'number' ? event['time'] : 0
      // A shared object's event that names a container (a network's connect, an anonymous
      // volume's mount) is about that container: shown to its owner only.
      const sharedAbout = async (): Promise<boolean> => {
        const container = attributes['container']
        if (typeof container === 'string') return await containerOwner(container) === ctx.tenant
        return isShared
      }
      switch (type) {
        case 'container': {
          if (action === 'destroy') ctx.cache.forget('container', id)
          const o = labelOwner()
          return o === ctx.tenant || (o === null && isShared)
        }
        case 'image': {
          // The engine logs `delete` once the image is gone, without its labels: the owner is the
          // one dockward saw, or unknown.
          const o = action === 'delete' && labelOwner() === null ? ctx.cache.get('image', id) : labelOwner()
          return o === ctx.tenant || (o === null && isShared)
        }
        case 'volume':
          return volumeOwner(id, action, eventSec).then(async (o) => {
            if (o === ctx.tenant) return true
            if (o !== null) return false // another tenant's, or not known
            return await sharedAbout()
          })
        case 'network':
          return networkOwner(id).then(async (o) => {
            if (action === 'destroy') ctx.cache.forget('network', id)
            if (o === ctx.tenant) return true
            if (o !== null) return false // another tenant's, or not known
            return await sharedAbout()
          })
        default:
          return isShared
      }
    }
  }
}
