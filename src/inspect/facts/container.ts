import type { JsonObject, JsonValue } from '../json-value.ts'
import { formValue, type GoQuery } from '../go-query.ts'
import { cleanHostPath } from '../host-path.ts'
import { normalizeImageRef } from '../image-reference.ts'
import type { RequestFacts } from '../request-facts.ts'
import { asBool, asNumber, asObject, asObjectList, asString, asStringList, asStringMap, field } from './body.ts'
import { containerPathFacts, createReachTargets, mergeReach } from './container-reach.ts'
import type { EngineLookup } from './engine-lookup.ts'
import { FactSheet } from './fact-sheet.ts'
import { recordDevices, recordHostConfig } from './host-config.ts'

/**
 * Facts of the container operations: ContainerCreate (Config + HostConfig + NetworkingConfig),
 * ContainerUpdate (Resources + RestartPolicy), ContainerExec (exec create) and PutContainerArchive. Field names are the engine's
 * (moby api/types/container HostConfig, Resources, mount.Mount, network.EndpointSettings). What
 * existing containers lend to a request is in container-reach.ts.
 */

/** Driver option holding per-endpoint sysctls (moby libnetwork/netlabel EndpointSysctls). */
const ENDPOINT_SYSCTLS = 'com.docker.network.endpoint.sysctls'

/** Whether API `version` is older than `than` (both `MAJOR.MINOR`); no version is the newest. */
export function versionBefore (version: string | null, than: string): boolean {
  if (version === null) return false
  const [a = 0, b = 0] = version.split('.').map(Number)
  const [c = 0, d = 0] = than.split('.').map(Number)
  return a < c || (a === c && b < d)
}

/**
 * The resource fields containers and updates share (moby container.Resources): devices, device
 * requests and rules (unless `devices` is false: a create body's are read with its HostConfig),
 * cgroup parent, limits and ulimits. `pidsLimit` of 0 or less is "unlimited" (moby clears it), so
 * it becomes 0.
 */
function recordResources (sheet: FactSheet, res: JsonObject | undefined, path: string, devices: boolean): void {
  const at = (key: string): string => path === '' ? key : `${path}.${key}`
  const facts = sheet.facts
  if (devices) recordDevices(sheet, res, path)
  facts.cgroupParent = asString(field(res, 'CgroupParent'), at('CgroupParent'))
  facts.memory = asNumber(field(res, 'Memory'), at('Memory'))
  facts.memorySwap = asNumber(field(res, 'MemorySwap'), at('MemorySwap'))
  facts.nanoCpus = asNumber(field(res, 'NanoCpus'), at('NanoCpus'))
  facts.cpuShares = asNumber(field(res, 'CpuShares'), at('CpuShares'))
  facts.cpuQuota = asNumber(field(res, 'CpuQuota'), at('CpuQuota'))
  facts.pidsLimit = Math.max(0, asNumber(field(res, 'PidsLimit'), at('PidsLimit')))
  facts.oomKillDisable = asBool(field(res, 'OomKillDisable'), at('OomKillDisable'))
  asObjectList(field(res, 'Ulimits'), at('Ulimits')).forEach((u, i) => {
    sheet.add('ulimits', asString(field(u, 'Name'), `${at('Ulimits')}[${i}].Name`))
  })
}

const RESOURCE_LISTS = ['devices', 'deviceRequests', 'deviceCgroupRules', 'ulimits'] as const

/** Whether a string list field is set at all (null and absent are "keep the default"). */
function isSet (v: JsonValue | undefined): boolean {
  return v !== undefined && v !== null
}

/**
 * ContainerCreate: every fact a container has, from `Config`, `HostConfig` and
 * `NetworkingConfig.EndpointsConfig`. Named volumes in `Binds` and `Mounts` are looked up in the
 * engine, and so are the existing containers the body reaches (`VolumesFrom`, `container:<x>`
 * modes; see `createReachTargets`), whose access is merged in and named in `reachedContainers`;
 * all lookups run at once. A network endpoint keyed `host` counts as the host network, like
 * `NetworkMode: host`.
 *
 * @example await containerCreateFacts({ Image: 'busybox', HostConfig: { Privileged: true } }, null, offlineLookup)
 */
export async function containerCreateFacts (body: JsonObject | undefined, version: string | null, lookup: EngineLookup): Promise<RequestFacts> {
  const sheet = new FactSheet().lists(
    'hostPaths', 'volumeMounts', 'namedVolumes', 'volumeDrivers', 'volumesFrom', 'capAdd', 'capDrop',
    ...RESOURCE_LISTS, 'hostNamespaces', 'containerNamespaces', 'securityOpt', 'unconfined', 'sysctls',
    'portHostIps', 'hostPorts', 'extraHosts', 'reachedContainers'
  )
  const facts = sheet.facts
  const hc = asObject(field(body, 'HostConfig'), 'HostConfig')
  const h = (key: string): JsonValue | undefined => field(hc, key)

  facts.image = normalizeImageRef(asString(field(body, 'Image'), 'Image'))
  facts.user = asString(field(body, 'User'), 'User')

  // Reached containers go to a sheet of their own, merged after the body's facts, so the order of
  // the facts does not depend on which lookup answers first.
  const targets = createReachTargets(hc)
  const reached = new FactSheet()
  await Promise.all([recordHostConfig(sheet, hc, lookup), mergeReach(reached, targets, lookup)])
  recordResources(sheet, hc, 'HostConfig', false)
  // Any list replaces the engine's default masked and read-only /proc and /sys paths.
  asStringList(h('MaskedPaths'), 'HostConfig.MaskedPaths')
  asStringList(h('ReadonlyPaths'), 'HostConfig.ReadonlyPaths')
  if (isSet(h('MaskedPaths')) || isSet(h('ReadonlyPaths'))) sheet.add('unconfined', 'systempaths')

  sheet.add('sysctls', ...asStringMap(h('Sysctls'), 'HostConfig.Sysctls').map(([k]) => k))
  facts.runtime = asString(h('Runtime'), 'HostConfig.Runtime')

  const ports = asObject(h('PortBindings'), 'HostConfig.PortBindings')
  for (const port of Object.keys(ports ?? {})) {
    const p = `HostConfig.PortBindings.${port}`
    asObjectList(field(ports, port), p).forEach((b, i) => {
      const ip = asString(field(b, 'HostIp'), `${p}[${i}].HostIp`)
      sheet.add('portHostIps', ip === '' ? '0.0.0.0' : ip)
      sheet.add('hostPorts', asString(field(b, 'HostPort'), `${p}[${i}].HostPort`))
    })
  }
  facts.publishAllPorts = asBool(h('PublishAllPorts'), 'HostConfig.PublishAllPorts')
  facts.shmSize = asNumber(h('ShmSize'), 'HostConfig.ShmSize')
  facts.oomScoreAdj = asNumber(h('OomScoreAdj'), 'HostConfig.OomScoreAdj')
  const logConfig = asObject(h('LogConfig'), 'HostConfig.LogConfig')
  facts.logDriver = asString(field(logConfig, 'Type'), 'HostConfig.LogConfig.Type')
  sheet.add('extraHosts', ...asStringList(h('ExtraHosts'), 'HostConfig.ExtraHosts'))

  const networking = asObject(field(body, 'NetworkingConfig'), 'NetworkingConfig')
  const endpoints = asObject(field(networking, 'EndpointsConfig'), 'NetworkingConfig.EndpointsConfig')
  for (const name of Object.keys(endpoints ?? {})) {
    if (name === 'host') sheet.add('hostNamespaces', 'network')
    const p = `NetworkingConfig.EndpointsConfig.${name}`
    recordEndpointSysctls(sheet, asObject(field(endpoints, name), p), p)
  }
  sheet.merge(reached.facts)
  return facts
}

/**
 * Per-interface sysctls an endpoint's driver options set (`net.ipv4.conf.IFNAME.x=1,…`, API
 * 1.46+), by name.
 *
 * @example recordEndpointSysctls(sheet, { DriverOpts: { 'com.docker.network.endpoint.sysctls': 'net.ipv4.conf.IFNAME.forwarding=1' } }, 'EndpointConfig')
 */
export function recordEndpointSysctls (sheet: FactSheet, endpoint: JsonObject | undefined, path: string): void {
  const opts = asObject(field(endpoint, 'DriverOpts'), `${path}.DriverOpts`)
  const value = asString(field(opts, ENDPOINT_SYSCTLS), `${path}.DriverOpts.${ENDPOINT_SYSCTLS}`)
  if (value === '') return
  for (const setting of value.split(',')) {
    const eq = setting.indexOf('=')
    sheet.add('sysctls', (eq === -1 ? setting : setting.slice(0, eq)).trim())
  }
}

/**
 * ContainerUpdate: the resource facts of the update body. The engine ignores `PidsLimit` below
 * API 1.40, so it is 0 there.
 *
 * @example containerUpdateFacts({ Memory: new JsonNumber('268435456') }, '1.41')
 */
export function containerUpdateFacts (body: JsonObject | undefined, version: string | null): RequestFacts {
  const sheet = new FactSheet().lists(...RESOURCE_LISTS)
  recordResources(sheet, body, '', true)
  if (versionBefore(version, '1.40')) sheet.facts.pidsLimit = 0
  return sheet.facts
}

/**
 * ContainerExec (exec create): whether the process is privileged, and its user; and everything
 * the container it runs in reaches (`containerPathFacts`), since the process gets all of it.
 *
 * @example await execCreateFacts({ Privileged: true, User: 'root' }, 'web', lookup) // { privileged: true, user: 'root', hostPaths: [], reachedContainers: ['web'], … }
 */
export async function execCreateFacts (body: JsonObject | undefined, containerId: string, lookup: EngineLookup): Promise<RequestFacts> {
  const sheet = new FactSheet()
  sheet.facts.privileged = asBool(field(body, 'Privileged'), 'Privileged')
  sheet.facts.user = asString(field(body, 'User'), 'User')
  return await containerPathFacts(sheet, containerId, lookup)
}

/**
 * PutContainerArchive: the container path the archive is extracted to, as the engine joins it to
 * `/` (moby daemon/archive.go: `filepath.Join("/", path)`), so `etc/../root` is `/root`. An absent
 * `path` is '' (the engine refuses the request). The files land wherever that path leads, the
 * container's host mounts included, so it has everything the container reaches too.
 *
 * @example await containerArchiveFacts(parseGoQuery('path=etc/../root', 'PutContainerArchive'), 'web', lookup) // { archivePath: '/root', hostPaths: [], … }
 */
export async function containerArchiveFacts (query: GoQuery, containerId: string, lookup: EngineLookup): Promise<RequestFacts> {
  const path = formValue(query, 'path')
  const sheet = new FactSheet()
  sheet.facts.archivePath = path === '' ? '' : cleanHostPath('/' + path)
  return await containerPathFacts(sheet, containerId, lookup)
}
