import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { groupByOperation } from '../../src/decide/operation-groups.ts'
import type { PolicyInput } from '../../src/decide/policy-input.ts'
import { loadPolicy, resolvePolicyRef, SHIPPED_POLICIES } from '../../src/decide/policy-loader.ts'
import { parsePolicyText } from '../../src/decide/policy-schema.ts'
import { anonymousIdentity } from '../../src/identify/identity.ts'
import type { RequestFacts } from '../../src/inspect/request-facts.ts'
import { routeTable } from '../../src/route/route-table.ts'

// PolicyInputs built by hand with the facts the extractor produces for each operation, so these
// tests pin the shipped policies independently of how facts are extracted.

const policies = { default: loadPolicy('default'), readOnly: loadPolicy('read-only'), admin: loadPolicy('admin') }

function input (operation: string, facts: RequestFacts = {}, query: Record<string, string[]> = {}): PolicyInput {
  const route = routeTable.find((r) => r.operation === operation)
  assert.ok(route !== undefined, `no route for ${operation}`)
  return { identity: anonymousIdentity, operation, method: route.method, path: route.template, version: '1.41', params: {}, query, body: undefined, facts, listener: 'unix:///run/dockward.sock' }
}

/** A plain `docker run busybox`, as extracted: every list present and empty. */
function create (over: RequestFacts = {}): PolicyInput {
  return input('ContainerCreate', {
    hostPaths: [], volumeMounts: [], namedVolumes: [], volumeDrivers: [], volumesFrom: [], capAdd: [], capDrop: [],
    devices: [], deviceRequests: [], deviceCgroupRules: [], ulimits: [], hostNamespaces: [], containerNamespaces: [],
    securityOpt: [], unconfined: [], sysctls: [], portHostIps: [], hostPorts: [], extraHosts: [], reachedContainers: [],
    image: 'docker.io/library/busybox:latest', user: '', privileged: false, cgroupParent: '', memory: 0, memorySwap: 0,
    nanoCpus: 0, cpuShares: 0, cpuQuota: 0, pidsLimit: 0, oomKillDisable: false, pidMode: '', ipcMode: '', utsMode: '',
    networkMode: '', usernsMode: '', cgroupnsMode: '', runtime: '', publishAllPorts: false, shmSize: 0, oomScoreAdj: 0, logDriver: '',
    ...over
  })
}

function update (over: RequestFacts = {}): PolicyInput {
  return input('ContainerUpdate', {
    devices: [], deviceRequests: [], deviceCgroupRules: [], ulimits: [], cgroupParent: '', memory: 0, memorySwap: 0,
    nanoCpus: 0, cpuShares: 0, cpuQuota: 0, pidsLimit: 0, oomKillDisable: false, ...over
  })
}

function build (query: Record<string, string[]>, over: RequestFacts = {}): PolicyInput {
  return input('ImageBuild', {
    hostNamespaces: [], containerNamespaces: [], buildArgs: [], extraHosts: [], tags: [], ulimits: [], securityOpt: [],
    networkMode: query['networkmode']?.[0] ?? '', remoteContext: query['remote']?.[0] ?? '', cgroupParent: '', buildKit: query['version']?.[0] === '2',
    memory: 0, memorySwap: 0, cpuShares: 0, cpuQuota: 0, shmSize: 0, ...over
  }, query)
}

/** The access facts of an operation on an existing container whose container reaches nothing of the host. */
const NO_REACH: RequestFacts = {
  privileged: false, hostPaths: [], volumeMounts: [], hostNamespaces: [], capAdd: [], devices: [], deviceRequests: [],
  deviceCgroupRules: [], unconfined: [], reachedContainers: ['web']
}
/** Exec, attach, archive, export or exec start on an existing container, as extracted. */
const on = (operation: string, over: RequestFacts = {}): PolicyInput =>
  input(operation, { ...NO_REACH, ...(operation === 'PutContainerArchive' ? { archivePath: '/tmp' } : {}), ...over })
const exec = (over: RequestFacts = {}): PolicyInput => on('ContainerExec', { user: '', ...over })
const CONTAINER_OPS = ['ContainerExec', 'ExecStart', 'ContainerAttach', 'ContainerAttachWebsocket', 'ContainerArchive', 'ContainerArchiveInfo', 'PutContainerArchive', 'ContainerExport']
const volume = (over: RequestFacts = {}): PolicyInput => input('VolumeCreate', { volumeDrivers: ['local'], hostPaths: [], volumeMounts: [], ...over })
const network = (over: RequestFacts = {}): PolicyInput => input('NetworkCreate', { networkDriver: 'bridge', networkOptions: [], ...over })
const pull = (over: RequestFacts = {}): PolicyInput => input('ImageCreate', { image: 'docker.io/library/busybox:latest', importSource: '', tags: [], user: '', ...over })

describe('default policy', () => {
  const denied: Array<[string, PolicyInput, string]> = [
    ['privileged container', create({ privileged: true }), 'deny-privileged'],
    ['privileged exec', exec({ privileged: true }), 'deny-privileged'],
    ['bind mount', create({ hostPaths: ['/'] }), 'deny-host-paths'],
    ['bind mount of the engine socket', create({ hostPaths: ['/var/run/docker.sock'] }), 'deny-host-paths'],
    ['volume create with bind options', volume({ hostPaths: ['/etc'] }), 'deny-host-paths'],
    ['service with a bind mount', input('ServiceCreate', { hostPaths: ['/etc'] }), 'deny-host-paths'],
    ['container with an nfs volume', create({ volumeMounts: ['nfs'] }), 'deny-volume-mounts'],
    ['volume create of a device filesystem', volume({ volumeMounts: ['ext4'] }), 'deny-volume-mounts'],
    ['volume create with a plugin driver', volume({ volumeDrivers: ['rexray'] }), 'deny-volume-drivers'],
    ['container naming a volume driver', create({ volumeDrivers: ['convoy'] }), 'deny-volume-drivers'],
    ['added capability', create({ capAdd: ['CAP_SYS_ADMIN'] }), 'deny-capabilities'],
    ['all capabilities', create({ capAdd: ['ALL'] }), 'deny-capabilities'],
    ['host device', create({ devices: ['/dev/sda'] }), 'deny-devices'],
    ['host device by update', update({ devices: ['/dev/mem'] }), 'deny-devices'],
    ['GPU request', create({ deviceRequests: ['nvidia'] }), 'deny-device-requests'],
    ['device cgroup rule', create({ deviceCgroupRules: ['c *:* rmw'] }), 'deny-device-cgroup-rules'],
    ['device cgroup rule by update', update({ deviceCgroupRules: ['a *:* rwm'] }), 'deny-device-cgroup-rules'],
    ...['pid', 'ipc', 'uts', 'network', 'userns', 'cgroupns'].map((ns): [string, PolicyInput, string] =>
      [`host ${ns} namespace`, create({ hostNamespaces: [ns] }), 'deny-host-namespaces']),
    ...['seccomp', 'apparmor', 'label', 'systempaths'].map((u): [string, PolicyInput, string] =>
      [`${u} unconfined`, create({ unconfined: [u] }), 'deny-unconfined']),
    ['sysctl', create({ sysctls: ['net.ipv4.ip_forward'] }), 'deny-sysctls'],
    ['endpoint sysctl on network connect', input('NetworkConnect', { sysctls: ['net.ipv4.conf.IFNAME.forwarding'] }), 'deny-sysctls'],
    ['cgroup parent', create({ cgroupParent: '/system.slice' }), 'deny-cgroup-parent'],
    ['cgroup parent by update', update({ cgroupParent: '/' }), 'deny-cgroup-parent'],
    ['cgroup parent of a build', build({ cgroupparent: ['/x'] }, { cgroupParent: '/x' }), 'deny-cgroup-parent'],
    ['other runtime', create({ runtime: 'io.containerd.runsc.v1' }), 'deny-runtime'],
    ...['syslog', 'gelf', 'fluentd', 'splunk', 'awslogs', 'gcplogs', 'etwlogs', 'loki'].map((d): [string, PolicyInput, string] =>
      [`log driver ${d}`, create({ logDriver: d }), 'deny-log-driver']),
    ['build in the host network', build({ networkmode: ['host'] }, { hostNamespaces: ['network'] }), 'deny-build-host-network'],
    ['build from an https context', build({ remote: ['https://example.com/ctx.tar.gz'] }), 'deny-remote-build-context'],
    ['build from a git context', build({ remote: ['git@github.com:a/b.git'] }), 'deny-remote-build-context'],
    ['import from a URL', pull({ image: '', importSource: 'http://169.254.169.254/latest' }), 'deny-import-url'],
    ['macvlan network', network({ networkDriver: 'macvlan', networkOptions: ['parent=eth0'] }), 'deny-network-driver'],
    ['ipvlan network', network({ networkDriver: 'ipvlan' }), 'deny-network-driver'],
    ['overlay network', network({ networkDriver: 'overlay' }), 'deny-network-driver'],
    ['bridge on a host bridge', network({ networkOptions: ['com.docker.network.bridge.name=br0'] }), 'deny-network-options'],
    ['bridge publishing on a host address', network({ networkOptions: ['com.docker.network.bridge.host_binding_ipv4=10.0.0.1', 'com.docker.network.driver.mtu=1400'] }), 'deny-network-options'],
    ['plugin install', input('PluginPull', { pluginPrivileges: ['network'], hostPaths: [] }), 'deny-plugins'],
    ['plugin enable', input('PluginEnable'), 'deny-plugins'],
    ['plugin list', input('PluginList'), 'deny-plugins'],
    ...['SwarmInit', 'SwarmJoin', 'SwarmLeave', 'SwarmUpdate', 'SwarmUnlock', 'SwarmUnlockkey', 'SwarmInspect', 'NodeList', 'NodeUpdate',
      'ServiceList', 'ServiceLogs', 'TaskList', 'SecretCreate', 'SecretList', 'ConfigCreate', 'ConfigInspect'].map((op): [string, PolicyInput, string] =>
      [op, input(op), 'deny-swarm']),
    ['service create without host facts', input('ServiceCreate', { hostPaths: [], capAdd: [], privileged: false }), 'deny-swarm'],
    // Host access borrowed from an existing container (an operator's agent), merged into the facts.
    ['volumes from a container with host binds', create({ volumesFrom: ['agent'], hostPaths: ['/var/run/docker.sock'], reachedContainers: ['agent'] }), 'deny-host-paths'],
    ['pid join of a privileged container', create({ pidMode: 'container:agent', containerNamespaces: ['agent'], privileged: true, reachedContainers: ['agent'] }), 'deny-privileged'],
    ['pid join of a container with host binds', create({ pidMode: 'container:agent', containerNamespaces: ['agent'], hostPaths: ['/'], reachedContainers: ['agent'] }), 'deny-host-paths'],
    ['network join of a host-network container', create({ networkMode: 'container:agent', containerNamespaces: ['agent'], hostNamespaces: ['network'], reachedContainers: ['agent'] }), 'deny-host-namespaces'],
    ['build in the network of a host-network container', build({ networkmode: ['container:agent'] }, { containerNamespaces: ['agent'], hostNamespaces: ['network'], reachedContainers: ['agent'] }), 'deny-host-namespaces'],
    ['ipc join of a host-ipc container', create({ ipcMode: 'container:agent', containerNamespaces: ['agent'], hostNamespaces: ['ipc'], reachedContainers: ['agent'] }), 'deny-host-namespaces'],
    ...CONTAINER_OPS.flatMap((op): Array<[string, PolicyInput, string]> => [
      [`${op} on a privileged container`, on(op, { privileged: true, reachedContainers: ['agent'] }), 'deny-privileged'],
      [`${op} on a container with host binds`, on(op, { hostPaths: ['/var/run/docker.sock'], reachedContainers: ['agent'] }), 'deny-host-paths'],
      [`${op} on a container in the host pid namespace`, on(op, { hostNamespaces: ['pid'], reachedContainers: ['agent'] }), 'deny-host-namespaces']
    ]),
    ['exec into a container with added capabilities', exec({ capAdd: ['CAP_SYS_ADMIN'], reachedContainers: ['agent'] }), 'deny-capabilities'],
    ['exec into a container with a host device', exec({ devices: ['/dev/sda'], reachedContainers: ['agent'] }), 'deny-devices'],
    ['exec into a container with seccomp off', exec({ unconfined: ['seccomp'], reachedContainers: ['agent'] }), 'deny-unconfined'],
    ['archive into a container with an nfs volume', on('PutContainerArchive', { volumeMounts: ['nfs'], reachedContainers: ['agent'] }), 'deny-volume-mounts']
  ]
  for (const [name, req, rule] of denied) {
    test(`denies ${name} (${rule})`, () => {
      const d = policies.default.decide(req)
      assert.equal(d.allow, false)
      assert.equal(d.ruleId, rule, d.reason)
      assert.match(d.reason, /\S/)
    })
  }

  const allowed: Array<[string, PolicyInput]> = [
    ['docker run', create()],
    ['compose service', create({
      namedVolumes: ['proj_data'], portHostIps: ['0.0.0.0', '127.0.0.1'], hostPorts: ['8080', ''], networkMode: 'proj_default',
      containerNamespaces: [], memory: 67108864, logDriver: 'json-file', capDrop: ['CAP_NET_RAW'], extraHosts: ['host.docker.internal:host-gateway']
    })],
    ['network_mode: service:x', create({ networkMode: 'container:abc', containerNamespaces: ['abc'] })],
    ['volumes from another container', create({ volumesFrom: ['data'] })],
    ['tmpfs-backed volume', create({ volumeMounts: ['tmpfs'], namedVolumes: ['scratch'] })],
    ['runc by name', create({ runtime: 'runc' })],
    ...['json-file', 'local', 'none', 'journald'].map((d): [string, PolicyInput] => [`log driver ${d}`, create({ logDriver: d })]),
    ['update of memory', update({ memory: 268435456 })],
    ['exec', exec({ user: 'root' })],
    ...CONTAINER_OPS.map((op): [string, PolicyInput] => [`${op} on an ordinary container`, on(op)]),
    ['exec into a container the engine does not have', exec({ reachedContainers: [] })],
    ['network_mode: service:x of an ordinary container', create({ networkMode: 'container:web', containerNamespaces: ['web'], reachedContainers: ['web'] })],
    ['volumes from an ordinary container', create({ volumesFrom: ['web'], namedVolumes: [], reachedContainers: ['web'] })],
    ...['ContainerStart', 'ContainerStop', 'ContainerKill', 'ContainerRestart', 'ContainerDelete', 'ContainerLogs', 'ContainerAttach',
      'ContainerAttachWebsocket', 'ContainerWait', 'ContainerResize', 'ContainerArchive', 'ContainerExport', 'ContainerPrune',
      'ContainerList', 'ContainerInspect', 'ContainerStats', 'ContainerTop', 'ExecStart', 'ExecResize', 'ExecInspect'].map((op): [string, PolicyInput] => [op, input(op)]),
    ['docker cp into a container', on('PutContainerArchive', { archivePath: '/app' })],
    ['classic build', build({ networkmode: ['default'], t: ['app'] }, { tags: ['docker.io/library/app:latest'] })],
    ['BuildKit build (docker CLI)', build({ version: ['2'], remote: ['client-session'], session: ['abc'] })],
    ...['Session', 'Grpc', 'BuildPrune'].map((op): [string, PolicyInput] => [op, input(op)]),
    ['pull', pull()],
    ['import from the request body', pull({ image: '', importSource: '-', tags: ['docker.io/library/imported:latest'] })],
    ...['ImagePush', 'ImageDelete', 'ImagePrune', 'ImageGet', 'ImageGetAll', 'ImageLoad', 'ImageList', 'ImageInspect', 'ImageHistory', 'ImageSearch'].map((op): [string, PolicyInput] => [op, input(op)]),
    ['image tag', input('ImageTag', { tags: ['docker.io/library/app:v1'] })],
    ['image commit', input('ImageCommit', { tags: [], user: '' })],
    ['volume create', volume()],
    ['tmpfs volume create', volume({ volumeMounts: ['tmpfs'] })],
    ...['VolumeList', 'VolumeInspect', 'VolumeDelete', 'VolumePrune'].map((op): [string, PolicyInput] => [op, input(op)]),
    ['network create', network()],
    ['network create with an MTU', network({ networkOptions: ['com.docker.network.driver.mtu=1400'] })],
    ['network connect', input('NetworkConnect', { sysctls: [] })],
    ...['NetworkList', 'NetworkInspect', 'NetworkDisconnect', 'NetworkDelete', 'NetworkPrune'].map((op): [string, PolicyInput] => [op, input(op)]),
    ...['SystemPing', 'SystemPingHead', 'SystemVersion', 'SystemInfo', 'SystemEvents', 'SystemDataUsage', 'SystemAuth', 'DistributionInspect'].map((op): [string, PolicyInput] => [op, input(op)])
  ]
  for (const [name, req] of allowed) {
    test(`allows ${name}`, () => {
      const d = policies.default.decide(req)
      assert.equal(d.allow, true, `${d.ruleId}: ${d.reason}`)
      assert.equal(d.ruleId, 'allow-developer-work')
      assert.equal(d.wouldDeny, false)
    })
  }

  test('every operation is decided by a named rule, never by default-deny', () => {
    for (const op of groupByOperation.keys()) assert.notEqual(policies.default.decide(input(op)).ruleId, 'default-deny', op)
  })
})

describe('read-only policy', () => {
  const allowed = ['SystemPing', 'SystemPingHead', 'SystemVersion', 'SystemInfo', 'SystemEvents', 'SystemDataUsage', 'ContainerList', 'ContainerInspect',
    'ContainerStats', 'ContainerTop', 'ImageList', 'ImageInspect', 'NetworkList', 'NetworkInspect', 'VolumeList', 'VolumeInspect',
    'ServiceList', 'ServiceInspect', 'TaskList', 'TaskInspect', 'NodeList', 'NodeInspect']
  for (const op of allowed) {
    test(`allows ${op}`, () => {
      const d = policies.readOnly.decide(input(op))
      assert.equal(d.allow, true, d.reason)
      assert.equal(d.ruleId, 'allow-read-state')
    })
  }
  const denied: Array<[string, string]> = [
    ['ContainerArchive', 'deny-file-contents'], ['ContainerArchiveInfo', 'deny-file-contents'], ['PutContainerArchive', 'deny-file-contents'],
    ['ContainerExport', 'deny-file-contents'], ['ImageGet', 'deny-file-contents'], ['ImageGetAll', 'deny-file-contents'],
    ['ContainerLogs', 'deny-logs'], ['ServiceLogs', 'deny-logs'], ['TaskLogs', 'deny-logs'],
    ['ContainerCreate', 'default-deny'], ['ContainerStart', 'default-deny'], ['ContainerDelete', 'default-deny'], ['ContainerAttach', 'default-deny'],
    ['ContainerExec', 'default-deny'], ['ExecStart', 'default-deny'], ['ImageCreate', 'default-deny'], ['ImageBuild', 'default-deny'],
    ['SwarmInspect', 'default-deny'], ['SwarmUnlockkey', 'default-deny'], ['ConfigInspect', 'default-deny'], ['SecretList', 'default-deny'],
    ['PluginList', 'default-deny'], ['SystemAuth', 'default-deny'], ['ImageSearch', 'default-deny'], ['VolumeCreate', 'default-deny']
  ]
  for (const [op, rule] of denied) {
    test(`denies ${op} (${rule})`, () => {
      const d = policies.readOnly.decide(input(op))
      assert.equal(d.allow, false)
      assert.equal(d.ruleId, rule)
    })
  }
})

describe('admin policy', () => {
  test('allows every operation with one rule, host escapes included', () => {
    for (const route of routeTable) {
      const d = policies.admin.decide(input(route.operation))
      assert.equal(d.allow, true)
      assert.equal(d.ruleId, 'admin-allow-all')
    }
    assert.equal(policies.admin.decide(create({ privileged: true, hostPaths: ['/'] })).ruleId, 'admin-allow-all')
  })
})

test('shipped rule ids are lower-case words: the gateway prints them in "dockward: <rule>: <reason>"', () => {
  for (const name of SHIPPED_POLICIES) {
    const file = resolvePolicyRef(name)
    const doc = parsePolicyText(readFileSync(file, 'utf8'), file)
    assert.equal(doc.name, name)
    assert.equal(doc.mode, 'enforce')
    for (const rule of doc.rules) assert.match(rule.id, /^[a-z0-9][a-z0-9.-]*$/)
  }
})
