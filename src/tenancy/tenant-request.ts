import { ObjectNotFoundError, ReferenceNotFoundError, TenancyDeniedError, type ObjectKind } from '../core/errors.ts'
import type { EngineQuery } from '../forward/engine-query.ts'
import type { ResponseFilter } from '../forward/response-filter.ts'
import { asObject, asObjectList, asString, asStringList, field } from '../inspect/facts/body.ts'
import { joinedContainer } from '../inspect/facts/host-config.ts'
import { formValue, type GoQuery } from '../inspect/go-query.ts'
import { exactImageRef, isImageName, pullImageRef } from '../inspect/image-reference.ts'
import { isJsonObject, type JsonObject, type JsonValue } from '../inspect/json-value.ts'
import type { RequestFacts } from '../inspect/request-facts.ts'
import { parseFilters, withOwnerFilter } from './label-filter.ts'
import { buildLabels, refuseOwnerLabel, withField, withOwner, withOwnerChange } from './owner-label.ts'
import type { OwnerCache, OwnerLookup } from './owner-lookup.ts'
import { tenantEvents, eventFilters } from './tenant-events.ts'
import { containerNameConflict, nameTaken, networkInspect, sharedOrOwnList, systemDataUsage, systemInfo, volumeCreate, type ResponseContext } from './tenant-responses.ts'

/** A request as tenancy judges it: after inspection (canonical query and body, facts), before the policy. */
export interface TenantRequest {
  readonly operation: string
  readonly params: Readonly<Record<string, string>>
  readonly query: GoQuery
  readonly body: JsonValue | undefined
  readonly facts: Readonly<RequestFacts>
}

/** What tenancy changes in an allowed request; every field absent means "as inspected". */
export interface TenantPlan {
  /** The full id of the object the path names, sent instead of what the client wrote. */
  readonly pathId?: string
  readonly query?: GoQuery
  readonly body?: JsonValue
  /** Run once the policy has allowed the request, before it is forwarded (creating named volumes). */
  readonly prepare?: () => Promise<void>
  readonly response?: ResponseFilter
  /** Called with the engine's status when the exchange ends (cache upkeep). */
  readonly settled?: (status: number) => void
}

export interface TenancyContext extends ResponseContext {
  readonly owners: OwnerLookup
  /** Event types about unowned objects every tenant sees (`tenancy.sharedEvents`). */
  readonly sharedEvents: readonly string[]
  /** Whether tenants may build images (`tenancy.builds`; see README for what a build shares). */
  readonly builds: boolean
}

/** Operations that touch nothing a tenant could own or see of another: passed as they are. */
const OPEN = new Set([
  'SystemPing', 'SystemPingHead', 'SystemVersion', 'SystemAuth', 'ImageSearch', 'DistributionInspect',
  // Plugins are the engine's own equipment, like its version: visible, not owned (changing them is closed).
  'PluginList', 'PluginInspect', 'GetPluginPrivileges'
])

/** Operations on the container named in the path. */
const CONTAINER_PATH = new Set([
  'ContainerArchive', 'ContainerArchiveInfo', 'PutContainerArchive', 'ContainerAttach', 'ContainerAttachWebsocket',
  'ContainerChanges', 'ContainerExec', 'ContainerExport', 'ContainerInspect', 'ContainerKill', 'ContainerLogs',
  'ContainerPause', 'ContainerRename', 'ContainerResize', 'ContainerRestart', 'ContainerStart', 'ContainerStats',
  'ContainerStop', 'ContainerTop', 'ContainerUnpause', 'ContainerUpdate', 'ContainerWait', 'ContainerDelete'
])

/** Lists and prunes the engine filters by the owner label itself. */
const ENGINE_FILTERED = new Set(['ContainerList', 'VolumeList', 'ContainerPrune', 'VolumePrune', 'NetworkPrune', 'ImagePrune'])

/** Why some operations are closed to tenants altogether. */
const CLOSED: Readonly<Record<string, string>> = {
  ImageLoad: 'the image names inside an archive cannot be checked before the engine applies them',
  BuildPrune: 'the build cache is shared by all tenants',
  // The BuildKit control API lists, exports and prunes what every tenant built.
  Grpc: 'the BuildKit control API reaches every tenant\'s builds; build with POST /build (docker build)'
}

/** Network modes that name no network object. */
const BUILTIN_NETWORK_MODES = new Set(['', 'default', 'bridge', 'host', 'none'])

/**
 * Checks a tenant's request against what the tenant owns and plans the changes that keep it in
 * its own part of the engine. Objects are resolved the way the engine resolves them (id, id
 * prefix, name); one the tenant does not own is answered with the engine's own "no such …", so
 * another tenant's objects cannot even be detected. Every operation is listed here; one that is
 * not is closed to tenants (fail closed: a new engine route is not open until it is judged).
 *
 * @example await planTenantRequest({ operation: 'ContainerStop', params: { id: 'web' }, … }, ctx) // { pathId: '3f2c…' }
 */
export async function planTenantRequest (r: TenantRequest, ctx: TenancyContext): Promise<TenantPlan> {
  const op = r.operation
  const { owners, tenant, label } = ctx
  const id = r.params['id'] ?? r.params['name'] ?? ''

  /** Resolves a reference the tenant must own; anything else is "no such …". */
  const own = async (kind: ObjectKind, ref: string): Promise<string> => {
    const found = await resolve(owners, kind, ref)
    if (found === null || found.owner !== tenant) throw new ObjectNotFoundError(kind, ref)
    return found.id
  }
  /** Own or shared (no owner): images and networks everyone may use. */
  const usable = async (kind: 'image' | 'network', ref: string): Promise<string | null> => {
    const found = await resolve(owners, kind, ref)
    if (found === null) return null
    if (found.owner !== null && found.owner !== tenant) throw new ObjectNotFoundError(kind, ref)
    return found.id
  }
  /** Own, where a shared object may be seen but not changed. */
  const ownNotShared = async (kind: 'image' | 'network', ref: string): Promise<string> => {
    const found = await resolve(owners, kind, ref)
    if (found === null || (found.owner !== null && found.owner !== tenant)) throw new ObjectNotFoundError(kind, ref)
    if (found.owner === null) throw new TenancyDeniedError(`${kind} ${ref} is shared by all tenants: only an operator can change or remove it`)
    return found.id
  }
  /** An image name the request writes (tag, build -t, commit, import, pull): free, the tenant's, or (pull only) shared. */
  const writableName = async (ref: string, sharedOk: boolean): Promise<void> => {
    if (ref === '') return
    // A name the engine cannot read is refused here too: looked up, it would read as free.
    if (!isImageName(ref)) throw new TenancyDeniedError(`${JSON.stringify(ref)} is not an image name`)
    const found = await owners.image(ref)
    if (found === null || found.owner === tenant || (found.owner === null && sharedOk)) return
    throw nameTaken('image', ref)
  }
  const withQuery = (name: string, values: string[]): GoQuery => {
    const q = Object.assign(Object.create(null) as GoQuery, r.query)
    q[name] = values
    return q
  }
  const q = (name: string): string => formValue(r.query, name)

  if (OPEN.has(op)) return {}
  if ((op === 'ImageBuild' || op === 'Session') && !ctx.builds) {
    throw new TenancyDeniedError(`${op} is not available to tenants here: a build can read any image on the engine by name and shares the build cache (the operator enables builds with tenancy.builds)`)
  }
  if (op === 'Session') return {}
  const closed = CLOSED[op]
  if (closed !== undefined) throw new TenancyDeniedError(`${op} is not available to tenants: ${closed}`)

  if (CONTAINER_PATH.has(op)) {
    const pathId = await own('container', id)
    if (op === 'ContainerDelete') return { pathId, settled: (s) => { if (s === 204) ctx.cache.forget('container', pathId) } }
    if (op === 'ContainerRename') return { pathId, response: containerNameConflict(ctx, false) }
    return { pathId }
  }
  if (ENGINE_FILTERED.has(op)) {
    // `before`/`since` name a container the engine resolves, answering a missing one with an
    // error: only the tenant's own may be named, or the answer tells whether another exists.
    const filters = parseFilters(r.query['filters']?.[0])
    if (op === 'ContainerList') for (const ref of [...filters['before'] ?? [], ...filters['since'] ?? []]) await own('container', ref)
    return { query: withQuery('filters', [withOwnerFilter(r.query['filters']?.[0], label, tenant)]) }
  }

  switch (op) {
    case 'ExecInspect': case 'ExecResize': case 'ExecStart':
      await own('exec', id)
      return {}
    case 'VolumeInspect': case 'VolumeDelete': case 'VolumeUpdate':
      await own('volume', id)
      return {}
    case 'NetworkInspect': {
      const pathId = await usable('network', id)
      if (pathId === null) throw new ObjectNotFoundError('network', id)
      return { pathId, response: networkInspect(ctx) }
    }
    case 'NetworkDelete': {
      const pathId = await ownNotShared('network', id)
      return { pathId, settled: (s) => { if (s === 204 || s === 200) ctx.cache.forget('network', pathId) } }
    }
    case 'NetworkConnect': case 'NetworkDisconnect': {
      const pathId = await usable('network', id)
      if (pathId === null) throw new ObjectNotFoundError('network', id)
      const body = asObject(r.body, 'body')
      const container = asString(field(body, 'Container'), 'Container')
      const containerId = await own('container', container)
      const endpoint = asObject(field(body, 'EndpointConfig'), 'EndpointConfig')
      await sameNetwork(endpoint, pathId, id)
      if (op === 'NetworkDisconnect') return { pathId, body: withField(body, 'Container', containerId) }
      // A stopped container joins at its next start, by the name the engine stored, unless the
      // endpoint carries the network's id (moby getNetworkID): by then the name may be another's.
      return { pathId, body: withField(withField(body, 'Container', containerId), 'EndpointConfig', withField(endpoint, 'NetworkID', pathId)) }
    }
    case 'ImageInspect': case 'ImageHistory': case 'ImageAttestations': {
      const found = await usable('image', id)
      if (found === null) throw new ObjectNotFoundError('image', id)
      // The image checked, by its full id: the same answer, and no name to vanish in between.
      return { pathId: found }
    }
    case 'ImageGet': {
      const found = await usable('image', id)
      if (found === null) throw new ObjectNotFoundError('image', id)
      return pinnedImagePath(id, exactImageRef(id, found, true))
    }
    case 'ImageGetAll': {
      // `docker save NAME` asks this way; several images at once are not judged as one.
      const names = r.query['names'] ?? []
      if (names.length !== 1) throw new TenancyDeniedError('ImageGetAll is available to tenants for one image at a time: docker save NAME')
      const found = await usable('image', names[0]!)
      if (found === null) throw new ObjectNotFoundError('image', names[0]!)
      return { query: withQuery('names', [exactImageRef(names[0]!, found, true)]) }
    }
    case 'ImageDelete':
      // A name stays a name (the engine untags it), an id an id (the engine deletes the image).
      return pinnedImagePath(id, exactImageRef(id, await ownNotShared('image', id)))
    case 'ImagePush': {
      // The engine pushes `name` with `tag` replacing its tag, and every tag of the repository
      // when neither names one (moby postImagesPush), so what is pushed is checked, not the path.
      const pushed = pullImageRef(id, q('tag'))
      if (!/[:@][^/]*$/.test(pushed)) throw new TenancyDeniedError('push one tag at a time (docker push NAME:TAG): pushing every tag of a repository is not available to tenants')
      await ownNotShared('image', pushed)
      return {}
    }
    case 'ImageTag': {
      const pathId = await ownNotShared('image', id)
      for (const t of r.facts.tags ?? []) await writableName(t, false)
      return { pathId }
    }
    case 'NetworkList': return { response: sharedOrOwnList(ctx, 'network') }
    case 'ImageList': {
      const filters = parseFilters(r.query['filters']?.[0])
      for (const ref of [...filters['before'] ?? [], ...filters['since'] ?? []]) {
        if (await usable('image', ref) === null) throw new ObjectNotFoundError('image', ref)
      }
      return { response: sharedOrOwnList(ctx, 'image') }
    }
    case 'SystemInfo': return { response: systemInfo(ctx) }
    case 'SystemDataUsage': return { response: systemDataUsage(ctx) }
    case 'SystemEvents':
      return { query: withQuery('filters', [eventFilters(r.query['filters']?.[0], label, tenant, ctx.sharedEvents)]), response: tenantEvents(ctx, ctx.sharedEvents) }
    case 'VolumeCreate': {
      const body = asObject(r.body, 'body')
      refuseOwnerLabel(field(body, 'Labels'), label, 'Labels')
      const name = asString(field(body, 'Name'), 'Name')
      if (name !== '') {
        const existing = await owners.volume(name)
        if (existing !== null && existing.owner !== tenant) throw nameTaken('volume', name)
      }
      return { body: withField(body, 'Labels', withOwner(field(body, 'Labels'), label, tenant)), response: volumeCreate(ctx, name) }
    }
    case 'NetworkCreate': {
      const body = asObject(r.body, 'body')
      refuseOwnerLabel(field(body, 'Labels'), label, 'Labels')
      return { body: withField(body, 'Labels', withOwner(field(body, 'Labels'), label, tenant)) }
    }
    case 'ImageBuild': {
      // BuildKit exporters can name and write images outside `t`, where no name check reaches.
      if ((r.query['outputs'] ?? []).some((o) => o !== '')) throw new TenancyDeniedError('build outputs are not available to tenants; tag the image with -t')
      for (const t of r.facts.tags ?? []) await writableName(t, false)
      const network = q('networkmode')
      const joined = joinedContainer(network)
      const query = withQuery('labels', [buildLabels(r.query['labels'], label, tenant)])
      if (joined !== '') {
        await own('container', joined)
      } else if (!BUILTIN_NETWORK_MODES.has(network)) {
        const networkId = await usable('network', network)
        if (networkId === null) throw new ReferenceNotFoundError('network', network)
        // The build's containers join by the network's id: a name or prefix may be another's by then.
        query['networkmode'] = [networkId]
      }
      return { query }
    }
    case 'ImageCommit': {
      const containerId = await own('container', q('container'))
      for (const t of r.facts.tags ?? []) await writableName(t, false)
      const body = asObject(r.body, 'body')
      refuseOwnerLabel(field(body, 'Labels'), label, 'Labels')
      const query = withQuery('container', [containerId])
      query['changes'] = withOwnerChange(r.query['changes'], label, tenant)
      return { query, body: withField(body, 'Labels', withOwner(field(body, 'Labels'), label, tenant)) }
    }
    case 'ImageCreate': {
      const pulled = r.facts.image ?? ''
      if (pulled !== '') {
        // A pull (the engine pulls whenever fromImage is set): the image comes as its publisher
        // made it, shared by all (a pull cannot be labelled). Without a tag or digest the engine
        // pulls every tag of the repository, names no check here has seen.
        if (!/[:@][^/]*$/.test(pulled)) throw new TenancyDeniedError('pull one tag at a time (docker pull NAME:TAG): pulling every tag of a repository is not available to tenants')
        if (!pulled.includes('@')) await writableName(pulled, true)
        return {}
      }
      for (const t of r.facts.tags ?? []) await writableName(t, false)
      return { query: withQuery('changes', withOwnerChange(r.query['changes'], label, tenant)) }
    }
    case 'ContainerCreate':
      return await planContainerCreate(r, ctx, own, usable)
    default:
      throw new TenancyDeniedError(`${op} is not available to tenants on a multi-tenant engine`)
  }
}

/** The path sends `pinned` in place of the image reference `ref` the client wrote, where they differ. */
function pinnedImagePath (ref: string, pinned: string): TenantPlan {
  return pinned === ref ? {} : { pathId: pinned }
}

/**
 * An endpoint config's `NetworkID`, when set, must name the network already checked (`id`), or the
 * engine would connect to whatever it names instead.
 */
async function sameNetwork (endpoint: JsonObject | undefined, id: string | null, name: string): Promise<void> {
  const networkId = asString(field(endpoint, 'NetworkID'), 'EndpointConfig.NetworkID')
  if (networkId === '') return
  if (id === null || (networkId !== id && networkId !== name && !(id.startsWith(networkId) && networkId.length >= 12))) {
    throw new TenancyDeniedError(`EndpointConfig.NetworkID must be the network the request names (${name})`)
  }
}

async function resolve (owners: OwnerLookup, kind: ObjectKind, ref: string): Promise<{ id: string, owner: string | null } | null> {
  if (ref === '') return null
  switch (kind) {
    case 'container': return await owners.container(ref)
    case 'volume': return await owners.volume(ref)
    case 'network': return await owners.network(ref)
    case 'image': return await owners.image(ref)
    case 'exec': return await owners.exec(ref)
  }
}

/**
 * Container create: the owner label is set; the image must be the tenant's or shared; every
 * container the body reaches (`VolumesFrom`, `container:` modes, `Links`) must be the tenant's;
 * networks the tenant's or shared; named volumes the tenant's, and those that do not exist yet
 * are created as the tenant's before the container (the engine would create them without an owner).
 */
async function planContainerCreate (
  r: TenantRequest,
  ctx: TenancyContext,
  own: (kind: ObjectKind, ref: string) => Promise<string>,
  usable: (kind: 'image' | 'network', ref: string) => Promise<string | null>
): Promise<TenantPlan> {
  const { label, tenant, owners, engine } = ctx
  const body = asObject(r.body, 'body')
  refuseOwnerLabel(field(body, 'Labels'), label, 'Labels')
  const hc = asObject(field(body, 'HostConfig'), 'HostConfig')

  const image = asString(field(body, 'Image'), 'Image')
  const imageId = image === '' ? null : await usable('image', image)

  const containers = new Set<string>(r.facts.volumesFrom ?? [])
  for (const key of ['NetworkMode', 'PidMode', 'IpcMode', 'Cgroup']) {
    const joined = joinedContainer(asString(field(hc, key), `HostConfig.${key}`))
    if (joined !== '') containers.add(joined)
  }
  for (const link of asStringList(field(hc, 'Links'), 'HostConfig.Links')) {
    // `name:alias`; the engine also takes `/name:/child/alias`.
    const name = link.split(':')[0]!.replace(/^\//, '')
    if (name !== '') containers.add(name)
  }
  for (const c of containers) {
    try {
      await own('container', c)
    } catch (err) {
      if (err instanceof ObjectNotFoundError) throw new ReferenceNotFoundError('container', c)
      throw err
    }
  }

  const networks = new Set<string>()
  const mode = asString(field(hc, 'NetworkMode'), 'HostConfig.NetworkMode')
  if (!BUILTIN_NETWORK_MODES.has(mode) && !mode.startsWith('container:')) networks.add(mode)
  const networking = asObject(field(body, 'NetworkingConfig'), 'NetworkingConfig')
  const endpoints = asObject(field(networking, 'EndpointsConfig'), 'NetworkingConfig.EndpointsConfig')
  for (const name of Object.keys(endpoints ?? {})) if (!BUILTIN_NETWORK_MODES.has(name)) networks.add(name)
  const checked = new Map<string, string>()
  for (const n of networks) {
    const found = await usable('network', n).catch((err: unknown) => { if (err instanceof ObjectNotFoundError) return null; throw err })
    if (found === null) throw new ReferenceNotFoundError('network', n)
    checked.set(n, found)
  }
  // An endpoint's NetworkID is what the engine connects to for a user-defined network (moby
  // getNetworkID): it must be the network its key named.
  for (const name of Object.keys(endpoints ?? {})) {
    const endpoint = asObject(endpoints![name], `NetworkingConfig.EndpointsConfig.${name}`)
    await sameNetwork(endpoint, checked.get(name) ?? null, name)
  }

  // Named volumes: existing ones must be the tenant's; missing ones are made the tenant's.
  const mounts = asObjectList(field(hc, 'Mounts'), 'HostConfig.Mounts')
  for (const m of mounts) {
    const options = asObject(field(m, 'VolumeOptions'), 'Mounts[].VolumeOptions')
    refuseOwnerLabel(field(options, 'Labels'), label, 'HostConfig.Mounts[].VolumeOptions.Labels')
  }
  const missing: JsonObject[] = []
  for (const name of new Set(r.facts.namedVolumes ?? [])) {
    const existing = await owners.volume(name)
    if (existing !== null) {
      if (existing.owner !== tenant) throw nameTaken('volume', name)
      continue
    }
    missing.push(volumeSpec(name, hc, mounts, label, tenant))
  }
  const prepare = missing.length === 0
    ? undefined
    : async (): Promise<void> => {
      for (const spec of missing) {
        const made = await engine.createVolume(spec)
        // Another tenant made it in between: the engine answered with theirs.
        if (made.labels[label] !== tenant) throw nameTaken('volume', made.name)
      }
    }
  let planned = withField(body, 'Labels', withOwner(field(body, 'Labels'), label, tenant))
  if (imageId !== null) {
    const exact = exactImageRef(image, imageId)
    if (exact !== image) planned = withField(planned, 'Image', exact)
  }
  if (checked.size > 0) planned = withField(planned, 'NetworkingConfig', withField(networking, 'EndpointsConfig', pinnedEndpoints(endpoints, checked, mode)))
  return { body: planned, response: containerNameConflict(ctx, true), ...(prepare === undefined ? {} : { prepare }) }
}

/**
 * The endpoints with each checked network's full id as its `NetworkID`. The engine stores a
 * network by the name or id prefix the request wrote and looks it up again at every start, unless
 * the endpoint carries an id (moby getNetworkID): by then the text may name another tenant's
 * network (the tenant's own removed, a prefix of another's id left). A network named only by
 * `NetworkMode` gets an endpoint of its own, as the engine would make it, with the id.
 */
function pinnedEndpoints (endpoints: JsonObject | undefined, checked: ReadonlyMap<string, string>, mode: string): JsonObject {
  const out: Record<string, JsonValue> = Object.create(null) as Record<string, JsonValue>
  const names = endpoints === undefined ? [] : Object.keys(endpoints)
  for (const name of names) {
    const id = checked.get(name)
    out[name] = id === undefined ? endpoints![name]! : withField(asObject(endpoints![name], `NetworkingConfig.EndpointsConfig.${name}`), 'NetworkID', id)
  }
  // With endpoints given, the engine joins those alone (and before API 1.44 takes one at most).
  const modeId = checked.get(mode)
  if (names.length === 0 && modeId !== undefined) out[mode] = withField(undefined, 'NetworkID', modeId)
  return out
}

/** The volume the engine would create for a named volume mount, with the owner label. */
function volumeSpec (name: string, hc: JsonObject | undefined, mounts: JsonObject[], label: string, tenant: string): JsonObject {
  const mount = mounts.find((m) => field(m, 'Type') === 'volume' && field(m, 'Source') === name)
  const options = asObject(field(mount, 'VolumeOptions'), 'Mounts[].VolumeOptions')
  const driver = asObject(field(options, 'DriverConfig'), 'Mounts[].VolumeOptions.DriverConfig')
  const spec: Record<string, JsonValue> = Object.create(null) as Record<string, JsonValue>
  spec['Name'] = name
  const driverName = asString(field(driver, 'Name'), 'DriverConfig.Name') || asString(field(hc, 'VolumeDriver'), 'HostConfig.VolumeDriver')
  if (driverName !== '') spec['Driver'] = driverName
  const driverOpts = field(driver, 'Options')
  if (isJsonObject(driverOpts)) spec['DriverOpts'] = driverOpts
  spec['Labels'] = withOwner(field(options, 'Labels'), label, tenant)
  return spec
}
