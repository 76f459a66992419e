import type { JsonObject, JsonValue } from '../json-value.ts'
import { cleanHostPath } from '../host-path.ts'
import { asBool, asObjectList, asString, asStringList, field } from './body.ts'
import type { EngineLookup } from './engine-lookup.ts'
import type { FactSheet } from './fact-sheet.ts'
import { normalizeCapability, recordSecurityOpt } from './security.ts'
import { recordBind, recordMount } from './volumes.ts'

/**
 * The `HostConfig` fields through which a container reaches the host. A create body's HostConfig
 * and an existing container's (`GET /containers/{id}/json` `.HostConfig`) have the same field
 * names (moby api/types/container HostConfig), so both are read by this one piece of code.
 */

/**
 * A CDI device name (`vendor.com/class=name`, as in the CDI spec's parser.IsQualifiedName): kept
 * as written, it is not a path.
 */
function isCdiName (s: string): boolean {
  return /^[A-Za-z0-9][A-Za-z0-9._-]*\/[A-Za-z0-9][A-Za-z0-9_-]*=[^/]/.test(s)
}

/**
 * Devices, device requests and device cgroup rules of a `Resources` object (a HostConfig, or a
 * container update body, at `path`).
 *
 * @example recordDevices(sheet, { Devices: [{ PathOnHost: '/dev/sda' }] }, 'HostConfig') // devices += '/dev/sda'
 */
export function recordDevices (sheet: FactSheet, res: JsonObject | undefined, path: string): void {
  const at = (key: string): string => path === '' ? key : `${path}.${key}`
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
}

/** Namespace modes of a HostConfig as written ('' when unset), and its `Cgroup` spec. */
export interface NamespaceModes {
  readonly pid: string
  readonly ipc: string
  readonly uts: string
  readonly network: string
  readonly userns: string
  readonly cgroupns: string
  /** `HostConfig.Cgroup`: `container:<id>` puts the container in that container's cgroup. */
  readonly cgroup: string
}

/** The kinds of namespace `hostNamespaces` names. */
export type NamespaceKind = 'pid' | 'ipc' | 'uts' | 'network' | 'userns' | 'cgroupns'

/**
 * The namespace modes of a HostConfig.
 *
 * @example namespaceModes({ PidMode: 'host' }).pid // 'host'
 */
export function namespaceModes (hc: JsonObject | undefined): NamespaceModes {
  const h = (key: string): JsonValue | undefined => field(hc, key)
  return {
    pid: asString(h('PidMode'), 'HostConfig.PidMode'),
    ipc: asString(h('IpcMode'), 'HostConfig.IpcMode'),
    uts: asString(h('UTSMode'), 'HostConfig.UTSMode'),
    network: asString(h('NetworkMode'), 'HostConfig.NetworkMode'),
    userns: asString(h('UsernsMode'), 'HostConfig.UsernsMode'),
    cgroupns: asString(h('CgroupnsMode'), 'HostConfig.CgroupnsMode'),
    cgroup: asString(h('Cgroup'), 'HostConfig.Cgroup')
  }
}

/**
 * `container:<id>` → `<id>` (moby container.containerID); '' for other modes or an empty id.
 *
 * @example joinedContainer('container:db') // 'db'
 */
export function joinedContainer (mode: string): string {
  return mode.startsWith('container:') ? mode.slice('container:'.length) : ''
}

/**
 * `VolumesFrom` entries without their `:ro`/`:rw` suffix: the containers whose volumes are mounted.
 *
 * @example volumesFromContainers(['data:ro']) // ['data']
 */
export function volumesFromContainers (hc: JsonObject | undefined): string[] {
  return asStringList(field(hc, 'VolumesFrom'), 'HostConfig.VolumesFrom').map((from) => {
    const colon = from.indexOf(':')
    return colon === -1 ? from : from.slice(0, colon)
  })
}

/**
 * Records what a HostConfig reaches of the host: `privileged`; `hostPaths`, `volumeMounts`,
 * `namedVolumes` and `volumeDrivers` from `Binds`, `Mounts` and `VolumeDriver` (named volumes
 * are looked up, all at once); `volumesFrom`; `capAdd` (`CapAdd`, and API 1.40–1.43
 * `Capabilities`, which replaces the whole set, so every entry is granted) and `capDrop`;
 * devices, device requests and rules; the namespace modes (`pidMode`, …), the host ones in
 * `hostNamespaces` and joined containers in `containerNamespaces`; security options and what they
 * unconfine. `MaskedPaths`/`ReadonlyPaths` are left to the caller: a create body and an existing
 * container mean different things by them. Returns the namespace modes.
 *
 * @example await recordHostConfig(sheet, { Privileged: true, Binds: ['/:/host'] }, lookup) // privileged, hostPaths += '/'
 */
export async function recordHostConfig (sheet: FactSheet, hc: JsonObject | undefined, lookup: EngineLookup): Promise<NamespaceModes> {
  const facts = sheet.facts
  const h = (key: string): JsonValue | undefined => field(hc, key)
  facts.privileged = (facts.privileged ?? false) || asBool(h('Privileged'), 'HostConfig.Privileged')

  const binds = asStringList(h('Binds'), 'HostConfig.Binds')
  const mounts = asObjectList(h('Mounts'), 'HostConfig.Mounts')
  await sheet.recordAll([...binds, ...mounts], async (s, entry, i) => {
    if (typeof entry === 'string') await recordBind(s, entry, lookup)
    else await recordMount(s, entry, `HostConfig.Mounts[${i - binds.length}]`, lookup)
  })
  const volumeDriver = asString(h('VolumeDriver'), 'HostConfig.VolumeDriver')
  if (volumeDriver !== '') sheet.add('volumeDrivers', volumeDriver)
  sheet.add('volumesFrom', ...volumesFromContainers(hc))

  sheet.add('capAdd', ...asStringList(h('CapAdd'), 'HostConfig.CapAdd').map(normalizeCapability))
  sheet.add('capAdd', ...asStringList(h('Capabilities'), 'HostConfig.Capabilities').map(normalizeCapability))
  sheet.add('capDrop', ...asStringList(h('CapDrop'), 'HostConfig.CapDrop').map(normalizeCapability))

  recordDevices(sheet, hc, 'HostConfig')

  const modes = namespaceModes(hc)
  facts.pidMode = modes.pid
  facts.ipcMode = modes.ipc
  facts.utsMode = modes.uts
  facts.networkMode = modes.network
  facts.usernsMode = modes.userns
  facts.cgroupnsMode = modes.cgroupns
  const kinds: Array<[NamespaceKind, string]> = [
    ['pid', modes.pid], ['ipc', modes.ipc], ['uts', modes.uts], ['network', modes.network], ['userns', modes.userns], ['cgroupns', modes.cgroupns]
  ]
  // The engine's IsHost() on every mode is an exact, case-sensitive comparison with "host".
  for (const [kind, mode] of kinds) if (mode === 'host') sheet.add('hostNamespaces', kind)
  for (const mode of [modes.pid, modes.ipc, modes.network, modes.cgroup]) {
    const id = joinedContainer(mode)
    if (id !== '') sheet.add('containerNamespaces', id)
  }

  recordSecurityOpt(sheet, asStringList(h('SecurityOpt'), 'HostConfig.SecurityOpt'))
  return modes
}
