import { NameInUseError, UpstreamProtocolError, type GatewayError } from '../core/errors.ts'
import type { EngineQuery } from '../forward/engine-query.ts'
import type { ResponseFilter } from '../forward/response-filter.ts'
import { ownerFilterQuery } from './label-filter.ts'
import type { OwnerCache } from './owner-lookup.ts'

/** What a tenant's answers are filtered with. */
export interface ResponseContext {
  readonly tenant: string
  readonly label: string
  readonly engine: EngineQuery
  readonly cache: OwnerCache
}

type Json = Record<string, unknown>

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v)
const labelsOf = (v: unknown, field = 'Labels'): Json => {
  const labels = isObject(v) ? v[field] : undefined
  return isObject(labels) ? labels : {}
}

/** Rewrites a 2xx JSON answer; other statuses pass as they are. A 2xx body that is not JSON is refused. */
function json2xx (rewrite: (value: unknown) => Promise<unknown> | unknown): ResponseFilter {
  return {
    kind: 'whole',
    async rewrite (status, body) {
      if (status < 200 || status > 299) return body
      let value: unknown
      try { value = JSON.parse(body.toString('utf8')) } catch { return new UpstreamProtocolError('the engine answered with JSON dockward cannot read') }
      return Buffer.from(JSON.stringify(await rewrite(value)), 'utf8')
    }
  }
}

/** The containers the tenant owns, by full id: one list request. */
async function ownContainerIds (ctx: ResponseContext): Promise<Set<string>> {
  const list = await ctx.engine.list(`/containers/json?all=1&${ownerFilterQuery(ctx.label, ctx.tenant)}`)
  return new Set(Array.isArray(list) ? list.flatMap((c) => isObject(c) && typeof c['Id'] === 'string' ? [c['Id']] : []) : [])
}

/**
 * Networks and images: the tenant's own and the shared ones (no owner label). A shared network
 * in a list shows none of its containers.
 */
export function sharedOrOwnList (ctx: ResponseContext, kind: 'network' | 'image'): ResponseFilter {
  return json2xx((value) => {
    if (!Array.isArray(value)) throw new UpstreamProtocolError(`the engine's ${kind} list is not a list`)
    return value.flatMap((item) => {
      const owner = labelsOf(item)[ctx.label]
      if (owner !== undefined && owner !== ctx.tenant) return []
      if (kind === 'network' && isObject(item) && isObject(item['Containers'])) return [{ ...item, Containers: {} }]
      return [item]
    })
  })
}

/** A network's inspect answer with only the tenant's containers in it (a shared bridge holds everyone's). */
export function networkInspect (ctx: ResponseContext): ResponseFilter {
  return json2xx(async (value) => {
    if (!isObject(value) || !isObject(value['Containers'])) return value
    const own = await ownContainerIds(ctx)
    const containers: Json = {}
    for (const [id, entry] of Object.entries(value['Containers'])) if (own.has(id)) containers[id] = entry
    return { ...value, Containers: containers }
  })
}

/** `/info`: the container and image counts are the tenant's own (images: own and shared). */
export function systemInfo (ctx: ResponseContext): ResponseFilter {
  return json2xx(async (value) => {
    if (!isObject(value)) return value
    const [containers, images] = await Promise.all([
      ctx.engine.list(`/containers/json?all=1&${ownerFilterQuery(ctx.label, ctx.tenant)}`),
      ctx.engine.list('/images/json')
    ])
    const states = Array.isArray(containers) ? containers.map((c) => isObject(c) ? c['State'] : undefined) : []
    const visible = Array.isArray(images) ? images.filter((i) => { const o = labelsOf(i)[ctx.label]; return o === undefined || o === ctx.tenant }) : []
    return {
      ...value,
      Containers: states.length,
      ContainersRunning: states.filter((s) => s === 'running').length,
      ContainersPaused: states.filter((s) => s === 'paused').length,
      ContainersStopped: states.filter((s) => s !== 'running' && s !== 'paused').length,
      Images: visible.length
    }
  })
}

/**
 * `/system/df`: the tenant's containers and volumes, own and shared images, no build cache
 * (it is not owned by anyone), and the layer total of the images shown.
 */
export function systemDataUsage (ctx: ResponseContext): ResponseFilter {
  return json2xx((value) => {
    if (!isObject(value)) return value
    const mine = (item: unknown): boolean => labelsOf(item)[ctx.label] === ctx.tenant
    const list = (v: unknown): unknown[] => Array.isArray(v) ? v : []
    // An image's container count is every tenant's: -1 is the engine's own "not counted".
    const images = list(value['Images']).filter((i) => { const o = labelsOf(i)[ctx.label]; return o === undefined || o === ctx.tenant })
      .map((i) => isObject(i) ? { ...i, Containers: -1 } : i)
    return {
      ...value,
      LayersSize: images.reduce<number>((sum, i) => sum + (isObject(i) && typeof i['Size'] === 'number' ? i['Size'] : 0), 0),
      Images: images,
      Containers: list(value['Containers']).filter(mine),
      Volumes: list(value['Volumes']).filter(mine),
      BuildCache: []
    }
  })
}

/**
 * Create and rename: the engine's name conflict names the container that holds the name
 * ("… is already in use by container "3f2c…""); a tenant learns only that the name is taken. A
 * created container's owner is remembered.
 */
export function containerNameConflict (ctx: ResponseContext, created: boolean): ResponseFilter {
  return {
    kind: 'whole',
    async rewrite (status, body) {
      if (status === 409) {
        const text = body.toString('utf8')
        let message = ''
        try { message = String((JSON.parse(text) as { message?: unknown }).message ?? '') } catch {}
        return Buffer.from(JSON.stringify({ message: message.replace(/ by container "[^"]*"\. You have to remove \(or rename\) that container to be able to reuse that name\.?/, '.') }))
      }
      if (created && status === 201) {
        try {
          const id = (JSON.parse(body.toString('utf8')) as { Id?: unknown }).Id
          if (typeof id === 'string') ctx.cache.set('container', id, ctx.tenant)
        } catch {}
      }
      return body
    }
  }
}

/**
 * Volume create returns an existing volume of the same name as if it were new. If another tenant
 * took the name since dockward looked, the answer is replaced by a conflict.
 */
export function volumeCreate (ctx: ResponseContext, name: string): ResponseFilter {
  return json2xx((value) => {
    if (labelsOf(value)[ctx.label] !== ctx.tenant) throw nameTaken('volume', name)
    return value
  })
}

export function nameTaken (kind: 'volume' | 'image', name: string): GatewayError {
  return new NameInUseError(`${kind} name ${JSON.stringify(name)} is already in use`)
}

/**
 * Container inspect with every `Config.Env` value replaced (`TOKEN=<redacted>`): who may look at
 * a container need not read the secrets it was started with.
 */
export function redactedEnv (): ResponseFilter {
  return json2xx((value) => {
    if (!isObject(value) || !isObject(value['Config']) || !Array.isArray(value['Config']['Env'])) return value
    const env = value['Config']['Env'].map((e) => typeof e === 'string' && e.includes('=') ? `${e.slice(0, e.indexOf('='))}=<redacted>` : e)
    return { ...value, Config: { ...value['Config'], Env: env } }
  })
}
