import type { JsonObject, JsonValue } from '../json-value.ts'
import type { RequestFacts } from '../request-facts.ts'
import { asObjectList, asStringList, field } from './body.ts'
import type { ContainerSnapshot, EngineLookup } from './engine-lookup.ts'
import { FactSheet, type ListFact } from './fact-sheet.ts'
import { joinedContainer, namespaceModes, recordHostConfig, volumesFromContainers, type NamespaceModes } from './host-config.ts'
import { recordMountPoint } from './volumes.ts'

/**
 * Host access borrowed from containers that already exist. A container the operator made on the
 * engine directly (a monitoring agent with host binds, `--pid host`, `--privileged`) lends what it
 * has to whoever joins its namespaces, mounts its volumes, execs into it, attaches to it or copies
 * its files. Such requests get the facts of that container merged into their own, read from its
 * inspect answer with the same code as a create body (host-config.ts), so the rules that deny a
 * privileged container also deny an exec into one.
 */

/**
 * How many containers deep `container:<x>` joins are followed: the container a request names is
 * depth 1, the ones it joins depth 2, theirs depth 3. A join deeper than that is not looked up
 * and counts as maximal access (see `UNKNOWN_ACCESS`): refusing the request would blame the
 * caller for how someone else's containers are made, and reading it as no access would be the
 * one wrong answer.
 */
export const MAX_JOIN_DEPTH = 3

/** The list facts that say what of the host a container reaches; with `privileged`, what is merged. */
export const ACCESS_LISTS = [
  'hostPaths', 'volumeMounts', 'hostNamespaces', 'capAdd', 'devices', 'deviceRequests', 'deviceCgroupRules', 'unconfined'
] as const satisfies readonly ListFact[]

/**
 * What a container counts as when its settings are not known (a join deeper than
 * MAX_JOIN_DEPTH): everything `--privileged` with every host namespace and `/` bound gives.
 */
const UNKNOWN_ACCESS: RequestFacts = Object.freeze({
  privileged: true,
  hostPaths: ['/'],
  volumeMounts: [],
  hostNamespaces: ['pid', 'ipc', 'uts', 'network', 'userns', 'cgroupns'],
  capAdd: ['ALL'],
  devices: ['ALL'],
  deviceRequests: [],
  deviceCgroupRules: ['a *:* rwm'],
  unconfined: ['seccomp', 'apparmor', 'label', 'systempaths', 'cgroups']
})

/** Part of what a container reaches, and the containers it comes from. */
export interface Reach {
  /** `privileged` and ACCESS_LISTS facts only. */
  readonly facts: RequestFacts
  /** The containers `facts` comes from, as written: the container itself first, then those it joins. */
  readonly containers: readonly string[]
}

/** What an existing container gives each way of reaching it. */
export interface ContainerReach {
  /**
   * Everything it reaches, its joins followed: what sharing its pid namespace (its processes'
   * `/proc/<pid>/root`), an exec in it, attaching to it or its files give.
   */
  readonly all: Reach
  /** Host paths and volume mounts of its mounts: what `VolumesFrom` copies. */
  readonly mounts: Reach
  /** `hostNamespaces: [network]` when its network namespace is the host's, its own or by a join. */
  readonly network: Reach
  /** `hostNamespaces: [ipc]` when its IPC namespace is the host's, its own or by a join. */
  readonly ipc: Reach
}

export type ReachScope = keyof ContainerReach

/** Only the facts that say what of the host is reached. */
function accessOf (facts: RequestFacts): RequestFacts {
  const out: RequestFacts = { privileged: facts.privileged ?? false }
  for (const name of ACCESS_LISTS) out[name] = [...(facts[name] ?? [])]
  return out
}

/** Whether a string list is given and empty (null and absent are "unset"). */
function isEmptyList (v: JsonValue | undefined, path: string): boolean {
  return v !== undefined && v !== null && asStringList(v, path).length === 0
}

/**
 * The access of one container by its own settings, joins not followed: its HostConfig, read
 * like a create body's, and its mount points (`.Mounts`, which also hold what its own
 * `VolumesFrom` copied), named volumes looked up. Two things are read differently from a body:
 * - `MaskedPaths`/`ReadonlyPaths`: the engine stores its defaults in every unprivileged
 *   container's HostConfig and applies them when a list is unset, so only an empty list (what
 *   `systempaths=unconfined` sends) turns them off;
 * - `CgroupnsMode: host` does not count: it is the engine's own default on cgroup v1 hosts, so
 *   every container there shows it, a caller's own container included (whose create body has
 *   `cgroupnsMode: ''`); counting it would deny exec into every container on such hosts while
 *   keeping nothing from the caller that a plain create does not give.
 */
async function ownAccess (snapshot: ContainerSnapshot, lookup: EngineLookup): Promise<RequestFacts> {
  const hc: JsonObject = snapshot.hostConfig
  const points = asObjectList(snapshot.mounts, 'Mounts')
  // Two sheets, merged in a fixed order: the facts do not depend on which lookup answers first.
  const sheet = new FactSheet()
  const mounted = new FactSheet()
  await Promise.all([
    recordHostConfig(sheet, hc, lookup),
    mounted.recordAll(points, async (s, m, i) => { await recordMountPoint(s, m, `Mounts[${i}]`, lookup) })
  ])
  sheet.merge(mounted.facts)
  if (isEmptyList(field(hc, 'MaskedPaths'), 'HostConfig.MaskedPaths') || isEmptyList(field(hc, 'ReadonlyPaths'), 'HostConfig.ReadonlyPaths')) {
    sheet.add('unconfined', 'systempaths')
  }
  const access = accessOf(sheet.facts)
  access.hostNamespaces = access.hostNamespaces!.filter((ns) => ns !== 'cgroupns')
  return access
}

function unknownReach (idOrName: string): ContainerReach {
  const containers = [idOrName]
  return {
    all: { facts: accessOf(UNKNOWN_ACCESS), containers },
    mounts: { facts: { hostPaths: ['/'], volumeMounts: [] }, containers },
    network: { facts: { hostNamespaces: ['network'] }, containers },
    ipc: { facts: { hostNamespaces: ['ipc'] }, containers }
  }
}

/** A namespace that is the host's by the container's own mode, or by the container it joins. */
function namespaceReach (self: string, mode: string, joined: ContainerReach | null, kind: 'network' | 'ipc'): Reach {
  if (mode === 'host') return { facts: { hostNamespaces: [kind] }, containers: [self] }
  if (joined === null) return { facts: {}, containers: [self] }
  return { facts: joined[kind].facts, containers: [self, ...joined[kind].containers] }
}

/**
 * What an existing container reaches of the host, by id or name as written; null when the engine
 * has no such container. Its `container:<x>` joins are followed to MAX_JOIN_DEPTH (`depth` is its
 * own: 1 for a container the request names): a pid join (and a `Cgroup` one, see
 * `createReachTargets`) brings everything of `x`, a network or IPC join that namespace. Lookups
 * of one level run at once.
 *
 * @example await containerReach('agent', lookup) // { all: { facts: { privileged: true, … }, containers: ['agent'] }, … }
 */
export async function containerReach (idOrName: string, lookup: EngineLookup, depth = 1): Promise<ContainerReach | null> {
  if (depth > MAX_JOIN_DEPTH) return unknownReach(idOrName)
  const snapshot = await lookup.container(idOrName)
  if (snapshot === null) return null
  const modes: NamespaceModes = namespaceModes(snapshot.hostConfig)
  const follow = async (mode: string): Promise<ContainerReach | null> => {
    const id = joinedContainer(mode)
    return id === '' ? null : await containerReach(id, lookup, depth + 1)
  }
  const [own, pid, ipc, network, cgroup] = await Promise.all([
    ownAccess(snapshot, lookup), follow(modes.pid), follow(modes.ipc), follow(modes.network), follow(modes.cgroup)
  ])
  const self = idOrName
  const networkReach = namespaceReach(self, modes.network, network, 'network')
  const ipcReach = namespaceReach(self, modes.ipc, ipc, 'ipc')

  const all = new FactSheet().merge(own).merge(networkReach.facts).merge(ipcReach.facts)
  const containers = new Set([...networkReach.containers, ...ipcReach.containers])
  for (const joined of [pid, cgroup]) {
    if (joined === null) continue
    all.merge(joined.all.facts)
    for (const c of joined.all.containers) containers.add(c)
  }
  return {
    all: { facts: accessOf(all.facts), containers: [...containers] },
    mounts: { facts: { hostPaths: own.hostPaths!, volumeMounts: own.volumeMounts! }, containers: [self] },
    network: networkReach,
    ipc: ipcReach
  }
}

/** Declares the access facts and `reachedContainers` (present, empty) on an operation that reaches containers. */
export function declareReach (sheet: FactSheet): FactSheet {
  sheet.facts.privileged ??= false
  return sheet.lists(...ACCESS_LISTS, 'reachedContainers')
}

/**
 * Merges what the named containers give into `sheet`: for each `[idOrName, scope]`, that part
 * of the container's reach, and its containers into `reachedContainers`. All containers are
 * looked up at once; a container the engine does not have adds nothing (the engine refuses the
 * request itself).
 *
 * @example await mergeReach(sheet, [['agent', 'all']], lookup)
 */
export async function mergeReach (sheet: FactSheet, targets: ReadonlyArray<readonly [string, ReachScope]>, lookup: EngineLookup): Promise<void> {
  const asked = new Map<string, Promise<ContainerReach | null>>()
  for (const [name] of targets) if (!asked.has(name)) asked.set(name, containerReach(name, lookup))
  const reaches = await Promise.all(targets.map(async ([name]) => await asked.get(name)!))
  targets.forEach(([, scope], i) => {
    const reach = reaches[i]
    if (reach === null || reach === undefined) return
    sheet.merge(reach[scope].facts)
    sheet.add('reachedContainers', ...reach[scope].containers)
  })
}

/**
 * The containers a create body reaches, and how:
 * - `VolumesFrom` (mode suffix dropped): the other container's mounts;
 * - `PidMode: container:x`: everything of x. Sharing x's pid namespace lets the new container's
 *   processes open `/proc/<pid>/root` of x's processes, so x's mounts, and with x privileged or
 *   in host namespaces the host itself;
 * - `NetworkMode`/`IpcMode: container:x`: that namespace, which is the host's when x's is;
 * - `HostConfig.Cgroup: container:x`: everything of x. The new container is placed in x's
 *   cgroup, whose device rules (all devices for a privileged x) and limits then apply to it;
 *   rarely used, so read as broadly as a pid join.
 *
 * @example createReachTargets({ VolumesFrom: ['data:ro'], PidMode: 'container:agent' }) // [['data', 'mounts'], ['agent', 'all']]
 */
export function createReachTargets (hc: JsonObject | undefined): Array<[string, ReachScope]> {
  const modes = namespaceModes(hc)
  const targets: Array<[string, ReachScope]> = volumesFromContainers(hc).map((name) => [name, 'mounts'])
  const joins: Array<[string, ReachScope]> = [[modes.pid, 'all'], [modes.network, 'network'], [modes.ipc, 'ipc'], [modes.cgroup, 'all']]
  for (const [mode, scope] of joins) targets.push([joinedContainer(mode), scope])
  return targets.filter(([name]) => name !== '')
}

/**
 * The facts of an operation on an existing container (exec create, attach, archive, export):
 * everything the container in its path reaches.
 *
 * @example await containerPathFacts(new FactSheet(), 'agent', lookup) // { privileged: true, hostPaths: ['/'], reachedContainers: ['agent'], … }
 */
export async function containerPathFacts (sheet: FactSheet, idOrName: string, lookup: EngineLookup): Promise<RequestFacts> {
  declareReach(sheet)
  if (idOrName !== '') await mergeReach(sheet, [[idOrName, 'all']], lookup)
  return sheet.facts
}

/**
 * ExecStart: everything the exec instance's container reaches (the exec is looked up for its
 * container). An unknown exec adds nothing: the engine refuses to start it.
 *
 * @example await execStartFacts('3f2c…', lookup) // { privileged: false, hostPaths: ['/var/log'], reachedContainers: ['9a1b…'], … }
 */
export async function execStartFacts (execId: string, lookup: EngineLookup): Promise<RequestFacts> {
  const sheet = declareReach(new FactSheet())
  const exec = execId === '' ? null : await lookup.exec(execId)
  if (exec !== null && exec.containerId !== '') await mergeReach(sheet, [[exec.containerId, 'all']], lookup)
  return sheet.facts
}
