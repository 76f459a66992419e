import type { JsonObject, JsonValue } from '../json-value.ts'
import { formValue, type GoQuery } from '../go-query.ts'
import { cleanHostPath } from '../host-path.ts'
import { normalizeImageRef } from '../image-reference.ts'
import type { RequestFacts } from '../request-facts.ts'
import { asBool, asNumber, asObject, asObjectList, asString, asStringList, asStringMap, field } from './body.ts'
import type { EngineLookup } from './engine-lookup.ts'
import { FactSheet } from './fact-sheet.ts'
import { normalizeCapability, recordSecurityOpt } from './security.ts'
import { recordBind, recordMount } from './volumes.ts'

/**
 * Facts of the container operations: ContainerCreate (Config + HostConfig + NetworkingConfig),
 * ContainerUpdate (Resources + RestartPolicy), ContainerExec (exec create) and PutContainerArchive. Field names are the engine's
 * (moby api/types/container HostConfig, Resources, mount.Mount, network.EndpointSettings).
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
 * A CDI device name (`vendor.com/class=name`, as in the CDI spec's parser.IsQualifiedName): kept
 * as written, it is not a path.
 */
function isCdiName (s: string): boolean {
  return /^[A-Za-z0-9][A-Za-z0-9._-]*\/[A-Za-z0-9][A-Za-z0-9_-]*=[^/]/.test(s)
}

/**
 * The resource fields containers and updates share (moby container.Resources): devices, device
 * requests and rules, cgroup parent, limits and ulimits. `pidsLimit` of 0 or less is "unlimited"
 * (moby clears it), so it becomes 0.
 */
function recordResources (sheet: FactSheet, res: JsonObject | undefined, path: string): void {
  const at = (key: string): string => path === '' ? key : `${path}.${key}`
  const facts = sheet.facts
  asObjectList(field(res, 'Devices'), at('Devices')).forEach((d, i) => {
    const onHost = asString(field(d, 'PathOnHost'), `${at('Devices')}[${i}].PathOnHost`)
    if (onHost !== '') sheet.add('devices', isCdiName(onHost) ? onHost : cleanHostPath(onHost))
  })
  asObjectList(field(res, 'DeviceRequests'), at('DeviceRequests')).forEach((r, i) => {
    const p = `${at('DeviceRequests')}[${i}]`
    const driver = asString(field(r, 'Driver'), `${p}.Driver`)
    sheet.add('deviceRequests', driver === '' ? 'default' : driver)
    // CDI requests name their devices in DeviceIDs (the CLI turns `--device vendor/class=x` into one).
    const ids = asStringList(field(r, 'DeviceIDs'), `${p}.DeviceIDs`)
    if (driver === 'cdi') sheet.add('devices', ...ids)
  })
  sheet.add('deviceCgroupRules', ...asStringList(field(res, 'DeviceCgroupRules'), at('DeviceCgroupRules')))
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

/** `container:<id>` → `<id>` (moby container.containerID); '' for other modes or an empty id. */
function joinedContainer (mode: string): string {
  return mode.startsWith('container:') ? mode.slice('container:'.length) : ''
}

/** Whether a string list field is set at all (null and absent are "keep the default"). */
function isSet (v: JsonValue | undefined): boolean {
  return v !== undefined && v !== null
}

/**
 * ContainerCreate: every fact a container has, from `Config`, `HostConfig` and
 * `NetworkingConfig.EndpointsConfig`. Named volumes in `Binds` and `Mounts` are looked up in the
 * engine. A network endpoint keyed `host` counts as the host network, like `NetworkMode: host`.
 *
 * @example await containerCreateFacts({ Image: 'busybox', HostConfig: { Privileged: true } }, null, offlineLookup)
 */
export async function containerCreateFacts (body: JsonObject | undefined, version: string | null, lookup: EngineLookup): Promise<RequestFacts> {
  const sheet = new FactSheet().lists(
    'hostPaths', 'volumeMounts', 'namedVolumes', 'volumeDrivers', 'volumesFrom', 'capAdd', 'capDrop',
    ...RESOURCE_LISTS, 'hostNamespaces', 'containerNamespaces', 'securityOpt', 'unconfined', 'sysctls',
    'portHostIps', 'hostPorts', 'extraHosts'
  )
  const facts = sheet.facts
  const hc = asObject(field(body, 'HostConfig'), 'HostConfig')
  const h = (key: string): JsonValue | undefined => field(hc, key)

  facts.image = normalizeImageRef(asString(field(body, 'Image'), 'Image'))
  facts.user = asString(field(body, 'User'), 'User')
  facts.privileged = asBool(h('Privileged'), 'HostConfig.Privileged')

  for (const bind of asStringList(h('Binds'), 'HostConfig.Binds')) await recordBind(sheet, bind, lookup)
  const mounts = asObjectList(h('Mounts'), 'HostConfig.Mounts')
  for (const [i, m] of mounts.entries()) await recordMount(sheet, m, `HostConfig.Mounts[${i}]`, lookup)
  const volumeDriver = asString(h('VolumeDriver'), 'HostConfig.VolumeDriver')
  if (volumeDriver !== '') sheet.add('volumeDrivers', volumeDriver)
  for (const from of asStringList(h('VolumesFrom'), 'HostConfig.VolumesFrom')) {
    const colon = from.indexOf(':')
    sheet.add('volumesFrom', colon === -1 ? from : from.slice(0, colon))
  }

  sheet.add('capAdd', ...asStringList(h('CapAdd'), 'HostConfig.CapAdd').map(normalizeCapability))
  // API 1.40–1.43 `Capabilities` replaces the whole set: every entry is granted.
  sheet.add('capAdd', ...asStringList(h('Capabilities'), 'HostConfig.Capabilities').map(normalizeCapability))
  sheet.add('capDrop', ...asStringList(h('CapDrop'), 'HostConfig.CapDrop').map(normalizeCapability))

  recordResources(sheet, hc, 'HostConfig')

  const modes = {
    pid: (facts.pidMode = asString(h('PidMode'), 'HostConfig.PidMode')),
    ipc: (facts.ipcMode = asString(h('IpcMode'), 'HostConfig.IpcMode')),
    uts: (facts.utsMode = asString(h('UTSMode'), 'HostConfig.UTSMode')),
    network: (facts.networkMode = asString(h('NetworkMode'), 'HostConfig.NetworkMode')),
    userns: (facts.usernsMode = asString(h('UsernsMode'), 'HostConfig.UsernsMode')),
    cgroupns: (facts.cgroupnsMode = asString(h('CgroupnsMode'), 'HostConfig.CgroupnsMode'))
  }
  // The engine's IsHost() on every mode is an exact, case-sensitive comparison with "host".
  for (const [kind, mode] of Object.entries(modes)) if (mode === 'host') sheet.add('hostNamespaces', kind)
  const cgroup = asString(h('Cgroup'), 'HostConfig.Cgroup')
  for (const mode of [modes.pid, modes.ipc, modes.network, cgroup]) {
    const id = joinedContainer(mode)
    if (id !== '') sheet.add('containerNamespaces', id)
  }

  recordSecurityOpt(sheet, asStringList(h('SecurityOpt'), 'HostConfig.SecurityOpt'))
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
  recordResources(sheet, body, '')
  if (versionBefore(version, '1.40')) sheet.facts.pidsLimit = 0
  return sheet.facts
}

/**
 * ContainerExec (exec create): whether the process is privileged, and its user.
 *
 * @example execCreateFacts({ Privileged: true, User: 'root' }) // { privileged: true, user: 'root' }
 */
export function execCreateFacts (body: JsonObject | undefined): RequestFacts {
  return {
    privileged: asBool(field(body, 'Privileged'), 'Privileged'),
    user: asString(field(body, 'User'), 'User')
  }
}

/**
 * PutContainerArchive: the container path the archive is extracted to, as the engine joins it to
 * `/` (moby daemon/archive.go: `filepath.Join("/", path)`), so `etc/../root` is `/root`. An absent
 * `path` is '' (the engine refuses the request).
 *
 * @example containerArchiveFacts(parseGoQuery('path=etc/../root', 'PutContainerArchive')) // { archivePath: '/root' }
 */
export function containerArchiveFacts (query: GoQuery): RequestFacts {
  const path = formValue(query, 'path')
  return { archivePath: path === '' ? '' : cleanHostPath('/' + path) }
}
