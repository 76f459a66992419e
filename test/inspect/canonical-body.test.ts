import { test } from 'node:test'
import assert from 'node:assert/strict'
import { BadRequestBodyError } from '../../src/core/errors.ts'
import { schemaNodes } from '../../src/inspect/body-schema.ts'
import { bodyKindOf, canonicalizeBody, queryNamesOf, type CanonicalBody } from '../../src/inspect/canonical-body.ts'
import { goFoldKey } from '../../src/inspect/go-fold.ts'
import { parseGoJson, serializeJson } from '../../src/inspect/go-json.ts'

/** Canonicalizes a body given as JSON text; the result's value as compact JSON text. */
function canon (operation: string, text: string): { json: string, ignored: string[] } {
  const { value, ignored }: CanonicalBody = canonicalizeBody(operation, parseGoJson(Buffer.from(text)))
  return { json: serializeJson(value), ignored }
}

function refuses (operation: string, text: string, message: RegExp): void {
  assert.throws(() => canon(operation, text), (err: unknown) => {
    assert.ok(err instanceof BadRequestBodyError, `not a BadRequestBodyError: ${String(err)}`)
    assert.match(err.message, message)
    return true
  }, text)
}

function structFields (name: string): string[] {
  const node = schemaNodes[name]
  assert.ok(node !== undefined && typeof node === 'object' && 'struct' in node, `${name} is not a struct`)
  return Object.keys(node.struct)
}

test('keys are matched case-insensitively and written with the canonical field name', () => {
  assert.deepEqual(canon('ContainerCreate', '{"image":"busybox","CMD":["sh"],"hostconfig":{"privileged":true,"BINDS":["/a:/b"],"readonlyROOTFS":null}}'), {
    json: '{"Image":"busybox","Cmd":["sh"],"HostConfig":{"Privileged":true,"Binds":["/a:/b"],"ReadonlyRootfs":null}}',
    ignored: [],
  })
})

test("'ſ' and the Kelvin sign reach fields as they do in Go; dotless i does not", () => {
  // Measured on the engine: this creates a privileged container with that security option.
  assert.deepEqual(canon('ContainerCreate', '{"Image":"x","HostConfig":{"privileged":true,"ſecurityOpt":["label=disable"]}}'), {
    json: '{"Image":"x","HostConfig":{"Privileged":true,"SecurityOpt":["label=disable"]}}',
    ignored: [],
  })
  assert.equal(canon('ContainerCreate', '{"HostConfig":{"\\u212aernelMemory":1}}').json, '{"HostConfig":{"KernelMemory":1}}')
  assert.deepEqual(canon('ContainerCreate', '{"Image":"x","HostConfig":{"privıleged":true}}'), {
    json: '{"Image":"x","HostConfig":{}}',
    ignored: ['HostConfig.privıleged'],
  })
})

test('two keys that reach one field are refused, whatever their spelling', () => {
  const pairs = [
    ['Privileged', 'privileged'], ['privileged', 'PRIVILEGED'], ['PRIVILEGED', 'Privileged'], ['pRiViLeGeD', 'privileged'],
  ]
  for (const [a, b] of pairs) {
    refuses('ContainerCreate', `{"HostConfig":{"${a}":false,"${b}":true}}`, new RegExp(`^request body: "${a}" and "${b}" both set HostConfig\\.Privileged$`))
  }
  refuses('ContainerCreate', '{"HostConfig":{"SecurityOpt":[],"ſecurityOpt":["seccomp=unconfined"]}}', /"SecurityOpt" and "ſecurityOpt" both set HostConfig\.SecurityOpt/)
  refuses('ContainerCreate', '{"HostConfig":{"Binds":[]},"hostConfig":{"Binds":["/:/host"]}}', /"HostConfig" and "hostConfig" both set HostConfig$/)
  refuses('ContainerCreate', '{"HostConfig":{"Mounts":[{"Type":"volume","type":"bind"}]}}', /both set HostConfig\.Mounts\[0\]\.Type/)
  refuses('ContainerCreate', '{"NetworkingConfig":{"EndpointsConfig":{"n":{"Aliases":[],"aliases":[]}}}}', /both set NetworkingConfig\.EndpointsConfig\.n\.Aliases/)
  refuses('ServiceCreate', '{"TaskTemplate":{"ContainerSpec":{"Image":"a","image":"b"}}}', /both set TaskTemplate\.ContainerSpec\.Image/)
  refuses('ExecStart', '{"Detach":false,"detach":true}', /"Detach" and "detach" both set Detach/)
})

test('keys that reach no field are dropped and listed', () => {
  assert.deepEqual(canon('ContainerCreate', '{"Image":"x","Foo":1,"HostConfig":{"Foo":{"a":1},"Mounts":[{},{},{"Type":"bind","Bar":2}]},"NetworkingConfig":{"EndpointsConfig":{"bridge":{"Baz":[]}}}}'), {
    json: '{"Image":"x","HostConfig":{"Mounts":[{},{},{"Type":"bind"}]},"NetworkingConfig":{"EndpointsConfig":{"bridge":{}}}}',
    ignored: ['Foo', 'HostConfig.Foo', 'HostConfig.Mounts[2].Bar', 'NetworkingConfig.EndpointsConfig.bridge.Baz'],
  })
  assert.deepEqual(canon('PluginPull', '[{"Name":"network","Extra":1}]'), { json: '[{"Name":"network"}]', ignored: ['[0].Extra'] })
})

test('map keys are data, kept exactly; any-typed values are kept as they are', () => {
  assert.equal(
    canon('ContainerCreate', '{"Labels":{"a":"1","A":"2","ſ":"3","__proto__":"4"},"HostConfig":{"Sysctls":{"net.ipv4.ip_forward":"1"},"PortBindings":{"80/tcp":[{"HostIp":"127.0.0.1","hostport":"8080"}]}},"Cmd":"echo hi","Volumes":{"/data":{"any":["thing"]}}}').json,
    '{"Labels":{"a":"1","A":"2","ſ":"3","__proto__":"4"},"HostConfig":{"Sysctls":{"net.ipv4.ip_forward":"1"},"PortBindings":{"80/tcp":[{"HostIp":"127.0.0.1","HostPort":"8080"}]}},"Cmd":"echo hi","Volumes":{"/data":{"any":["thing"]}}}',
  )
  const { value } = canonicalizeBody('ContainerCreate', parseGoJson(Buffer.from('{"Labels":{"__proto__":"x"}}')))
  assert.ok(value !== null && typeof value === 'object' && !Array.isArray(value))
  const labels = (value as Record<string, unknown>)['Labels'] as object
  assert.equal(Object.getPrototypeOf(labels), null)
  assert.ok(Object.hasOwn(labels, '__proto__'))
})

test('numbers keep their digits through canonicalization', () => {
  assert.equal(canon('ContainerUpdate', '{"memory":9223372036854775807,"CpuShares":-0}').json, '{"Memory":9223372036854775807,"CpuShares":-0}')
})

test('null is accepted anywhere below the top and kept', () => {
  assert.equal(canon('ContainerCreate', '{"HostConfig":null,"Env":null,"Labels":{"a":null},"Cmd":null}').json, '{"HostConfig":null,"Env":null,"Labels":{"a":null},"Cmd":null}')
  assert.equal(canon('ContainerCreate', '{"HostConfig":{"Binds":[null],"Privileged":null,"PortBindings":null}}').json, '{"HostConfig":{"Binds":[null],"Privileged":null,"PortBindings":null}}')
})

test('values of the wrong type are refused with their path', () => {
  refuses('ContainerCreate', '{"HostConfig":{"Privileged":"true"}}', /^request body: HostConfig\.Privileged must be a boolean, not a string$/)
  refuses('ContainerCreate', '{"HostConfig":{"Privileged":1}}', /HostConfig\.Privileged must be a boolean, not an integer/)
  refuses('ContainerCreate', '{"HostConfig":{"Memory":1.5}}', /HostConfig\.Memory must be an integer, not a number/)
  refuses('ContainerCreate', '{"HostConfig":{"Memory":1e9}}', /HostConfig\.Memory must be an integer, not a number/)
  refuses('ContainerCreate', '{"HostConfig":{"Memory":"1g"}}', /HostConfig\.Memory must be an integer, not a string/)
  refuses('ContainerCreate', '{"HostConfig":{"Binds":"/:/host"}}', /HostConfig\.Binds must be an array, not a string/)
  refuses('ContainerCreate', '{"HostConfig":{"Binds":["/a:/a",{"x":1}]}}', /HostConfig\.Binds\[1\] must be a string, not an object/)
  refuses('ContainerCreate', '{"HostConfig":{"Mounts":{"Type":"bind"}}}', /HostConfig\.Mounts must be an array, not an object/)
  refuses('ContainerCreate', '{"HostConfig":{"Mounts":["bind"]}}', /HostConfig\.Mounts\[0\] must be an object, not a string/)
  refuses('ContainerCreate', '{"HostConfig":{"LogConfig":{"Config":{"max-size":10}}}}', /HostConfig\.LogConfig\.Config\.max-size must be a string, not an integer/)
  refuses('ContainerCreate', '{"HostConfig":{"PortBindings":{"80/tcp":{"HostPort":"80"}}}}', /HostConfig\.PortBindings\.80\/tcp must be an array, not an object/)
  refuses('ContainerCreate', '{"HostConfig":true}', /HostConfig must be an object, not a boolean/)
  refuses('ContainerCreate', '{"StopTimeout":"10"}', /StopTimeout must be an integer, not a string/)
  refuses('SwarmUpdate', '{"Raft":{"ElectionTick":"3"}}', /Raft\.ElectionTick must be an integer/)
  refuses('ServiceCreate', '{"UpdateConfig":{"MaxFailureRatio":"0.5"}}', /UpdateConfig\.MaxFailureRatio must be a number, not a string/)
  assert.equal(canon('ServiceCreate', '{"UpdateConfig":{"MaxFailureRatio":0.5}}').json, '{"UpdateConfig":{"MaxFailureRatio":0.5}}')
})

test('the top-level value must be of the body kind', () => {
  refuses('ContainerCreate', '[]', /^request body must be an object, not an array$/)
  refuses('ContainerCreate', '"x"', /^request body must be an object, not a string$/)
  refuses('ContainerCreate', 'null', /^request body must be an object, not null$/)
  refuses('PluginSet', '{"DEBUG":"1"}', /^request body must be an array, not an object$/)
  assert.deepEqual(canon('PluginSet', '["DEBUG=1"]'), { json: '["DEBUG=1"]', ignored: [] })
  assert.throws(() => canonicalizeBody('ContainerStart', {}), /takes no JSON body/)
  assert.throws(() => canonicalizeBody('ImageBuild', {}), /takes no JSON body/)
  assert.throws(() => canonicalizeBody('NoSuchOperation', {}), /takes no JSON body/)
})

test('ContainerCreate refuses HostConfig fields at the top level (the engine would apply them)', () => {
  for (const key of ['Privileged', 'privileged', 'Binds', 'CapAdd', 'Memory', 'CpusetCpus', 'SecurityOpt', 'ſecurityOpt', 'PidMode', 'Devices', 'VolumeDriver', 'Cpuset', 'cpuset', 'CPUSET']) {
    refuses('ContainerCreate', `{"Image":"x","${key}":null}`, new RegExp(`^request body: "${key}" at the top level is a HostConfig field; put it inside HostConfig$`))
    refuses('ContainerCreate', `{"Image":"x","HostConfig":{},"${key}":null}`, /at the top level is a HostConfig field/)
  }
  // Inside HostConfig they are what they are.
  assert.equal(canon('ContainerCreate', '{"Image":"x","HostConfig":{"Privileged":true,"CpusetCpus":"0"}}').ignored.length, 0)
  // Cpuset exists only at the top level; inside HostConfig it is an unknown key.
  assert.deepEqual(canon('ContainerCreate', '{"HostConfig":{"Cpuset":"0"}}').ignored, ['HostConfig.Cpuset'])
  // Other operations have no such wrapper.
  assert.deepEqual(canon('ImageCommit', '{"Privileged":true}').ignored, ['Privileged'])
})

test('no HostConfig field has the name of a container config field (the top-level rule is unambiguous)', () => {
  const top = new Set(structFields('ContainerCreateBody').map(goFoldKey))
  const clash = structFields('HostConfig').filter(name => top.has(goFoldKey(name)))
  assert.deepEqual(clash, [])
})

/**
 * `docker create` as the docker CLI v28 sends it: container.CreateRequest{Config, HostConfig,
 * NetworkingConfig} marshalled by Go, written by hand from moby's api/types (container.Config,
 * container.HostConfig with Resources, mount.Mount, network.EndpointSettings). Fields without
 * omitempty are always present, most with zero values; omitempty ones are set here so that every
 * field is covered.
 */
const cliCreateBody = {
  Hostname: '', Domainname: '', User: '', AttachStdin: false, AttachStdout: true, AttachStderr: true,
  ExposedPorts: { '80/tcp': {} },
  Tty: false, OpenStdin: false, StdinOnce: false,
  Env: ['PATH=/usr/bin'],
  Cmd: ['sh', '-c', 'echo hi'],
  Healthcheck: { Test: ['CMD-SHELL', 'true'], Interval: 30000000000, Timeout: 5000000000, StartPeriod: 1000000000, StartInterval: 1000000000, Retries: 3 },
  ArgsEscaped: true,
  Image: 'busybox',
  Volumes: { '/data': {} },
  WorkingDir: '',
  Entrypoint: null,
  NetworkDisabled: true,
  MacAddress: '02:42:ac:11:00:02',
  OnBuild: null,
  Labels: { 'com.example.a': 'b', 'Com.Example.B': 'c' },
  StopSignal: 'SIGTERM',
  StopTimeout: 10,
  Shell: ['/bin/sh', '-c'],
  HostConfig: {
    Binds: ['/srv:/srv:ro'],
    ContainerIDFile: '',
    LogConfig: { Type: '', Config: {} },
    NetworkMode: 'bridge',
    PortBindings: { '80/tcp': [{ HostIp: '', HostPort: '8080' }] },
    RestartPolicy: { Name: 'no', MaximumRetryCount: 0 },
    AutoRemove: false,
    VolumeDriver: '',
    VolumesFrom: null,
    ConsoleSize: [24, 80],
    Annotations: { 'io.example': 'y' },
    CapAdd: ['NET_ADMIN'],
    CapDrop: null,
    CgroupnsMode: 'private',
    Dns: [],
    DnsOptions: [],
    DnsSearch: [],
    ExtraHosts: null,
    GroupAdd: null,
    IpcMode: 'private',
    Cgroup: '',
    Links: null,
    OomScoreAdj: 0,
    PidMode: '',
    Privileged: false,
    PublishAllPorts: false,
    ReadonlyRootfs: false,
    SecurityOpt: null,
    StorageOpt: { size: '10G' },
    Tmpfs: { '/run': 'rw,noexec' },
    UTSMode: '',
    UsernsMode: '',
    ShmSize: 0,
    Sysctls: { 'net.ipv4.ip_forward': '1', 'kernel.msgMAX': '8192' },
    Runtime: 'runc',
    Isolation: '',
    CpuShares: 0,
    Memory: 0,
    NanoCpus: 0,
    CgroupParent: '',
    BlkioWeight: 0,
    BlkioWeightDevice: [{ Path: '/dev/sda', Weight: 10 }],
    BlkioDeviceReadBps: [{ Path: '/dev/sda', Rate: 1048576 }],
    BlkioDeviceWriteBps: [],
    BlkioDeviceReadIOps: [],
    BlkioDeviceWriteIOps: [],
    CpuPeriod: 0,
    CpuQuota: 0,
    CpuRealtimePeriod: 0,
    CpuRealtimeRuntime: 0,
    CpusetCpus: '',
    CpusetMems: '',
    Devices: [{ PathOnHost: '/dev/fuse', PathInContainer: '/dev/fuse', CgroupPermissions: 'rwm' }],
    DeviceCgroupRules: null,
    DeviceRequests: [{ Driver: '', Count: -1, DeviceIDs: null, Capabilities: [['gpu']], Options: {} }],
    KernelMemory: 0,
    KernelMemoryTCP: 0,
    MemoryReservation: 0,
    MemorySwap: 0,
    MemorySwappiness: null,
    OomKillDisable: null,
    PidsLimit: null,
    Ulimits: [{ Name: 'nofile', Hard: 1024, Soft: 1024 }],
    CpuCount: 0,
    CpuPercent: 0,
    IOMaximumIOps: 0,
    IOMaximumBandwidth: 0,
    Mounts: [
      { Type: 'bind', Source: '/a', Target: '/b', ReadOnly: true, Consistency: 'default', BindOptions: { Propagation: 'rprivate', NonRecursive: true, CreateMountpoint: true, ReadOnlyNonRecursive: true, ReadOnlyForceRecursive: false } },
      { Type: 'volume', Source: 'v', Target: '/v', VolumeOptions: { NoCopy: true, Labels: { a: 'b' }, Subpath: 'sub', DriverConfig: { Name: 'local', Options: { type: 'tmpfs' } } } },
      { Type: 'tmpfs', Target: '/t', TmpfsOptions: { SizeBytes: 1048576, Mode: 1023, Options: [['noexec'], ['uid', '1000']] } },
      { Type: 'image', Source: 'busybox', Target: '/img', ImageOptions: { Subpath: 'bin' } },
      { Type: 'cluster', Source: 'c', Target: '/c', ClusterOptions: {} },
    ],
    MaskedPaths: null,
    ReadonlyPaths: null,
    Init: true,
  },
  NetworkingConfig: {
    EndpointsConfig: {
      bridge: {
        IPAMConfig: { IPv4Address: '172.17.0.9', IPv6Address: '', LinkLocalIPs: null },
        Links: null, Aliases: ['web'], MacAddress: '', DriverOpts: null, GwPriority: 0,
        NetworkID: '', EndpointID: '', Gateway: '', IPAddress: '', IPPrefixLen: 0,
        IPv6Gateway: '', GlobalIPv6Address: '', GlobalIPv6PrefixLen: 0, DNSNames: null,
      },
    },
  },
}

test('a docker CLI v28 create body canonicalizes to itself, with nothing ignored', () => {
  const text = JSON.stringify(cliCreateBody)
  assert.deepEqual(canon('ContainerCreate', text), { json: text, ignored: [] })
  // Spelled in lower case, it canonicalizes to the same bytes (map keys aside, which stay).
  const lower = JSON.stringify(cliCreateBody, function (this: unknown, _key, value: unknown) {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) return value
    const mapLike = ['ExposedPorts', 'Volumes', 'Labels', 'PortBindings', 'Annotations', 'StorageOpt', 'Tmpfs', 'Sysctls', 'Config', 'Options', 'EndpointsConfig']
    // The holder's keys are already lowered here.
    const isMap = Object.entries(this as object).some(([k, v]) => v === value && mapLike.some(m => m.toLowerCase() === k))
    return isMap ? value : Object.fromEntries(Object.entries(value).map(([k, v]) => [k.toLowerCase(), v]))
  })
  assert.notEqual(lower, text)
  assert.deepEqual(canon('ContainerCreate', lower), { json: text, ignored: [] })
})

test('a docker CLI v28 exec create body canonicalizes to itself', () => {
  const text = JSON.stringify({ User: '', Privileged: false, Tty: true, ConsoleSize: [24, 80], AttachStdin: true, AttachStderr: true, AttachStdout: true, Detach: false, DetachKeys: '', Env: null, WorkingDir: '', Cmd: ['sh'] })
  assert.deepEqual(canon('ContainerExec', text), { json: text, ignored: [] })
})

test('bodyKindOf and queryNamesOf read the generated table', () => {
  assert.equal(bodyKindOf('ContainerCreate'), 'json')
  assert.equal(bodyKindOf('PluginSet'), 'json')
  for (const op of ['ImageBuild', 'ImageLoad', 'PutContainerArchive', 'ImageCreate', 'PluginCreate']) assert.equal(bodyKindOf(op), 'stream', op)
  assert.equal(bodyKindOf('ContainerStart'), 'none')
  assert.equal(bodyKindOf('NoSuchOperation'), 'none')
  assert.equal(bodyKindOf('toString'), 'none')
  assert.deepEqual(queryNamesOf('ContainerCreate'), ['name', 'platform'])
  assert.deepEqual(queryNamesOf('NoSuchOperation'), [])
  assert.deepEqual(queryNamesOf('constructor'), [])
})
