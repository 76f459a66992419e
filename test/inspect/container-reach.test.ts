import { test } from 'node:test'
import assert from 'node:assert/strict'
import { extractFacts, MAX_LOOKUPS, offlineLookup, type ContainerSnapshot, type EngineLookup } from '../../src/inspect/request-facts-extract.ts'
import { requestLookup } from '../../src/inspect/facts/engine-lookup.ts'
import { MAX_JOIN_DEPTH } from '../../src/inspect/facts/container-reach.ts'
import { parseGoQuery } from '../../src/inspect/go-query.ts'
import type { JsonArray, JsonObject } from '../../src/inspect/json-value.ts'
import type { RequestFacts } from '../../src/inspect/request-facts.ts'
import { jsonTree } from '../support/json-tree.ts'
import { BadRequestBodyError } from '../../src/core/errors.ts'
import { loadPolicy } from '../../src/decide/policy-loader.ts'
import { anonymousIdentity } from '../../src/identify/identity.ts'
import { routeTable } from '../../src/route/route-table.ts'

const j = jsonTree

// What `GET /containers/{id}/json` shows for a plain `docker run -d busybox` on a cgroup v1 host
// (engine 27): the engine fills in its defaults, host cgroupns and the masked paths among them.
const PLAIN_HOST_CONFIG = {
  Binds: null, ContainerIDFile: '', LogConfig: { Type: 'json-file', Config: {} }, NetworkMode: 'bridge', PortBindings: {},
  RestartPolicy: { Name: 'no', MaximumRetryCount: 0 }, AutoRemove: false, VolumeDriver: '', VolumesFrom: null, ConsoleSize: [0, 0],
  CapAdd: null, CapDrop: null, CgroupnsMode: 'host', Dns: [], DnsOptions: [], DnsSearch: [], ExtraHosts: null, GroupAdd: null,
  IpcMode: 'private', Cgroup: '', Links: null, OomScoreAdj: 0, PidMode: '', Privileged: false, PublishAllPorts: false,
  ReadonlyRootfs: false, SecurityOpt: null, UTSMode: '', UsernsMode: '', ShmSize: 67108864, Runtime: 'runc', Isolation: '',
  CpuShares: 0, Memory: 0, NanoCpus: 0, CgroupParent: '', BlkioWeight: 0, Devices: [], DeviceCgroupRules: null, DeviceRequests: null,
  MemoryReservation: 0, MemorySwap: 0, OomKillDisable: false, PidsLimit: null, Ulimits: [],
  MaskedPaths: ['/proc/asound', '/proc/acpi', '/proc/kcore', '/proc/keys', '/proc/latency_stats', '/proc/timer_list', '/proc/timer_stats', '/proc/sched_debug', '/proc/scsi', '/sys/firmware', '/sys/devices/virtual/powercap'],
  ReadonlyPaths: ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger']
}

/** An inspect answer: the plain HostConfig with `over` on top, and these mount points. */
function container (name: string, over: Record<string, unknown> = {}, mounts: unknown[] = []): ContainerSnapshot {
  return { id: `${name}-id`, name: `/${name}`, hostConfig: j({ ...PLAIN_HOST_CONFIG, ...over }) as JsonObject, mounts: j(mounts) as JsonArray }
}

interface Engine {
  volumes?: Record<string, { driver: string, options: Record<string, string> }>
  containers?: Record<string, ContainerSnapshot>
  execs?: Record<string, string>
}

/** A fake engine, recording every lookup as `kind name`. */
function fakeEngine (engine: Engine): EngineLookup & { asked: string[] } {
  const asked: string[] = []
  return {
    asked,
    volume: async (name) => { asked.push(`volume ${name}`); return engine.volumes?.[name] ?? null },
    container: async (id) => { asked.push(`container ${id}`); return engine.containers?.[id] ?? null },
    exec: async (id) => {
      asked.push(`exec ${id}`)
      const c = engine.execs?.[id]
      return c === undefined ? null : { containerId: c }
    }
  }
}

async function facts (operation: string, lookup: EngineLookup, opts: { body?: unknown, params?: Record<string, string>, query?: string } = {}): Promise<RequestFacts> {
  return await extractFacts({
    operation,
    version: '1.41',
    params: opts.params ?? {},
    query: parseGoQuery(opts.query ?? '', operation),
    body: opts.body === undefined ? undefined : j(opts.body)
  }, lookup)
}

const create = async (hostConfig: Record<string, unknown>, lookup: EngineLookup): Promise<RequestFacts> =>
  await facts('ContainerCreate', lookup, { body: { Image: 'busybox', HostConfig: hostConfig } })

/** The facts that say what of the host is reached, for comparing whole. */
function access (f: RequestFacts): RequestFacts {
  const { privileged, hostPaths, volumeMounts, hostNamespaces, capAdd, devices, deviceRequests, deviceCgroupRules, unconfined, reachedContainers } = f
  return { privileged, hostPaths, volumeMounts, hostNamespaces, capAdd, devices, deviceRequests, deviceCgroupRules, unconfined, reachedContainers } as RequestFacts
}

const NOTHING: RequestFacts = {
  privileged: false, hostPaths: [], volumeMounts: [], hostNamespaces: [], capAdd: [], devices: [], deviceRequests: [],
  deviceCgroupRules: [], unconfined: [], reachedContainers: []
}

// An operator's monitoring agent: host binds, a bind-backed named volume, host pid and network.
const agent = container('agent', { Binds: ['/var/run/docker.sock:/var/run/docker.sock:ro', 'agentdata:/data'], PidMode: 'host', NetworkMode: 'host' }, [
  { Type: 'bind', Source: '/var/run/docker.sock', Destination: '/var/run/docker.sock', Mode: 'ro', RW: false, Propagation: 'rprivate' },
  { Type: 'bind', Source: '/proc', Destination: '/host/proc', Mode: '', RW: false, Propagation: 'rprivate' },
  { Type: 'volume', Name: 'agentdata', Source: '/var/lib/docker/volumes/agentdata/_data', Destination: '/data', Driver: 'local', Mode: 'z', RW: true, Propagation: '' }
])
const privileged = container('priv', { Privileged: true, MaskedPaths: null, ReadonlyPaths: null, CapAdd: ['SYS_ADMIN'], Devices: [{ PathOnHost: '/dev/fuse', PathInContainer: '/dev/fuse', CgroupPermissions: 'rwm' }] })
const web = container('web', {}, [{ Type: 'volume', Name: 'webdata', Source: '/var/lib/docker/volumes/webdata/_data', Destination: '/srv', Driver: 'local', RW: true }])
const volumes = {
  agentdata: { driver: 'local', options: { type: 'none', o: 'bind', device: '/etc' } },
  webdata: { driver: 'local', options: {} }
}
const engine = (): EngineLookup & { asked: string[] } =>
  fakeEngine({ volumes, containers: { agent, 'agent-id': agent, priv: privileged, web }, execs: { e1: 'agent-id', e2: 'web' } })

// --- ContainerCreate ------------------------------------------------------------------------------

test('VolumesFrom a container with binds: its host paths (mount points and binds, bind-backed volumes too), nothing else', async () => {
  const f = await create({ VolumesFrom: ['agent:ro'] }, engine())
  assert.deepEqual(f.hostPaths, ['/var/run/docker.sock', '/etc', '/proc'])
  assert.deepEqual(f.hostNamespaces, [])
  assert.equal(f.privileged, false)
  assert.deepEqual(f.volumesFrom, ['agent'])
  assert.deepEqual(f.reachedContainers, ['agent'])
})

test('VolumesFrom a privileged container without mounts adds no host paths and not its privileges', async () => {
  const f = await create({ VolumesFrom: ['priv'] }, engine())
  assert.deepEqual(access(f), { ...NOTHING, reachedContainers: ['priv'] })
})

test('VolumesFrom: a volume mount of the other container (nfs) is a volume mount', async () => {
  const nfs = container('nfs', {}, [{ Type: 'volume', Name: 'share', Destination: '/share', Driver: 'local' }])
  const lookup = fakeEngine({ volumes: { share: { driver: 'local', options: { type: 'nfs', o: 'addr=10.0.0.1', device: ':/export' } } }, containers: { nfs } })
  assert.deepEqual((await create({ VolumesFrom: ['nfs'] }, lookup)).volumeMounts, ['nfs'])
})

test('PidMode container:<privileged> merges everything of it', async () => {
  const f = await create({ PidMode: 'container:priv' }, engine())
  assert.deepEqual(access(f), { ...NOTHING, privileged: true, capAdd: ['CAP_SYS_ADMIN'], devices: ['/dev/fuse'], reachedContainers: ['priv'] })
  assert.deepEqual(f.containerNamespaces, ['priv'])
  assert.equal(f.pidMode, 'container:priv')
})

test('PidMode container:<agent> merges its binds and host namespaces (its /proc/<pid>/root)', async () => {
  const f = await create({ PidMode: 'container:agent' }, engine())
  assert.deepEqual(f.hostPaths, ['/var/run/docker.sock', '/etc', '/proc'])
  assert.deepEqual(f.hostNamespaces, ['pid', 'network'])
})

test('NetworkMode container:<host-network container> is the host network, and only that', async () => {
  const f = await create({ NetworkMode: 'container:agent' }, engine())
  assert.deepEqual(access(f), { ...NOTHING, hostNamespaces: ['network'], reachedContainers: ['agent'] })
  const g = await create({ NetworkMode: 'container:priv' }, engine())
  assert.deepEqual(access(g), { ...NOTHING, reachedContainers: ['priv'] })
})

test('IpcMode container:<host-ipc container> is the host IPC namespace', async () => {
  const lookup = fakeEngine({ containers: { shm: container('shm', { IpcMode: 'host' }), own: container('own', { IpcMode: 'shareable' }) } })
  assert.deepEqual((await create({ IpcMode: 'container:shm' }, lookup)).hostNamespaces, ['ipc'])
  assert.deepEqual((await create({ IpcMode: 'container:own' }, lookup)).hostNamespaces, [])
})

test('a chain of joins: container:a, which joins container:b, whose network is the host', async () => {
  const lookup = fakeEngine({ containers: { a: container('a', { NetworkMode: 'container:b' }), b: container('b', { NetworkMode: 'host' }) } })
  const f = await create({ NetworkMode: 'container:a' }, lookup)
  assert.deepEqual(f.hostNamespaces, ['network'])
  assert.deepEqual(f.reachedContainers, ['a', 'b'])
})

test('a chain of pid joins: the privileged container at its end counts', async () => {
  const lookup = fakeEngine({ containers: { a: container('a', { PidMode: 'container:b' }), b: container('b', { Privileged: true }) } })
  const f = await create({ PidMode: 'container:a' }, lookup)
  assert.equal(f.privileged, true)
  assert.deepEqual(f.reachedContainers, ['a', 'b'])
})

test('a pid join brings what the joined container has through its own network join', async () => {
  const lookup = fakeEngine({ containers: { a: container('a', { NetworkMode: 'container:b' }), b: container('b', { NetworkMode: 'host', Privileged: true }) } })
  const f = await create({ PidMode: 'container:a' }, lookup)
  assert.deepEqual(f.hostNamespaces, ['network'])
  assert.equal(f.privileged, false, 'sharing a network namespace does not share the other container\'s privileges')
})

test(`joins deeper than ${MAX_JOIN_DEPTH} are not looked up and count as maximal access`, async () => {
  const lookup = fakeEngine({
    containers: {
      a: container('a', { NetworkMode: 'container:b', PidMode: 'container:b' }),
      b: container('b', { NetworkMode: 'container:c', PidMode: 'container:c' }),
      c: container('c', { NetworkMode: 'container:d', PidMode: 'container:d' }),
      d: container('d')
    }
  })
  const f = await create({ NetworkMode: 'container:a' }, lookup)
  assert.deepEqual(f.hostNamespaces, ['network'])
  assert.equal(f.privileged, false)
  assert.deepEqual(f.reachedContainers, ['a', 'b', 'c', 'd'])
  assert.deepEqual(lookup.asked.filter((a) => a.startsWith('container')), ['container a', 'container b', 'container c'])
  const g = await create({ PidMode: 'container:a' }, lookup)
  assert.equal(g.privileged, true)
  assert.deepEqual(g.hostPaths, ['/'])
})

test('a join cycle ends at the depth limit', async () => {
  const lookup = fakeEngine({ containers: { a: container('a', { PidMode: 'container:b' }), b: container('b', { PidMode: 'container:a' }) } })
  const f = await create({ PidMode: 'container:a' }, lookup)
  assert.equal(f.privileged, true)
  assert.deepEqual(f.reachedContainers, ['a', 'b'])
})

test('Cgroup container:<x> merges everything of x', async () => {
  assert.equal((await create({ Cgroup: 'container:priv' }, engine())).privileged, true)
})

test('a container the engine does not have adds nothing (the engine refuses the request)', async () => {
  const lookup = engine()
  const f = await create({ VolumesFrom: ['ghost'], PidMode: 'container:ghost', NetworkMode: 'container:ghost2', Cgroup: 'container:' }, lookup)
  assert.deepEqual(access(f), NOTHING)
  assert.deepEqual(f.containerNamespaces, ['ghost', 'ghost2'])
  assert.deepEqual(lookup.asked, ['container ghost', 'container ghost2'], 'each container is looked up once')
})

test('an ordinary container lends nothing: engine defaults (host cgroupns on cgroup v1, masked paths) do not count', async () => {
  const f = await create({ VolumesFrom: ['web'], PidMode: 'container:web', NetworkMode: 'container:web', IpcMode: 'container:web' }, engine())
  assert.deepEqual(access(f), { ...NOTHING, reachedContainers: ['web'] })
})

test('a container with system paths unmasked (empty lists) is unconfined; unset lists are the defaults', async () => {
  const lookup = fakeEngine({ containers: { open: container('open', { MaskedPaths: [], ReadonlyPaths: [] }), old: container('old', { MaskedPaths: null, ReadonlyPaths: null }) } })
  assert.deepEqual((await create({ PidMode: 'container:open' }, lookup)).unconfined, ['systempaths'])
  assert.deepEqual((await create({ PidMode: 'container:old' }, lookup)).unconfined, [])
})

test('security options, device requests and rules of a reached container count', async () => {
  const lookup = fakeEngine({
    containers: {
      x: container('x', { SecurityOpt: ['seccomp=unconfined', 'apparmor=unconfined'], DeviceRequests: [{ Driver: 'nvidia', Count: -1, Capabilities: [['gpu']] }], DeviceCgroupRules: ['c 1:3 rwm'], UsernsMode: 'host', UTSMode: 'host' })
    }
  })
  const f = await facts('ContainerExec', lookup, { body: { Cmd: ['sh'] }, params: { id: 'x' } })
  assert.deepEqual(f.unconfined, ['seccomp', 'apparmor'])
  assert.deepEqual(f.deviceRequests, ['nvidia'])
  assert.deepEqual(f.deviceCgroupRules, ['c 1:3 rwm'])
  assert.deepEqual(f.hostNamespaces, ['uts', 'userns'])
})

test('the body\'s own facts stay first; reached ones follow', async () => {
  const f = await create({ Binds: ['/srv:/srv'], PidMode: 'container:agent' }, engine())
  assert.deepEqual(f.hostPaths, ['/srv', '/var/run/docker.sock', '/etc', '/proc'])
})

test('ImageBuild networkmode=container:<host-network container> is the host network', async () => {
  const f = await facts('ImageBuild', engine(), { query: 'networkmode=container%3Aagent' })
  assert.deepEqual(f.hostNamespaces, ['network'])
  assert.deepEqual(f.reachedContainers, ['agent'])
  const g = await facts('ImageBuild', engine(), { query: 'networkmode=container%3Apriv' })
  assert.deepEqual(g.hostNamespaces, [])
  assert.equal(g.privileged, undefined, 'a build has no privileged fact: only the network is shared')
})

// --- operations on an existing container ---------------------------------------------------------

const onContainer = ['ContainerExec', 'ContainerAttach', 'ContainerAttachWebsocket', 'ContainerArchive', 'ContainerArchiveInfo', 'PutContainerArchive', 'ContainerExport']

for (const op of onContainer) {
  test(`${op}: has everything of the container in its path`, async () => {
    const body = op === 'ContainerExec' ? { Cmd: ['sh'] } : undefined
    const query = op === 'PutContainerArchive' ? 'path=%2Ftmp' : op.startsWith('ContainerArchive') ? 'path=%2Fetc' : ''
    const a = await facts(op, engine(), { body, query, params: { id: 'agent' } })
    assert.deepEqual(access(a), { ...NOTHING, hostPaths: ['/var/run/docker.sock', '/etc', '/proc'], hostNamespaces: ['pid', 'network'], reachedContainers: ['agent'] })
    const p = await facts(op, engine(), { body, query, params: { id: 'priv' } })
    assert.equal(p.privileged, true)
    const w = await facts(op, engine(), { body, query, params: { id: 'web' } })
    assert.deepEqual(access(w), { ...NOTHING, reachedContainers: ['web'] })
    const none = await facts(op, engine(), { body, query, params: { id: 'ghost' } })
    assert.deepEqual(access(none), NOTHING)
  })
}

test('ContainerExec: the exec\'s own Privileged and the container\'s are ORed', async () => {
  assert.equal((await facts('ContainerExec', engine(), { body: { Privileged: true }, params: { id: 'web' } })).privileged, true)
  assert.equal((await facts('ContainerExec', engine(), { body: { Privileged: false }, params: { id: 'priv' } })).privileged, true)
  assert.equal((await facts('ContainerExec', engine(), { body: { User: 'root' }, params: { id: 'web' } })).user, 'root')
})

test('ExecStart: the exec is looked up for its container, which is merged', async () => {
  const lookup = engine()
  const f = await facts('ExecStart', lookup, { body: { Detach: false, Tty: true }, params: { id: 'e1' } })
  assert.deepEqual(f.hostPaths, ['/var/run/docker.sock', '/etc', '/proc'])
  assert.deepEqual(f.reachedContainers, ['agent-id'])
  assert.deepEqual(lookup.asked.slice(0, 2), ['exec e1', 'container agent-id'])
})

test('ExecStart: an unknown exec, or one in an unknown container, adds nothing', async () => {
  assert.deepEqual(await facts('ExecStart', engine(), { params: { id: 'nope' } }), NOTHING)
  const lookup = fakeEngine({ execs: { e: 'gone' } })
  assert.deepEqual(await facts('ExecStart', lookup, { params: { id: 'e' } }), NOTHING)
  assert.deepEqual(await facts('ExecStart', offlineLookup, { params: { id: 'e' } }), NOTHING)
})

// --- lookups ----------------------------------------------------------------------------------------

test(`more than ${MAX_LOOKUPS} named volumes and containers to look up are refused`, async () => {
  const binds = (n: number): string[] => Array.from({ length: n }, (_, i) => `v${i}:/m${i}`)
  const ok = fakeEngine({})
  assert.equal((await create({ Binds: binds(MAX_LOOKUPS) }, ok)).namedVolumes?.length, MAX_LOOKUPS)
  const lookup = fakeEngine({})
  await assert.rejects(create({ Binds: binds(MAX_LOOKUPS + 1) }, lookup), (err: unknown) =>
    err instanceof BadRequestBodyError && err.message === 'request body: more than 32 named volumes and containers to look up')
  assert.ok(lookup.asked.length <= MAX_LOOKUPS, `${lookup.asked.length} lookups`)
  // Containers count too.
  await assert.rejects(create({ Binds: binds(MAX_LOOKUPS - 1), VolumesFrom: ['a', 'b'] }, fakeEngine({})), BadRequestBodyError)
  // The volumes of a reached container count as well.
  const many = container('many', {}, binds(MAX_LOOKUPS).map((b) => ({ Type: 'volume', Name: b.split(':')[0], Destination: '/x' })))
  await assert.rejects(facts('ContainerExec', fakeEngine({ containers: { many } }), { body: {}, params: { id: 'many' } }), BadRequestBodyError)
})

test('the same volume named 20,000 times is looked up once', async () => {
  const lookup = fakeEngine({ volumes })
  const f = await create({ Binds: Array.from({ length: 20_000 }, (_, i) => `agentdata:/m${i}`) }, lookup)
  assert.deepEqual(f.hostPaths, ['/etc'])
  assert.deepEqual(lookup.asked, ['volume agentdata'])
})

test('the lookups of one request run at once', async () => {
  let inFlight = 0
  let most = 0
  const slow = async <T>(value: T): Promise<T> => {
    inFlight++
    most = Math.max(most, inFlight)
    await new Promise((resolve) => setTimeout(resolve, 5))
    inFlight--
    return value
  }
  const lookup: EngineLookup = {
    volume: async () => await slow(null),
    container: async (id) => await slow(id === 'agent' ? agent : null),
    exec: async () => await slow(null)
  }
  const f = await create({ Binds: ['a:/a', 'b:/b', 'c:/c'], Mounts: [{ Type: 'volume', Source: 'd', Target: '/d' }], VolumesFrom: ['agent', 'x'] }, lookup)
  assert.deepEqual(f.namedVolumes, ['a', 'b', 'c', 'd'])
  assert.deepEqual(f.hostPaths, ['/var/run/docker.sock', '/proc'])
  assert.equal(most, 6, 'four volumes and two containers at once')
})

test('requestLookup: one answer per object, failures reach every asker and crash nothing', async () => {
  let calls = 0
  const failing: EngineLookup = { ...offlineLookup, volume: async () => { calls++; throw new Error('engine down') } }
  const once = requestLookup(failing, 2)
  const results = await Promise.allSettled([once.volume('a'), once.volume('a'), once.container('c'), once.exec('e')])
  assert.deepEqual(results.map((r) => r.status), ['rejected', 'rejected', 'fulfilled', 'rejected'])
  assert.equal(calls, 1)
  const last = results[3]
  assert.ok(last?.status === 'rejected' && last.reason instanceof BadRequestBodyError)
})

// --- with the shipped default policy ----------------------------------------------------------------

test('the default policy, on extracted facts: borrowed host access is denied, ordinary containers stay usable', async () => {
  const policy = loadPolicy('default')
  const decide = async (operation: string, opts: { body?: unknown, params?: Record<string, string>, query?: string }): Promise<string> => {
    const route = routeTable.find((r) => r.operation === operation)!
    const f = await facts(operation, engine(), opts)
    const d = policy.decide({ identity: anonymousIdentity, operation, method: route.method, path: route.template, version: '1.41', params: opts.params ?? {}, query: {}, body: undefined, facts: f, listener: 'unix:///run/dockward.sock' })
    return d.allow ? 'allow' : d.ruleId
  }
  const createBody = (hc: Record<string, unknown>): { body: unknown } => ({ body: { Image: 'busybox', HostConfig: hc } })
  assert.equal(await decide('ContainerCreate', createBody({ VolumesFrom: ['agent'] })), 'deny-host-paths')
  assert.equal(await decide('ContainerCreate', createBody({ PidMode: 'container:priv' })), 'deny-privileged')
  assert.equal(await decide('ContainerCreate', createBody({ NetworkMode: 'container:agent' })), 'deny-host-namespaces')
  assert.equal(await decide('ContainerExec', { body: { Cmd: ['sh'] }, params: { id: 'agent' } }), 'deny-host-paths')
  assert.equal(await decide('ContainerExec', { body: { Cmd: ['sh'] }, params: { id: 'priv' } }), 'deny-privileged')
  assert.equal(await decide('ExecStart', { body: { Detach: false }, params: { id: 'e1' } }), 'deny-host-paths')
  assert.equal(await decide('ContainerArchive', { query: 'path=%2Fdata', params: { id: 'agent' } }), 'deny-host-paths')
  assert.equal(await decide('ContainerAttach', { params: { id: 'priv' } }), 'deny-privileged')
  assert.equal(await decide('ImageBuild', { query: 'networkmode=container%3Aagent' }), 'deny-host-namespaces')

  assert.equal(await decide('ContainerCreate', createBody({ VolumesFrom: ['web'], NetworkMode: 'container:web' })), 'allow')
  assert.equal(await decide('ContainerExec', { body: { Cmd: ['sh'] }, params: { id: 'web' } }), 'allow')
  assert.equal(await decide('ExecStart', { body: { Detach: false }, params: { id: 'e2' } }), 'allow')
  assert.equal(await decide('ContainerArchive', { query: 'path=%2Fsrv', params: { id: 'web' } }), 'allow')
  assert.equal(await decide('PutContainerArchive', { query: 'path=%2Fsrv', params: { id: 'web' } }), 'allow')
  assert.equal(await decide('ContainerExport', { params: { id: 'web' } }), 'allow')
})
