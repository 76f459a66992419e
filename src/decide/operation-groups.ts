import { routeTable } from '../route/route-table.ts'

/**
 * Every Engine API operation in exactly one group, so policy rules can name what a request does
 * (`containers.write`) instead of listing dozens of operation names. Groups are cut along what an
 * operator grants: reading state, changing it, reading data out of containers and images, and
 * opening a shell are separate, because a read-only tool must not get the last two by accident.
 *
 * A rule may name an operation (`ContainerCreate`), an older alias of one (`ContainerGetArchive`),
 * a group (`containers.read`), or a family: the part of group names before the dot
 * (`containers` = every `containers.*` group). Operation names start with an upper-case letter,
 * groups and families are lower-case, so the three can never collide.
 *
 * | group | operations |
 * |---|---|
 * | `system.read` | SystemPing, SystemPingHead, SystemVersion, SystemInfo, SystemEvents, SystemDataUsage |
 * | `registry` | SystemAuth, ImageSearch, DistributionInspect: the engine asks a registry, nothing local changes |
 * | `containers.read` | ContainerList, ContainerInspect, ContainerTop, ContainerChanges, ContainerStats, ContainerWait |
 * | `containers.logs` | ContainerLogs |
 * | `containers.write` | ContainerCreate, ContainerStart, ContainerStop, ContainerKill, ContainerRestart, ContainerPause, ContainerUnpause, ContainerRename, ContainerUpdate, ContainerResize, ContainerDelete, ContainerPrune |
 * | `containers.attach` | ContainerAttach, ContainerAttachWebsocket |
 * | `containers.files` | ContainerArchive, ContainerArchiveInfo, PutContainerArchive, ContainerExport |
 * | `exec` | ContainerExec, ExecStart, ExecResize, ExecInspect |
 * | `images.read` | ImageList, ImageInspect, ImageHistory, ImageAttestations |
 * | `images.pull` | ImageCreate (pull, and import: see the `importSource` fact) |
 * | `images.push` | ImagePush |
 * | `images.write` | ImageTag, ImageDelete, ImagePrune, ImageCommit, ImageLoad |
 * | `images.export` | ImageGet, ImageGetAll |
 * | `build` | ImageBuild, BuildPrune, Session, Grpc |
 * | `volumes.read` | VolumeList, VolumeInspect |
 * | `volumes.write` | VolumeCreate, VolumeUpdate, VolumeDelete, VolumePrune |
 * | `networks.read` | NetworkList, NetworkInspect |
 * | `networks.write` | NetworkCreate, NetworkDelete, NetworkPrune, NetworkConnect, NetworkDisconnect |
 * | `swarm` | SwarmInspect, SwarmInit, SwarmJoin, SwarmLeave, SwarmUpdate, SwarmUnlock, SwarmUnlockkey |
 * | `nodes.read` | NodeList, NodeInspect |
 * | `nodes.write` | NodeUpdate, NodeDelete |
 * | `services.read` | ServiceList, ServiceInspect |
 * | `services.logs` | ServiceLogs, TaskLogs |
 * | `services.write` | ServiceCreate, ServiceUpdate, ServiceDelete |
 * | `tasks.read` | TaskList, TaskInspect |
 * | `secrets.read` | SecretList, SecretInspect (metadata only; the engine never returns secret data) |
 * | `secrets.write` | SecretCreate, SecretUpdate, SecretDelete |
 * | `configs.read` | ConfigList, ConfigInspect (returns the config's data) |
 * | `configs.write` | ConfigCreate, ConfigUpdate, ConfigDelete |
 * | `plugins.read` | PluginList, PluginInspect, GetPluginPrivileges |
 * | `plugins.write` | PluginPull, PluginCreate, PluginEnable, PluginDisable, PluginSet, PluginUpgrade, PluginPush, PluginDelete |
 *
 * Choices worth knowing: `ContainerWait` is a read (it only waits for an exit code; `docker run`
 * needs it). `containers.files` and `images.export` are apart from the reads because they copy
 * file contents out (or in). `SwarmInspect` is in `swarm`, not a read group, because its answer
 * holds the join tokens. `ContainerInspect` is a read although it shows environment variables.
 */
export const groupByOperation: ReadonlyMap<string, string> = new Map([
  ['SystemPing', 'system.read'],
  ['SystemPingHead', 'system.read'],
  ['SystemVersion', 'system.read'],
  ['SystemInfo', 'system.read'],
  ['SystemEvents', 'system.read'],
  ['SystemDataUsage', 'system.read'],

  ['SystemAuth', 'registry'],
  ['ImageSearch', 'registry'],
  ['DistributionInspect', 'registry'],

  ['ContainerList', 'containers.read'],
  ['ContainerInspect', 'containers.read'],
  ['ContainerTop', 'containers.read'],
  ['ContainerChanges', 'containers.read'],
  ['ContainerStats', 'containers.read'],
  ['ContainerWait', 'containers.read'],
  ['ContainerLogs', 'containers.logs'],
  ['ContainerCreate', 'containers.write'],
  ['ContainerStart', 'containers.write'],
  ['ContainerStop', 'containers.write'],
  ['ContainerKill', 'containers.write'],
  ['ContainerRestart', 'containers.write'],
  ['ContainerPause', 'containers.write'],
  ['ContainerUnpause', 'containers.write'],
  ['ContainerRename', 'containers.write'],
  ['ContainerUpdate', 'containers.write'],
  ['ContainerResize', 'containers.write'],
  ['ContainerDelete', 'containers.write'],
  ['ContainerPrune', 'containers.write'],
  ['ContainerAttach', 'containers.attach'],
  ['ContainerAttachWebsocket', 'containers.attach'],
  ['ContainerArchive', 'containers.files'],
  ['ContainerArchiveInfo', 'containers.files'],
  ['PutContainerArchive', 'containers.files'],
  ['ContainerExport', 'containers.files'],

  ['ContainerExec', 'exec'],
  ['ExecStart', 'exec'],
  ['ExecResize', 'exec'],
  ['ExecInspect', 'exec'],

  ['ImageList', 'images.read'],
  ['ImageInspect', 'images.read'],
  ['ImageHistory', 'images.read'],
  ['ImageAttestations', 'images.read'],
  ['ImageCreate', 'images.pull'],
  ['ImagePush', 'images.push'],
  ['ImageTag', 'images.write'],
  ['ImageDelete', 'images.write'],
  ['ImagePrune', 'images.write'],
  ['ImageCommit', 'images.write'],
  ['ImageLoad', 'images.write'],
  ['ImageGet', 'images.export'],
  ['ImageGetAll', 'images.export'],

  ['ImageBuild', 'build'],
  ['BuildPrune', 'build'],
  ['Session', 'build'],
  ['Grpc', 'build'],

  ['VolumeList', 'volumes.read'],
  ['VolumeInspect', 'volumes.read'],
  ['VolumeCreate', 'volumes.write'],
  ['VolumeUpdate', 'volumes.write'],
  ['VolumeDelete', 'volumes.write'],
  ['VolumePrune', 'volumes.write'],

  ['NetworkList', 'networks.read'],
  ['NetworkInspect', 'networks.read'],
  ['NetworkCreate', 'networks.write'],
  ['NetworkDelete', 'networks.write'],
  ['NetworkPrune', 'networks.write'],
  ['NetworkConnect', 'networks.write'],
  ['NetworkDisconnect', 'networks.write'],

  ['SwarmInspect', 'swarm'],
  ['SwarmInit', 'swarm'],
  ['SwarmJoin', 'swarm'],
  ['SwarmLeave', 'swarm'],
  ['SwarmUpdate', 'swarm'],
  ['SwarmUnlock', 'swarm'],
  ['SwarmUnlockkey', 'swarm'],
  ['NodeList', 'nodes.read'],
  ['NodeInspect', 'nodes.read'],
  ['NodeUpdate', 'nodes.write'],
  ['NodeDelete', 'nodes.write'],
  ['ServiceList', 'services.read'],
  ['ServiceInspect', 'services.read'],
  ['ServiceLogs', 'services.logs'],
  ['TaskLogs', 'services.logs'],
  ['ServiceCreate', 'services.write'],
  ['ServiceUpdate', 'services.write'],
  ['ServiceDelete', 'services.write'],
  ['TaskList', 'tasks.read'],
  ['TaskInspect', 'tasks.read'],
  ['SecretList', 'secrets.read'],
  ['SecretInspect', 'secrets.read'],
  ['SecretCreate', 'secrets.write'],
  ['SecretUpdate', 'secrets.write'],
  ['SecretDelete', 'secrets.write'],
  ['ConfigList', 'configs.read'],
  ['ConfigInspect', 'configs.read'],
  ['ConfigCreate', 'configs.write'],
  ['ConfigUpdate', 'configs.write'],
  ['ConfigDelete', 'configs.write'],

  ['PluginList', 'plugins.read'],
  ['PluginInspect', 'plugins.read'],
  ['GetPluginPrivileges', 'plugins.read'],
  ['PluginPull', 'plugins.write'],
  ['PluginCreate', 'plugins.write'],
  ['PluginEnable', 'plugins.write'],
  ['PluginDisable', 'plugins.write'],
  ['PluginSet', 'plugins.write'],
  ['PluginUpgrade', 'plugins.write'],
  ['PluginPush', 'plugins.write'],
  ['PluginDelete', 'plugins.write']
])

/** Older operationIds (route table `aliases`) → the operation name requests carry. */
const operationByAlias: ReadonlyMap<string, string> = new Map(
  routeTable.flatMap((r) => (r.aliases ?? []).map((alias) => [alias, r.operation] as const))
)

/** Group name → its operations, in table order. */
export const operationsByGroup: ReadonlyMap<string, readonly string[]> = (() => {
  const out = new Map<string, string[]>()
  for (const [op, group] of groupByOperation) {
    const list = out.get(group) ?? []
    list.push(op)
    out.set(group, list)
  }
  return out
})()

/** Family (`containers`) → its groups (`containers.read`, …); only for dotted group names. */
const groupsByFamily: ReadonlyMap<string, readonly string[]> = (() => {
  const out = new Map<string, string[]>()
  for (const group of operationsByGroup.keys()) {
    const dot = group.indexOf('.')
    if (dot === -1) continue
    const family = group.slice(0, dot)
    out.set(family, [...(out.get(family) ?? []), group])
  }
  return out
})()

/**
 * The operations a name in a rule stands for: an operation or alias (itself, under its current
 * name), a group, or a family of groups. Null when the name is none of these.
 *
 * @example resolveOperationRef('containers.files') // ['ContainerArchive', 'ContainerArchiveInfo', 'PutContainerArchive', 'ContainerExport']
 */
export function resolveOperationRef (name: string): readonly string[] | null {
  if (groupByOperation.has(name)) return [name]
  const aliased = operationByAlias.get(name)
  if (aliased !== undefined) return [aliased]
  const group = operationsByGroup.get(name)
  if (group !== undefined) return group
  const family = groupsByFamily.get(name)
  if (family !== undefined) return family.flatMap((g) => operationsByGroup.get(g) ?? [])
  return null
}

/**
 * Every name a rule may use under `operations:` (for error hints and docs).
 *
 * @example operationRefNames().includes('containers.read') // true
 */
export function operationRefNames (): string[] {
  return [...groupByOperation.keys(), ...operationByAlias.keys(), ...operationsByGroup.keys(), ...groupsByFamily.keys()]
}
