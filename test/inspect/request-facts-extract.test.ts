import { test } from 'node:test'
import assert from 'node:assert/strict'
import { extractFacts, offlineLookup, type EngineLookup } from '../../src/inspect/request-facts-extract.ts'
import { parseGoQuery } from '../../src/inspect/go-query.ts'
import type { RequestFacts } from '../../src/inspect/request-facts.ts'
import { jsonTree } from '../support/json-tree.ts'
import { BadRequestBodyError, BadRequestTargetError } from '../../src/core/errors.ts'

const j = jsonTree

async function facts (operation: string, body: unknown, opts: { query?: string, version?: string | null, lookup?: EngineLookup, params?: Record<string, string> } = {}): Promise<RequestFacts> {
  return await extractFacts({
    operation,
    version: opts.version === undefined ? '1.41' : opts.version,
    params: opts.params ?? {},
    query: parseGoQuery(opts.query ?? '', operation),
    body: body === undefined ? undefined : j(body)
  }, opts.lookup ?? offlineLookup)
}

const create = async (hostConfig: unknown, extra: Record<string, unknown> = {}, lookup?: EngineLookup): Promise<RequestFacts> =>
  await facts('ContainerCreate', { Image: 'busybox', ...extra, HostConfig: hostConfig }, lookup === undefined ? {} : { lookup })

/** A fake engine with a few named volumes, recording what was asked. */
function fakeEngine (volumes: Record<string, { driver: string, options: Record<string, string> }>): EngineLookup & { asked: string[] } {
  const asked: string[] = []
  return {
    ...offlineLookup,
    asked,
    volume: async (name) => {
      asked.push(name)
      return volumes[name] ?? null
    }
  }
}

test('ContainerCreate: a minimal body has every container fact, at its default', async () => {
  assert.deepEqual(await facts('ContainerCreate', { Image: 'busybox' }), {
    hostPaths: [], volumeMounts: [], namedVolumes: [], volumeDrivers: [], volumesFrom: [], capAdd: [], capDrop: [],
    devices: [], deviceRequests: [], deviceCgroupRules: [], ulimits: [], hostNamespaces: [], containerNamespaces: [],
    securityOpt: [], unconfined: [], sysctls: [], portHostIps: [], hostPorts: [], extraHosts: [], reachedContainers: [],
    image: 'docker.io/library/busybox:latest', user: '', privileged: false,
    cgroupParent: '', memory: 0, memorySwap: 0, nanoCpus: 0, cpuShares: 0, cpuQuota: 0, pidsLimit: 0, oomKillDisable: false,
    pidMode: '', ipcMode: '', utsMode: '', networkMode: '', usernsMode: '', cgroupnsMode: '',
    runtime: '', publishAllPorts: false, shmSize: 0, oomScoreAdj: 0, logDriver: ''
  })
})

test('ContainerCreate: image, user, privileged', async () => {
  const f = await create({ Privileged: true }, { Image: 'user/app:v1', User: '0:0' })
  assert.equal(f.image, 'docker.io/user/app:v1')
  assert.equal(f.user, '0:0')
  assert.equal(f.privileged, true)
  assert.equal((await create(null)).privileged, false)
})

test('ContainerCreate: Binds host paths are cleaned; a lone target is an anonymous volume', async () => {
  const f = await create({ Binds: ['/var/run/docker.sock:/sock', '/srv//data/../logs/:/logs:ro', '/data', 'relative/x:/y', null] })
  assert.deepEqual(f.hostPaths, ['/var/run/docker.sock', '/srv/logs'])
  assert.deepEqual(f.namedVolumes, ['relative/x'])
})

test('ContainerCreate: a named volume that binds a host path is found through the engine', async () => {
  const engine = fakeEngine({
    etc: { driver: 'local', options: { type: 'none', o: 'rbind,ro', device: '/etc/' } },
    nfs: { driver: 'local', options: { type: 'nfs', o: 'addr=10.0.0.1,rw', device: ':/export' } },
    blank: { driver: '', options: { o: 'bind', device: '/root' } },
    plain: { driver: 'local', options: {} },
    plugin: { driver: 'rexray', options: { o: 'bind', device: '/boot' } }
  })
  const f = await create({ Binds: ['etc:/e', 'nfs:/n:rw', 'blank:/b', 'plain:/p', 'plugin:/q', 'missing:/m'] }, {}, engine)
  assert.deepEqual(f.namedVolumes, ['etc', 'nfs', 'blank', 'plain', 'plugin', 'missing'])
  assert.deepEqual(f.hostPaths, ['/etc', '/root'])
  assert.deepEqual(f.volumeMounts, ['nfs'])
  // An existing volume of a plugin driver reaches through that plugin, as one created inline would.
  assert.deepEqual(f.volumeDrivers, ['rexray'])
  assert.deepEqual(engine.asked, ['etc', 'nfs', 'blank', 'plain', 'plugin', 'missing'])
})

test('ContainerCreate: Mounts of every type', async () => {
  const engine = fakeEngine({ existing: { driver: 'local', options: { type: 'none', o: 'bind', device: '/var/lib' } } })
  const f = await create({
    Mounts: [
      { Type: 'bind', Source: '/home/../etc', Target: '/x' },
      { Type: 'volume', Source: 'existing', Target: '/y' },
      { Type: 'volume', Source: 'inline', Target: '/z', VolumeOptions: { DriverConfig: { Name: 'local', Options: { type: 'none', o: 'bind', device: '/root' } } } },
      { Type: 'volume', Source: '', Target: '/w', VolumeOptions: { DriverConfig: { Name: '', Options: { type: 'tmpfs', device: 'tmpfs' } } } },
      { Type: 'volume', Source: 'remote', Target: '/v', VolumeOptions: { DriverConfig: { Name: 'sshfs', Options: { o: 'bind', device: '/ignored' } } } },
      { Type: 'tmpfs', Target: '/t' },
      { Type: 'npipe', Source: '\\\\.\\pipe\\docker_engine', Target: '\\\\.\\pipe\\d' },
      { Type: 'cluster', Source: 'csi-vol', Target: '/c' },
      null
    ],
    VolumeDriver: 'convoy'
  }, {}, engine)
  assert.deepEqual(f.hostPaths, ['/etc', '/var/lib', '/root', '\\\\.\\pipe\\docker_engine'])
  assert.deepEqual(f.namedVolumes, ['existing', 'inline', 'remote', 'csi-vol'])
  assert.deepEqual(f.volumeMounts, ['tmpfs'])
  assert.deepEqual(f.volumeDrivers, ['local', 'sshfs', 'convoy'])
})

test('ContainerCreate: VolumesFrom without the mode suffix', async () => {
  assert.deepEqual((await create({ VolumesFrom: ['db:ro', 'cache', 'x:rw'] })).volumesFrom, ['db', 'cache', 'x'])
})

test('ContainerCreate: capabilities are normalized; Capabilities counts as added', async () => {
  const f = await create({ CapAdd: ['sys_admin', 'CAP_NET_ADMIN', 'Net_Raw', 'all', 'ſys_ptrace'], CapDrop: ['ALL', 'mknod'], Capabilities: ['CAP_SYS_MODULE', 'CAP_NET_ADMIN'] })
  assert.deepEqual(f.capAdd, ['CAP_SYS_ADMIN', 'CAP_NET_ADMIN', 'CAP_NET_RAW', 'ALL', 'CAP_SYS_PTRACE', 'CAP_SYS_MODULE'])
  assert.deepEqual(f.capDrop, ['ALL', 'CAP_MKNOD'])
})

test('ContainerCreate: namespace modes as written, host ones exactly "host"', async () => {
  const f = await create({ PidMode: 'host', IpcMode: 'host', UTSMode: 'host', NetworkMode: 'host', UsernsMode: 'host', CgroupnsMode: 'host' })
  assert.deepEqual(f.hostNamespaces, ['pid', 'ipc', 'uts', 'network', 'userns', 'cgroupns'])
  assert.equal(f.networkMode, 'host')
  const g = await create({ PidMode: 'HOST', IpcMode: 'shareable', UTSMode: 'Host', NetworkMode: 'bridge', UsernsMode: '', CgroupnsMode: 'private' })
  assert.deepEqual(g.hostNamespaces, [])
  assert.deepEqual([g.pidMode, g.ipcMode, g.utsMode, g.networkMode, g.usernsMode, g.cgroupnsMode], ['HOST', 'shareable', 'Host', 'bridge', '', 'private'])
})

test('ContainerCreate: joined container namespaces from pid, ipc, network and Cgroup', async () => {
  const f = await create({ PidMode: 'container:a', IpcMode: 'container:b', NetworkMode: 'container:c', Cgroup: 'container:d', UTSMode: 'container:e' })
  assert.deepEqual(f.containerNamespaces, ['a', 'b', 'c', 'd'])
  assert.deepEqual((await create({ PidMode: 'container:' })).containerNamespaces, [])
})

test('ContainerCreate: an endpoint keyed "host" is the host network; endpoint sysctls are sysctls', async () => {
  const f = await create({ NetworkMode: 'bridge' }, {
    NetworkingConfig: { EndpointsConfig: { host: {}, bridge: { DriverOpts: { 'com.docker.network.endpoint.sysctls': 'net.ipv4.conf.IFNAME.forwarding=1,net.ipv6.conf.IFNAME.disable_ipv6=0' } } } }
  })
  assert.deepEqual(f.hostNamespaces, ['network'])
  assert.deepEqual(f.sysctls, ['net.ipv4.conf.IFNAME.forwarding', 'net.ipv6.conf.IFNAME.disable_ipv6'])
})

test('ContainerCreate: security options and what they unconfine', async () => {
  const f = await create({ SecurityOpt: ['seccomp:unconfined', 'apparmor=unconfined', 'label=disable', 'no-new-privileges', 'systempaths=unconfined', 'no-new-privileges:true'] })
  assert.deepEqual(f.securityOpt, ['seccomp=unconfined', 'apparmor=unconfined', 'label=disable', 'no-new-privileges', 'systempaths=unconfined', 'no-new-privileges=true'])
  assert.deepEqual(f.unconfined, ['seccomp', 'apparmor', 'label', 'systempaths'])
  assert.deepEqual((await create({ SecurityOpt: ['seccomp={"defaultAction":"SCMP_ACT_ALLOW"}'] })).unconfined, ['seccomp'])
  assert.deepEqual((await create({ SecurityOpt: ['seccomp=builtin', 'apparmor=docker-default', 'no-new-privileges'] })).unconfined, [])
  assert.deepEqual((await create({ SecurityOpt: ['disable'] })).securityOpt, ['label=disable'])
  assert.deepEqual((await create({ SecurityOpt: ['label:type:spc_t'] })).unconfined, ['label'])
  assert.deepEqual((await create({ SecurityOpt: ['apparmor=my-profile'] })).unconfined, ['apparmor'])
  assert.deepEqual((await create({ SecurityOpt: ['writable-cgroups'] })).unconfined, ['cgroups'])
  assert.deepEqual((await create({ SecurityOpt: ['writable-cgroups=false'] })).unconfined, [])
  assert.deepEqual((await create({ SecurityOpt: ['bogus'] })).securityOpt, ['bogus'])
})

test('ContainerCreate: MaskedPaths or ReadonlyPaths set (even empty) unconfine system paths', async () => {
  assert.deepEqual((await create({ MaskedPaths: [] })).unconfined, ['systempaths'])
  assert.deepEqual((await create({ ReadonlyPaths: ['/proc/sys'] })).unconfined, ['systempaths'])
  assert.deepEqual((await create({ MaskedPaths: null, ReadonlyPaths: null })).unconfined, [])
})

test('ContainerCreate: devices, device requests and cgroup rules', async () => {
  const f = await create({
    Devices: [{ PathOnHost: '/dev//sda', PathInContainer: '/dev/xvda', CgroupPermissions: 'rwm' }, { PathOnHost: 'nvidia.com/gpu=all' }, { PathOnHost: '' }],
    DeviceRequests: [{ Driver: 'nvidia', Count: -1, Capabilities: [['gpu']] }, { Count: 1 }, { Driver: 'cdi', DeviceIDs: ['vendor.com/class=x'] }],
    DeviceCgroupRules: ['c 1:3 mr', 'a *:* rwm']
  })
  assert.deepEqual(f.devices, ['/dev/sda', 'nvidia.com/gpu=all', 'vendor.com/class=x'])
  assert.deepEqual(f.deviceRequests, ['nvidia', 'default', 'cdi'])
  assert.deepEqual(f.deviceCgroupRules, ['c 1:3 mr', 'a *:* rwm'])
})

test('ContainerCreate: port bindings', async () => {
  const f = await create({
    PortBindings: { '80/tcp': [{ HostIp: '', HostPort: '8080' }, { HostIp: '127.0.0.1', HostPort: '' }], '53/udp': [{ HostIp: '::', HostPort: '53' }], '443/tcp': null },
    PublishAllPorts: true
  })
  assert.deepEqual(f.portHostIps, ['0.0.0.0', '127.0.0.1', '::'])
  assert.deepEqual(f.hostPorts, ['8080', '', '53'])
  assert.equal(f.publishAllPorts, true)
})

test('ContainerCreate: resources, ulimits, runtime, logging, sysctls, extra hosts', async () => {
  const f = await create({
    Memory: 268435456, MemorySwap: -1, NanoCpus: 1500000000, CpuShares: 512, CpuQuota: 50000, PidsLimit: 100, ShmSize: 67108864,
    OomKillDisable: true, OomScoreAdj: -500, CgroupParent: '/system.slice', Ulimits: [{ Name: 'nofile', Soft: 1024, Hard: 2048 }, { Name: 'core' }],
    Runtime: 'nvidia', LogConfig: { Type: 'syslog', Config: { 'syslog-address': 'udp://1.2.3.4:514' } },
    Sysctls: { 'net.ipv4.ip_forward': '1', 'kernel.msgmax': '65536' }, ExtraHosts: ['host.docker.internal:host-gateway']
  })
  assert.equal(f.memory, 268435456)
  assert.equal(f.memorySwap, -1)
  assert.equal(f.nanoCpus, 1500000000)
  assert.equal(f.cpuShares, 512)
  assert.equal(f.cpuQuota, 50000)
  assert.equal(f.pidsLimit, 100)
  assert.equal(f.shmSize, 67108864)
  assert.equal(f.oomKillDisable, true)
  assert.equal(f.oomScoreAdj, -500)
  assert.equal(f.cgroupParent, '/system.slice')
  assert.deepEqual(f.ulimits, ['nofile', 'core'])
  assert.equal(f.runtime, 'nvidia')
  assert.equal(f.logDriver, 'syslog')
  assert.deepEqual(f.sysctls, ['net.ipv4.ip_forward', 'kernel.msgmax'])
  assert.deepEqual(f.extraHosts, ['host.docker.internal:host-gateway'])
  // 0 and -1 both mean unlimited to the engine; null keeps the default.
  assert.equal((await create({ PidsLimit: -1 })).pidsLimit, 0)
  assert.equal((await create({ PidsLimit: null, OomKillDisable: null })).oomKillDisable, false)
})

test('ContainerCreate: a security field of the wrong shape is refused, not read as unset', async () => {
  const bad: unknown[] = [
    { Binds: '/etc:/etc' }, { Binds: [1] }, { Privileged: 'true' }, { CapAdd: 'SYS_ADMIN' }, { Mounts: [{ Type: 'bind', Source: 1 }] },
    { Mounts: ['x'] }, { SecurityOpt: [true] }, { PidMode: ['host'] }, { Devices: [{ PathOnHost: {} }] }, { Memory: '1g' },
    { PortBindings: { '80/tcp': {} } }, { Sysctls: { a: 1 } }, { NetworkMode: null, PidsLimit: true },
    { Mounts: [{ Type: 'volume', VolumeOptions: { DriverConfig: { Options: { o: 1 } } } }] }
  ]
  for (const hc of bad) await assert.rejects(create(hc), BadRequestBodyError, JSON.stringify(hc))
  await assert.rejects(facts('ContainerCreate', { Image: 'x', HostConfig: 'privileged' }), BadRequestBodyError)
  await assert.rejects(facts('ContainerCreate', ['not', 'an', 'object']), BadRequestBodyError)
  await assert.rejects(facts('ContainerCreate', { Image: 'x', NetworkingConfig: { EndpointsConfig: { host: 'x' } } }), BadRequestBodyError)
})

test('ContainerCreate: no body gives the defaults (the engine refuses it)', async () => {
  const f = await facts('ContainerCreate', undefined)
  assert.equal(f.image, '')
  assert.equal(f.privileged, false)
})

test('ContainerUpdate: resources of the update body', async () => {
  const f = await facts('ContainerUpdate', {
    Memory: 1048576000, MemorySwap: 0, NanoCpus: 0, CpuShares: 2, CpuQuota: 0, PidsLimit: 50, OomKillDisable: true, CgroupParent: 'x',
    Devices: [{ PathOnHost: '/dev/mem' }], DeviceRequests: [{ Driver: 'nvidia' }], DeviceCgroupRules: ['a *:* rwm'], Ulimits: [{ Name: 'nproc' }],
    RestartPolicy: { Name: 'always' }
  })
  assert.deepEqual(f, {
    devices: ['/dev/mem'], deviceRequests: ['nvidia'], deviceCgroupRules: ['a *:* rwm'], ulimits: ['nproc'],
    cgroupParent: 'x', memory: 1048576000, memorySwap: 0, nanoCpus: 0, cpuShares: 2, cpuQuota: 0, pidsLimit: 50, oomKillDisable: true
  })
  // Below API 1.40 the engine ignores PidsLimit on update.
  assert.equal((await facts('ContainerUpdate', { PidsLimit: 50 }, { version: '1.39' })).pidsLimit, 0)
  assert.equal((await facts('ContainerUpdate', { PidsLimit: 50 }, { version: null })).pidsLimit, 50)
})

/** The access facts an operation on an existing container has when the container reaches nothing. */
const NO_REACH = {
  privileged: false, hostPaths: [], volumeMounts: [], hostNamespaces: [], capAdd: [], devices: [], deviceRequests: [],
  deviceCgroupRules: [], unconfined: [], reachedContainers: []
}

test('ContainerExec: privileged and user, and the access facts of its container (none offline)', async () => {
  const params = { id: 'web' }
  assert.deepEqual(await facts('ContainerExec', { Cmd: ['sh'], Privileged: true, User: 'root' }, { params }), { ...NO_REACH, privileged: true, user: 'root' })
  assert.deepEqual(await facts('ContainerExec', { Cmd: ['sh'] }, { params }), { ...NO_REACH, user: '' })
  await assert.rejects(facts('ContainerExec', { Privileged: 1 }), BadRequestBodyError)
})

test('ImageBuild: facts from the query', async () => {
  const query = [
    'networkmode=host', 'remote=https%3A%2F%2Fexample.com%2Fctx.tar', 'buildargs=%7B%22HTTP_PROXY%22%3A%22x%22%2C%22SECRET%22%3Anull%7D',
    'extrahosts=a%3A1.2.3.4', 'extrahosts=b%3A5.6.7.8', 'cgroupparent=%2Fx', 't=app', 't=reg.io%2Fapp%3Av1', 'version=2',
    'shmsize=1024', 'memory=2048', 'memswap=-1', 'cpushares=10', 'cpuquota=20000', 'ulimits=%5B%7B%22Name%22%3A%22nofile%22%2C%22Hard%22%3A1%2C%22Soft%22%3A1%7D%2C%7B%22name%22%3A%22core%22%7D%5D'
  ].join('&')
  assert.deepEqual(await facts('ImageBuild', undefined, { query }), {
    hostNamespaces: ['network'], containerNamespaces: [], buildArgs: ['HTTP_PROXY', 'SECRET'], extraHosts: ['a:1.2.3.4', 'b:5.6.7.8'],
    tags: ['docker.io/library/app:latest', 'reg.io/app:v1'], ulimits: ['nofile', 'core'], securityOpt: [], reachedContainers: [],
    networkMode: 'host', remoteContext: 'https://example.com/ctx.tar', cgroupParent: '/x', buildKit: true,
    memory: 2048, memorySwap: -1, cpuShares: 10, cpuQuota: 20000, shmSize: 1024
  })
  const plain = await facts('ImageBuild', undefined, { query: 'networkmode=container%3Aabc&version=1' })
  assert.deepEqual(plain.containerNamespaces, ['abc'])
  assert.deepEqual(plain.hostNamespaces, [])
  assert.equal(plain.buildKit, false)
  assert.equal(plain.remoteContext, '')
  for (const bad of ['buildargs=%7B', 'buildargs=%5B%5D', 'buildargs=%7B%22a%22%3A1%7D', 'ulimits=%7B%7D', 'ulimits=%5B1%5D', 'ulimits=%5B%7B%22Name%22%3A1%7D%5D', 'ulimits=%5B%7B%22Name%22%3A%22a%22%2C%22name%22%3A%22b%22%7D%5D']) {
    await assert.rejects(facts('ImageBuild', undefined, { query: bad }), BadRequestTargetError, bad)
  }
})

test('VolumeCreate: driver and what local options reach', async () => {
  assert.deepEqual(await facts('VolumeCreate', { Name: 'v', DriverOpts: { type: 'none', o: 'bind', device: '/etc/' } }), { volumeDrivers: ['local'], hostPaths: ['/etc'], volumeMounts: [] })
  assert.deepEqual(await facts('VolumeCreate', { Name: 'v', Driver: 'local', DriverOpts: { type: 'nfs', o: 'addr=1.2.3.4', device: ':/x' } }), { volumeDrivers: ['local'], hostPaths: [], volumeMounts: ['nfs'] })
  assert.deepEqual(await facts('VolumeCreate', { Name: 'v', Driver: 'sshfs', DriverOpts: { o: 'bind', device: '/x' } }), { volumeDrivers: ['sshfs'], hostPaths: [], volumeMounts: [] })
  assert.deepEqual(await facts('VolumeCreate', { Name: 'v' }), { volumeDrivers: ['local'], hostPaths: [], volumeMounts: [] })
})

test('NetworkCreate: driver and options', async () => {
  assert.deepEqual(await facts('NetworkCreate', { Name: 'n', Driver: 'macvlan', Options: { parent: 'eth0', 'macvlan_mode': 'bridge' } }), { networkDriver: 'macvlan', networkOptions: ['macvlan_mode=bridge', 'parent=eth0'] })
  assert.deepEqual(await facts('NetworkCreate', { Name: 'n' }), { networkDriver: 'bridge', networkOptions: [] })
})

test('NetworkConnect: endpoint sysctls only', async () => {
  assert.deepEqual(await facts('NetworkConnect', { Container: 'c', EndpointConfig: { Aliases: ['a'], DriverOpts: { 'com.docker.network.endpoint.sysctls': 'net.ipv4.conf.IFNAME.log_martians=1' } } }), { sysctls: ['net.ipv4.conf.IFNAME.log_martians'] })
  assert.deepEqual(await facts('NetworkConnect', { Container: 'c' }), { sysctls: [] })
})

test('ServiceCreate and ServiceUpdate: container spec, networks, ports', async () => {
  const engine = fakeEngine({ shared: { driver: 'local', options: { type: 'none', o: 'bind', device: '/srv' } } })
  const spec = {
    Name: 'web',
    TaskTemplate: {
      ContainerSpec: {
        Image: 'nginx:1.25@' + 'sha256:' + 'e'.repeat(64), User: 'nobody',
        Mounts: [{ Type: 'bind', Source: '/var/run/docker.sock', Target: '/s' }, { Type: 'volume', Source: 'shared', Target: '/d' },
          { Type: 'volume', Source: 'nv', Target: '/n', VolumeOptions: { DriverConfig: { Name: 'local', Options: { type: 'tmpfs', device: 'tmpfs' } } } }],
        CapabilityAdd: ['net_admin'], CapabilityDrop: ['CAP_CHOWN'], Sysctls: { 'net.core.somaxconn': '1024' },
        Privileges: { Seccomp: { Mode: 'unconfined' }, AppArmor: { Mode: 'disabled' }, SELinuxContext: { Disable: true }, NoNewPrivileges: true },
        Isolation: 'default', Init: true, Hosts: ['10.0.0.1 db'], Ulimits: [{ Name: 'nofile', Soft: 1, Hard: 2 }]
      },
      Resources: { Limits: { NanoCPUs: 500000000, MemoryBytes: 104857600, Pids: 64 } },
      LogDriver: { Name: 'json-file' },
      Networks: [{ Target: 'host' }, { Target: 'overlay1', DriverOpts: { 'com.docker.network.endpoint.sysctls': 'net.ipv4.conf.IFNAME.forwarding=1' } }]
    },
    EndpointSpec: { Ports: [{ Protocol: 'tcp', TargetPort: 80, PublishedPort: 8080, PublishMode: 'host' }, { TargetPort: 443, PublishMode: 'ingress' }] }
  }
  const want: RequestFacts = {
    hostPaths: ['/var/run/docker.sock', '/srv'], volumeMounts: ['tmpfs'], namedVolumes: ['shared', 'nv'], volumeDrivers: ['local'],
    capAdd: ['CAP_NET_ADMIN'], capDrop: ['CAP_CHOWN'], sysctls: ['net.core.somaxconn', 'net.ipv4.conf.IFNAME.forwarding'],
    unconfined: ['seccomp', 'apparmor', 'label'], hostNamespaces: ['network'], extraHosts: ['10.0.0.1 db'],
    portHostIps: ['0.0.0.0'], hostPorts: ['8080', ''], ulimits: ['nofile'], pluginPrivileges: [], devices: [],
    runtime: '', user: 'nobody', image: 'docker.io/library/nginx:1.25@sha256:' + 'e'.repeat(64),
    memory: 104857600, nanoCpus: 500000000, pidsLimit: 64, logDriver: 'json-file'
  }
  assert.deepEqual(await facts('ServiceCreate', spec, { lookup: engine }), want)
  assert.deepEqual(await facts('ServiceUpdate', spec, { lookup: engine, query: 'version=12' }), want)
  const custom = await facts('ServiceCreate', { TaskTemplate: { ContainerSpec: { Image: 'x', Privileges: { Seccomp: { Mode: 'custom', Profile: '{}' }, SELinuxContext: { Type: 'spc_t' } } } } })
  assert.deepEqual(custom.unconfined, ['seccomp', 'label'])
  const legacy = await facts('ServiceCreate', { TaskTemplate: { ContainerSpec: { Image: 'x' } }, Networks: [{ Target: 'host' }] })
  assert.deepEqual(legacy.hostNamespaces, ['network'])
})

test('ServiceCreate: plugin runtime takes the image from PluginSpec and records its privileges', async () => {
  const f = await facts('ServiceCreate', {
    TaskTemplate: {
      Runtime: 'plugin',
      PluginSpec: { Name: 'p', Remote: 'vieux/sshfs', PluginPrivilege: [{ Name: 'network', Value: ['host'] }, { Name: 'mount', Value: ['/var/lib/docker/plugins/'] }, { Name: 'capabilities', Value: ['CAP_SYS_ADMIN'] }] }
    }
  })
  assert.equal(f.runtime, 'plugin')
  assert.equal(f.image, 'docker.io/vieux/sshfs:latest')
  assert.deepEqual(f.pluginPrivileges, ['network', 'mount', 'capabilities'])
  assert.deepEqual(f.hostNamespaces, ['network'])
  assert.deepEqual(f.hostPaths, ['/var/lib/docker/plugins'])
  assert.deepEqual(f.capAdd, ['CAP_SYS_ADMIN'])
  // The Go field's own JSON name is read too; two spellings at once are refused.
  const g = await facts('ServiceCreate', { TaskTemplate: { Runtime: 'plugin', PluginSpec: { remote: 'a/b', privileges: [{ Name: 'host pid namespace', Value: ['true'] }] } } })
  assert.equal(g.image, 'docker.io/a/b:latest')
  assert.deepEqual(g.hostNamespaces, ['pid'])
  await assert.rejects(facts('ServiceCreate', { TaskTemplate: { PluginSpec: { PluginPrivilege: [], privileges: [] } } }), BadRequestBodyError)
})

test('PluginPull and PluginUpgrade: privileges the client accepts', async () => {
  const body = [
    { Name: 'network', Description: '', Value: ['host'] },
    { Name: 'mount', Description: '', Value: ['/var/lib/docker/plugins/'] },
    { Name: 'device', Description: '', Value: ['/dev/fuse'] },
    { Name: 'allow-all-devices', Description: '', Value: ['true'] },
    { Name: 'host pid namespace', Value: ['true'] },
    { Name: 'host ipc namespace', Value: ['true'] },
    { Name: 'capabilities', Description: '', Value: ['CAP_SYS_ADMIN', 'net_admin'] }
  ]
  const want: RequestFacts = {
    pluginPrivileges: ['network', 'mount', 'device', 'allow-all-devices', 'host pid namespace', 'host ipc namespace', 'capabilities'],
    hostPaths: ['/var/lib/docker/plugins'], capAdd: ['CAP_SYS_ADMIN', 'CAP_NET_ADMIN'], hostNamespaces: ['network', 'pid', 'ipc'],
    devices: ['/dev/fuse', 'ALL'], image: 'docker.io/vieux/sshfs:latest'
  }
  assert.deepEqual(await facts('PluginPull', body, { query: 'remote=vieux%2Fsshfs&name=sshfs' }), want)
  assert.deepEqual(await facts('PluginUpgrade', body, { query: 'remote=vieux%2Fsshfs' }), want)
  const none = await facts('PluginPull', [{ Name: 'network', Value: ['bridge'] }], { query: 'remote=a' })
  assert.deepEqual(none.hostNamespaces, [])
  await assert.rejects(facts('PluginPull', { Name: 'mount' }, { query: 'remote=a' }), BadRequestBodyError)
})

test('PluginSet: re-pointed mounts and devices', async () => {
  assert.deepEqual(await facts('PluginSet', ['data.source=/srv/', 'dev.path=/dev/sdb', 'DEBUG=1', 'mnt=/etc', 'args.value=x']), { hostPaths: ['/srv', '/etc'], devices: ['/dev/sdb', '/etc'] })
  // runc joins a relative source with the plugin's bundle folder, and `..` climbs out of it to anywhere.
  assert.deepEqual(await facts('PluginSet', ['data=../../../../tmp/x', 'data.source=rel', 'dev.path=../sda', 'NAME=a-b']), { hostPaths: ['/'], devices: ['/'] })
})

test('ImageCreate: pull, import from the body, import from a URL', async () => {
  assert.deepEqual(await facts('ImageCreate', undefined, { query: 'fromImage=busybox&tag=1.36' }), { image: 'docker.io/library/busybox:1.36', importSource: '', tags: [], user: '' })
  assert.deepEqual(await facts('ImageCreate', undefined, { query: 'fromImage=busybox' }), { image: 'docker.io/library/busybox', importSource: '', tags: [], user: '' })
  assert.deepEqual(await facts('ImageCreate', undefined, { query: 'fromSrc=-&repo=imported&tag=v1&changes=USER%20root' }), { image: '', importSource: '-', tags: ['docker.io/library/imported:v1'], user: 'root' })
  assert.deepEqual(await facts('ImageCreate', undefined, { query: 'fromSrc=http%3A%2F%2F169.254.169.254%2F' }), { image: '', importSource: 'http://169.254.169.254/', tags: [], user: '' })
})

test('ImageCommit: tags from repo and tag, user from changes or the body', async () => {
  assert.deepEqual(await facts('ImageCommit', { User: 'app' }, { query: 'container=c1&repo=me%2Fsnap&tag=v2' }), { tags: ['docker.io/me/snap:v2'], user: 'app' })
  assert.deepEqual(await facts('ImageCommit', { User: 'app' }, { query: 'container=c1&changes=ENV%20A%3D1&changes=user%20%200%3A0%20' }), { tags: [], user: '0:0' })
  assert.deepEqual(await facts('ImageCommit', undefined, { query: 'container=c1&repo=x&changes=ENV%20A%3D1%0AUSER%20%5C%0Aroot' }), { tags: ['docker.io/library/x:latest'], user: 'root' })
})

test('ImageTag: the new name, and the image tagged', async () => {
  const params = { name: 'busybox' }
  assert.deepEqual(await facts('ImageTag', undefined, { query: 'repo=localhost%3A5000%2Fapp&tag=v2', params }), { tags: ['localhost:5000/app:v2'], image: 'docker.io/library/busybox:latest' })
  assert.deepEqual(await facts('ImageTag', undefined, { query: 'repo=app', params }), { tags: ['docker.io/library/app:latest'], image: 'docker.io/library/busybox:latest' })
})

test('operations on an existing image name it as the engine resolves it; a push applies its tag', async () => {
  for (const op of ['ImageDelete', 'ImageInspect', 'ImageHistory', 'ImageGet', 'ImageAttestations', 'DistributionInspect']) {
    for (const name of ['busybox', 'library/busybox', 'docker.io/library/busybox:latest']) {
      assert.deepEqual(await facts(op, undefined, { params: { name } }), { image: 'docker.io/library/busybox:latest' }, `${op} ${name}`)
    }
  }
  assert.deepEqual(await facts('ImagePush', undefined, { params: { name: 'localhost:5000/app:a' }, query: 'tag=b' }), { image: 'localhost:5000/app:b' })
  // No tag anywhere: every tag of the repository is pushed, and the fact is the bare name.
  assert.deepEqual(await facts('ImagePush', undefined, { params: { name: 'localhost:5000/app' } }), { image: 'localhost:5000/app' })
})

test('PutContainerArchive: the extraction path, rooted and cleaned', async () => {
  const params = { id: 'web' }
  assert.deepEqual(await facts('PutContainerArchive', undefined, { query: 'path=%2Fetc', params }), { ...NO_REACH, archivePath: '/etc' })
  assert.equal((await facts('PutContainerArchive', undefined, { query: 'path=tmp%2F..%2F..%2Froot%2F.ssh', params })).archivePath, '/root/.ssh')
  assert.equal((await facts('PutContainerArchive', undefined, { query: 'noOverwriteDirNonDir=1', params })).archivePath, '')
})

test('SecretCreate and ConfigCreate: drivers', async () => {
  assert.deepEqual(await facts('SecretCreate', { Name: 's', Data: 'eA==', Driver: { Name: 'vault', Options: {} }, Templating: { Name: 'golang' } }), { secretDriver: 'vault', templatingDriver: 'golang' })
  assert.deepEqual(await facts('ConfigCreate', { Name: 'c', Data: 'eA==' }), { secretDriver: '', templatingDriver: '' })
})

test('operations without facts, swarm init and join included, have none', async () => {
  assert.deepEqual(await facts('SwarmInit', { ListenAddr: '0.0.0.0:2377' }), {})
  assert.deepEqual(await facts('SwarmJoin', { RemoteAddrs: ['x'] }), {})
  assert.deepEqual(await facts('ContainerList', undefined, { query: 'all=1' }), {})
  assert.deepEqual(await facts('ExecResize', undefined, { query: 'h=10&w=10', params: { id: 'e1' } }), {})
  assert.deepEqual(await facts('ContainerStart', undefined, { params: { id: 'agent' } }), {})
})

test('every operation with facts is an operation of the route table', async () => {
  const { factExtractors } = await import('../../src/inspect/request-facts-extract.ts')
  const { routeTable } = await import('../../src/route/route-table.ts')
  const names = new Set(routeTable.map((r) => r.operation))
  for (const op of Object.keys(factExtractors)) assert.ok(names.has(op), `${op} is not in the route table: its facts would never be extracted`)
})
