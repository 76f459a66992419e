import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { BadRequestBodyError, GatewayError } from '../../src/core/errors.ts'
import { operationInputs, type SchemaNode } from '../../src/inspect/body-schema.ts'
import { canonicalizeBody, deref, type CanonicalBody } from '../../src/inspect/canonical-body.ts'
import { parseGoJson, serializeJson } from '../../src/inspect/go-json.ts'
import { cleanHostPath } from '../../src/inspect/host-path.ts'
import { inspectRequest, type InspectedRequest } from '../../src/inspect/inspect-request.ts'
import { JsonNumber, isJsonObject, type JsonValue } from '../../src/inspect/json-value.ts'
import { offlineLookup, type EngineLookup } from '../../src/inspect/request-facts-extract.ts'
import type { RequestFacts } from '../../src/inspect/request-facts.ts'
import { fuzzParams } from './fuzz-settings.ts'

/**
 * Properties of the body canonicalizer: however a client spells a body the engine reads one way
 * (key case, 'ſ' for s, the Kelvin sign for k, key order, keys the engine ignores), dockward
 * either refuses it or forwards the one canonical body, and decides on the same facts as it would
 * for that canonical body sent as it is.
 */

type Operation = 'ContainerCreate' | 'ContainerExec' | 'VolumeCreate' | 'NetworkCreate'

// --- a small model of real bodies ----------------------------------------------------------

/** A body as a tree that knows which objects are structs (keys fold) and which are maps (keys are data). */
type Node =
  | { readonly k: 'null' }
  | { readonly k: 'leaf', readonly type: 'string' | 'boolean' | 'integer' | 'any', readonly v: JsonValue }
  | { readonly k: 'struct', readonly fields: ReadonlyArray<readonly [string, Node]> }
  | { readonly k: 'map', readonly entries: ReadonlyArray<readonly [string, Node]> }
  | { readonly k: 'array', readonly items: readonly Node[] }

const NULL: Node = { k: 'null' }
const nullable = (a: fc.Arbitrary<Node>, freq = 10): fc.Arbitrary<Node> => fc.option(a, { nil: NULL, freq })
const S = (...values: string[]): fc.Arbitrary<Node> => fc.constantFrom(...values).map((v) => ({ k: 'leaf', type: 'string', v }))
const B: fc.Arbitrary<Node> = fc.boolean().map((v) => ({ k: 'leaf', type: 'boolean', v }))
const I = (...texts: string[]): fc.Arbitrary<Node> => fc.constantFrom(...texts).map((t) => ({ k: 'leaf', type: 'integer', v: new JsonNumber(t) }))
const ANY = (...values: JsonValue[]): fc.Arbitrary<Node> => fc.constantFrom(...values).map((v) => ({ k: 'leaf', type: 'any', v }))
const arr = (item: fc.Arbitrary<Node>, maxLength = 3): fc.Arbitrary<Node> => fc.array(item, { maxLength }).map((items) => ({ k: 'array', items }))
const map = (keys: fc.Arbitrary<string>, value: fc.Arbitrary<Node>): fc.Arbitrary<Node> =>
  fc.uniqueArray(fc.tuple(keys, value), { selector: (e) => e[0], maxLength: 3 }).map((entries) => ({ k: 'map', entries }))
/** Any subset of the fields, each possibly null (Go: unset). */
function struct (fields: Record<string, fc.Arbitrary<Node>>): fc.Arbitrary<Node> {
  const nullables: Record<string, fc.Arbitrary<Node>> = {}
  for (const [name, a] of Object.entries(fields)) nullables[name] = nullable(a)
  return fc.record(nullables, { requiredKeys: [] }).map((r) => ({ k: 'struct', fields: Object.entries(r) as Array<[string, Node]> }))
}

const INTS = ['0', '1', '-1', '268435456', '9223372036854775807', '-9223372036854775808', '9007199254740993']
const CAPS = ['SYS_ADMIN', 'sys_admin', 'CAP_NET_ADMIN', 'cap_chown', 'ALL', 'NET_RAW', 'all']
const MODES = ['', 'host', 'Host', 'private', 'container:db', 'container:', 'shareable']
const BINDS = ['/srv/data:/data', '/var/run/docker.sock:/var/run/docker.sock:ro', 'data:/data', '/:/host', '/srv/../etc:/x:rw', 'relative/path:/y', '/tmp', ':/x', '/a:/b:c:d']
const SECURITY_OPTS = ['seccomp=unconfined', 'seccomp:unconfined', 'seccomp=builtin', 'apparmor=unconfined', 'apparmor:docker-default', 'label=disable', 'label:type:svirt_t', 'no-new-privileges', 'systempaths=unconfined', 'writable-cgroups=true', 'disable', 'bogus']
const LABEL_KEYS = fc.constantFrom('com.example.a', 'A', 'a', 'ſ', 'K', 'k', '0', '10', '__proto__')
const LOCAL_OPTS = map(fc.constantFrom('type', 'o', 'device', 'size'), S('none', 'bind', 'rbind', 'ro, BIND', '/etc', '/srv/../', 'tmpfs', 'nfs', 'addr=10.0.0.1'))

const mountArb = struct({
  Type: S('bind', 'volume', 'tmpfs', 'npipe', 'cluster', 'image', ''),
  Source: S('/srv/data', '/var/run/docker.sock', '/', 'data', '/srv/../etc', ''),
  Target: S('/data', '/x'),
  ReadOnly: B,
  Consistency: S('cached'),
  BindOptions: struct({ Propagation: S('rprivate', 'rshared'), NonRecursive: B, CreateMountpoint: B }),
  VolumeOptions: struct({
    NoCopy: B,
    Labels: map(LABEL_KEYS, S('v')),
    DriverConfig: struct({ Name: S('local', '', 'nfs'), Options: LOCAL_OPTS }),
    Subpath: S('sub')
  }),
  TmpfsOptions: struct({ SizeBytes: I('0', '65536'), Mode: I('1777', '493') })
})

const hostConfigArb = struct({
  Privileged: B,
  Binds: arr(nullable(S(...BINDS))),
  CapAdd: arr(S(...CAPS)),
  CapDrop: arr(S(...CAPS)),
  Capabilities: arr(S(...CAPS)),
  PidMode: S(...MODES),
  IpcMode: S(...MODES),
  UTSMode: S(...MODES),
  NetworkMode: S('', 'bridge', 'host', 'none', 'container:db', 'net1'),
  UsernsMode: S(...MODES),
  CgroupnsMode: S(...MODES),
  Cgroup: S('', 'container:db'),
  SecurityOpt: arr(S(...SECURITY_OPTS)),
  Mounts: arr(nullable(mountArb, 8)),
  Devices: arr(struct({ PathOnHost: S('/dev/sda', '/dev/../dev/mem', 'nvidia.com/gpu=all', ''), PathInContainer: S('/dev/xvda'), CgroupPermissions: S('rwm') })),
  DeviceRequests: arr(struct({ Driver: S('', 'nvidia', 'cdi'), Count: I('-1', '1'), DeviceIDs: arr(S('0', 'nvidia.com/gpu=0')), Capabilities: arr(arr(S('gpu', 'compute'))) })),
  DeviceCgroupRules: arr(S('c 1:3 mr', 'a *:* rwm')),
  Sysctls: map(fc.constantFrom('net.ipv4.ip_forward', 'kernel.shm_rmid_forced', 'net.core.somaxconn'), S('1', '0')),
  Memory: I(...INTS),
  MemorySwap: I(...INTS),
  NanoCpus: I(...INTS),
  CpuShares: I('0', '512'),
  CpuQuota: I('0', '50000'),
  PidsLimit: I('0', '-1', '100'),
  ShmSize: I('0', '67108864'),
  OomScoreAdj: I('-1000', '500'),
  OomKillDisable: B,
  Ulimits: arr(struct({ Name: S('nofile', 'nproc'), Soft: I('1024'), Hard: I('2048') })),
  LogConfig: struct({ Type: S('json-file', 'syslog', 'none', ''), Config: map(fc.constantFrom('max-size', 'syslog-address'), S('10m', 'udp://10.0.0.1:514')) }),
  PortBindings: map(fc.constantFrom('80/tcp', '443/tcp', '53/udp', '8080'), arr(nullable(struct({ HostIp: S('', '127.0.0.1', '0.0.0.0'), HostPort: S('', '8080') }), 8))),
  PublishAllPorts: B,
  VolumesFrom: arr(S('data', 'data:ro', 'web:rw')),
  VolumeDriver: S('', 'local', 'convoy'),
  ExtraHosts: arr(S('host.docker.internal:host-gateway', 'a:10.0.0.1')),
  MaskedPaths: arr(S('/proc/kcore')),
  ReadonlyPaths: arr(S('/proc/sys')),
  Runtime: S('', 'runc', 'nvidia'),
  CgroupParent: S('', '/docker'),
  RestartPolicy: struct({ Name: S('always', 'no', ''), MaximumRetryCount: I('0', '3') }),
  AutoRemove: B,
  Init: B,
  ReadonlyRootfs: B,
  Tmpfs: map(fc.constantFrom('/run', '/tmp'), S('rw,noexec', '')),
  Dns: arr(S('10.0.0.53'))
})

const endpointArb = struct({
  Aliases: arr(S('web')),
  DriverOpts: map(fc.constantFrom('com.docker.network.endpoint.sysctls', 'x'), S('net.ipv4.conf.IFNAME.forwarding=1', 'net.ipv6.conf.IFNAME.disable_ipv6=0, net.ipv4.conf.IFNAME.log_martians=1', '')),
  IPAMConfig: struct({ IPv4Address: S('10.0.0.2'), LinkLocalIPs: arr(S('169.254.0.2')) }),
  MacAddress: S('02:42:ac:11:00:02')
})

const bodyArbs: Readonly<Record<Operation, fc.Arbitrary<Node>>> = {
  ContainerCreate: struct({
    Image: S('busybox', 'nginx:1.25', 'registry.example:5000/team/app:1.2', '', 'UPPER/case', 'sha256:0123'),
    User: S('', 'root', '1000:1000'),
    Cmd: ANY(['sh', '-c', 'echo hi'], 'echo hi', []),
    Entrypoint: ANY(['/bin/sh'], ''),
    Env: arr(S('A=1', 'PATH=/bin')),
    Labels: map(LABEL_KEYS, S('x', '')),
    Tty: B,
    OpenStdin: B,
    AttachStdin: B,
    WorkingDir: S('/work'),
    Hostname: S('web'),
    StopTimeout: I('10'),
    ExposedPorts: map(fc.constantFrom('80/tcp', '53/udp'), ANY(Object.create(null) as JsonValue)),
    Volumes: map(fc.constantFrom('/data', '/cache'), ANY(Object.create(null) as JsonValue)),
    Healthcheck: struct({ Test: arr(S('CMD', 'curl')), Interval: I('1000000000'), Retries: I('3') }),
    HostConfig: hostConfigArb,
    NetworkingConfig: struct({ EndpointsConfig: map(fc.constantFrom('bridge', 'host', 'net1', 'Host'), nullable(endpointArb, 8)) })
  }),
  ContainerExec: struct({
    AttachStdin: B,
    AttachStdout: B,
    AttachStderr: B,
    Cmd: arr(S('sh', '-c', 'id')),
    Env: arr(S('A=1')),
    Privileged: B,
    Tty: B,
    User: S('', 'root', '0:0'),
    WorkingDir: S('/', '/tmp'),
    DetachKeys: S('ctrl-p,ctrl-q'),
    ConsoleSize: arr(I('24', '80'), 2),
    Detach: B
  }),
  VolumeCreate: struct({
    Name: S('data', 'cache', ''),
    Driver: S('', 'local', 'nfs-plugin'),
    DriverOpts: LOCAL_OPTS,
    Labels: map(LABEL_KEYS, S('x'))
  }),
  NetworkCreate: struct({
    Name: S('net1', ''),
    Driver: S('', 'bridge', 'macvlan', 'overlay', 'host'),
    Internal: B,
    Attachable: B,
    Ingress: B,
    EnableIPv6: B,
    EnableIPv4: B,
    CheckDuplicate: B,
    ConfigOnly: B,
    Scope: S('local', 'swarm'),
    Options: map(fc.constantFrom('parent', 'com.docker.network.bridge.name', 'macvlan_mode'), S('eth0', 'br0', 'bridge')),
    Labels: map(LABEL_KEYS, S('x')),
    ConfigFrom: struct({ Network: S('cfg') }),
    IPAM: struct({
      Driver: S('default', ''),
      Config: arr(struct({ Subnet: S('10.0.0.0/24'), Gateway: S('10.0.0.1'), IPRange: S('10.0.0.0/25'), AuxiliaryAddresses: map(fc.constantFrom('host1', 'host2'), S('10.0.0.5')) })),
      Options: map(fc.constantFrom('foo'), S('bar'))
    })
  })
}

const OPERATIONS = Object.keys(bodyArbs) as Operation[]

// --- writing a model as JSON, canonically or disguised -------------------------------------

/** A small deterministic generator for disguise choices, seeded by fast-check. */
function random (seed: number): () => number {
  let s = seed >>> 0
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0
    return s / 0x1_0000_0000
  }
}

/** Compact JSON text (the test's own writer: the serializer is under test). */
function writeJson (v: JsonValue): string {
  if (v === null || typeof v === 'boolean') return String(v)
  if (typeof v === 'string') return JSON.stringify(v)
  if (v instanceof JsonNumber) return v.text
  if (Array.isArray(v)) return '[' + v.map((e) => writeJson(e ?? null)).join(',') + ']'
  const o = v as Readonly<Record<string, JsonValue>>
  return '{' + Object.keys(o).map((k) => JSON.stringify(k) + ':' + writeJson(o[k] ?? null)).join(',') + '}'
}

/** The JSON a key-value list makes, in that order (integer-like keys aside: JavaScript puts them first). */
function object (entries: ReadonlyArray<readonly [string, JsonValue]>): JsonValue {
  const o = Object.create(null) as Record<string, JsonValue>
  for (const [k, v] of entries) o[k] = v
  return o
}

/** The body as its canonical JSON value: field names as the engine spells them. */
function canonicalValue (n: Node): JsonValue {
  switch (n.k) {
    case 'null': return null
    case 'leaf': return n.v
    case 'array': return n.items.map(canonicalValue)
    case 'struct': return object(n.fields.map(([k, v]) => [k, canonicalValue(v)]))
    case 'map': return object(n.entries.map(([k, v]) => [k, canonicalValue(v)]))
  }
}

/**
 * A spelling of a field name that Go's encoding/json reads as that field: any case per letter,
 * 'ſ' (U+017F) for s, the Kelvin sign (U+212A) for k.
 */
function variant (name: string, rnd: () => number): string {
  if (rnd() < 0.3) return name
  let out = ''
  for (const c of name) {
    const r = rnd()
    if ((c === 's' || c === 'S') && r < 0.25) out += 'ſ'
    else if ((c === 'k' || c === 'K') && r < 0.35) out += '\u212a'
    else out += r < 0.5 ? c : r < 0.75 ? c.toLowerCase() : c.toUpperCase()
  }
  return out
}

/** Another spelling of the same field, never equal to `taken` (the JSON parser would catch that). */
function otherVariant (name: string, taken: string, rnd: () => number): string {
  const v = variant(name, rnd)
  if (v !== taken) return v
  const first = v[0]!
  return (first === first.toUpperCase() ? first.toLowerCase() : first.toUpperCase()) + v.slice(1)
}

/**
 * Keys Go's decoder matches to no field: each holds a character outside [A-Za-z0-9_], 'ſ' and
 * the Kelvin sign, so it cannot fold to an engine field name. Many are near misses of real names
 * (a dotless ı, a dotted İ, a zero-width space, ß for s).
 */
function unknownKey (near: readonly string[], rnd: () => number): string {
  const base = near.length > 0 && rnd() < 0.7 ? near[Math.floor(rnd() * near.length)]! : 'Extra'
  const forms = [
    base.replace(/i/, 'ı'), base.replace(/I/, 'İ'), base.replace(/s/i, 'ß'), base + ' ', ' ' + base,
    base.slice(0, 1) + '\u200b' + base.slice(1), base + '-x', 'x-' + base, base.replace(/a/i, 'å'), '', base + '\u0000'
  ]
  const key = forms[Math.floor(rnd() * forms.length)]!
  return /[^A-Za-z0-9_\u017f\u212a]/.test(key) || key === '' ? key : key + '-'
}

// Values unknown keys carry: harmless ones, and ones that would matter if they were read.
const UNKNOWN_VALUES: readonly JsonValue[] = [true, 'host', ['/:/host'], new JsonNumber('1'), null, object([['Privileged', true]]), 'unconfined']

/** Near misses worth trying at each struct: the fields present, and for a create body the HostConfig fields the engine reads at the top level. */
const TOP_LEVEL_HOSTCONFIG = ['Privileged', 'Binds', 'CapAdd', 'PidMode', 'SecurityOpt', 'Devices', 'Cpuset', 'NetworkMode']

interface DisguiseOptions {
  /** Probability of an unknown key in each struct. */
  readonly unknown: number
  /** Probability that one struct field, picked at random, is also set by a second spelling (must be refused). */
  readonly collide: number
  /** Probability that one typed value, picked at random, gets a value of the wrong type (must be refused). */
  readonly wrongType: number
  /** Probability of a HostConfig field at the top level of a create body (must be refused). */
  readonly topLevelHostConfig: number
}

interface Disguised {
  readonly value: JsonValue
  /** Canonical paths of the unknown keys added, as `ignored` and `ignoredFields` name them. */
  readonly ignored: string[]
  /** Why the engine's reading would be ambiguous or wrong, when it is: then dockward must refuse. */
  readonly refusal: string | null
}

function wrongValue (type: 'string' | 'boolean' | 'integer', rnd: () => number): JsonValue {
  const candidates: Record<typeof type, JsonValue[]> = {
    string: [true, new JsonNumber('1'), [], object([])],
    boolean: ['true', new JsonNumber('1'), []],
    integer: ['1', new JsonNumber('1.5'), new JsonNumber('1e3'), true, new JsonNumber('-0.0')]
  }
  const list = candidates[type]
  return list[Math.floor(rnd() * list.length)]!
}

/** How many struct fields and typed (not 'any') values a model has. */
function count (n: Node): { fields: number, leaves: number } {
  switch (n.k) {
    case 'null': return { fields: 0, leaves: 0 }
    case 'leaf': return { fields: 0, leaves: n.type === 'any' ? 0 : 1 }
    default: {
      const children = n.k === 'array' ? n.items : n.k === 'map' ? n.entries.map(([, v]) => v) : n.fields.map(([, v]) => v)
      const total = { fields: n.k === 'struct' ? n.fields.length : 0, leaves: 0 }
      for (const c of children.map(count)) {
        total.fields += c.fields
        total.leaves += c.leaves
      }
      return total
    }
  }
}

/** The body spelled another way, as `operation` would receive it. */
function disguise (operation: Operation, root: Node, seed: number, options: DisguiseOptions): Disguised {
  const rnd = random(seed)
  const ignored: string[] = []
  let refusal: string | null = null
  // At most one collision and one wrong type per body, so large bodies are not always refused.
  const sizes = count(root)
  let collideAt = rnd() < options.collide ? Math.floor(rnd() * sizes.fields) : -1
  let wrongAt = rnd() < options.wrongType ? Math.floor(rnd() * sizes.leaves) : -1
  const at = (path: string, key: string | number): string => typeof key === 'number' ? `${path}[${key}]` : path === '' ? key : `${path}.${key}`

  const walk = (n: Node, path: string): JsonValue => {
    switch (n.k) {
      case 'null': return null
      case 'leaf':
        if (n.type !== 'any' && wrongAt-- === 0) {
          refusal ??= `${path} has the wrong type`
          return wrongValue(n.type, rnd)
        }
        return n.v
      case 'array': return n.items.map((item, i) => walk(item, at(path, i)))
      case 'map': return object(n.entries.map(([k, v]) => [k, walk(v, at(path, k))]))
      case 'struct': {
        const entries: Array<[string, JsonValue]> = []
        const keys = new Set<string>()
        for (const [name, child] of n.fields) {
          const key = variant(name, rnd)
          entries.push([key, walk(child, at(path, name))])
          keys.add(key)
          if (collideAt-- === 0) {
            const second = otherVariant(name, key, rnd)
            entries.push([second, walk(child, at(path, name))])
            keys.add(second)
            refusal ??= `${JSON.stringify(key)} and ${JSON.stringify(second)} both set ${at(path, name)}`
          }
        }
        const top = operation === 'ContainerCreate' && path === ''
        if (top && rnd() < options.topLevelHostConfig) {
          const name = TOP_LEVEL_HOSTCONFIG[Math.floor(rnd() * TOP_LEVEL_HOSTCONFIG.length)]!
          const key = variant(name, rnd)
          if (!keys.has(key)) {
            entries.push([key, name === 'Privileged' ? true : name === 'Binds' ? ['/:/host'] : 'host'])
            keys.add(key)
            refusal ??= `HostConfig field ${key} at the top level`
          }
        }
        if (rnd() < options.unknown) {
          const near = [...n.fields.map(([name]) => name), ...(top ? TOP_LEVEL_HOSTCONFIG : [])]
          const key = unknownKey(near, rnd)
          if (!keys.has(key)) {
            entries.push([key, UNKNOWN_VALUES[Math.floor(rnd() * UNKNOWN_VALUES.length)]!])
            keys.add(key)
            ignored.push(at(path, key))
          }
        }
        // Key order is the client's: shuffle.
        for (let i = entries.length - 1; i > 0; i--) {
          const j = Math.floor(rnd() * (i + 1))
          ;[entries[i], entries[j]] = [entries[j]!, entries[i]!]
        }
        return object(entries)
      }
    }
  }
  const value = walk(root, '')
  return { value, ignored, refusal }
}

// --- checks ---------------------------------------------------------------------------------

function bodyNode (operation: Operation): SchemaNode {
  const body = operationInputs[operation]?.body
  assert.ok(body !== undefined && typeof body !== 'string')
  return body
}

/** Every struct key of a canonical body is a field name, exactly, and every value has its field's type. */
function checkCanonical (schema: SchemaNode, v: JsonValue, path: string): void {
  if (v === null) return
  const node = deref(schema)
  switch (node) {
    case 'any': return
    case 'string': assert.equal(typeof v, 'string', path); return
    case 'boolean': assert.equal(typeof v, 'boolean', path); return
    case 'integer': assert.ok(v instanceof JsonNumber && /^-?[0-9]+$/.test(v.text), `${path} is an integer`); return
    case 'number': assert.ok(v instanceof JsonNumber, `${path} is a number`); return
  }
  if ('array' in node) {
    assert.ok(Array.isArray(v), `${path} is an array`)
    v.forEach((e, i) => { checkCanonical(node.array, e ?? null, `${path}[${i}]`) })
    return
  }
  assert.ok(isJsonObject(v), `${path} is an object`)
  assert.equal(Object.getPrototypeOf(v), null)
  for (const key of Object.keys(v)) {
    if ('map' in node) checkCanonical(node.map, v[key] ?? null, `${path}.${key}`)
    else {
      assert.ok(Object.hasOwn(node.struct, key), `${path}: ${JSON.stringify(key)} is not a canonical field name`)
      checkCanonical(node.struct[key]!, v[key] ?? null, `${path}.${key}`)
    }
  }
}

/** canonicalizeBody on raw bytes; a refusal (anything thrown) must be a BadRequestBodyError. */
function canonicalOrRefusal (operation: Operation, bytes: Buffer): CanonicalBody | BadRequestBodyError {
  try {
    return canonicalizeBody(operation, parseGoJson(bytes))
  } catch (err) {
    if (err instanceof BadRequestBodyError) return err
    throw new Error(`canonicalizeBody(${operation}) threw ${String(err)}, not a BadRequestBodyError`, { cause: err })
  }
}

async function inspect (operation: Operation, version: string | null, body: Buffer): Promise<InspectedRequest> {
  try {
    return await inspectRequest({ operation, version, params: {}, rawQuery: '', body }, offlineLookup)
  } catch (err) {
    if (err instanceof GatewayError) throw err
    throw new Error(`inspectRequest(${operation}) threw ${String(err)}, not a GatewayError`, { cause: err })
  }
}

function withoutIgnored (facts: RequestFacts): RequestFacts {
  const { ignoredFields: _, ...rest } = facts
  return rest
}

const sorted = (list: readonly string[] | undefined): string[] => [...(list ?? [])].sort()

const versionArb = fc.constantFrom(null, '1.24', '1.41', '1.44')

const caseArb = fc.constantFrom(...OPERATIONS).chain((operation) => fc.record({
  operation: fc.constant(operation),
  model: bodyArbs[operation],
  seed: fc.integer(),
  version: versionArb
}))

// --- properties -----------------------------------------------------------------------------

test('disguised bodies: refused exactly when two keys meet, a type is wrong or HostConfig is at the top; else canonical, a fixpoint, and decided alike', async () => {
  const options: DisguiseOptions = { unknown: 0.3, collide: 0.15, wrongType: 0.1, topLevelHostConfig: 0.1 }
  await fc.assert(fc.asyncProperty(caseArb, async ({ operation, model, seed, version }) => {
    const disguised = disguise(operation, model, seed, options)
    const bytes = Buffer.from(writeJson(disguised.value), 'utf8')
    const result = canonicalOrRefusal(operation, bytes)
    if (result instanceof BadRequestBodyError) {
      assert.ok(disguised.refusal !== null, `refused (${result.message}) though the engine reads it one way: ${bytes.toString()}`)
      await assert.rejects(inspect(operation, version, bytes), BadRequestBodyError)
      return
    }
    assert.equal(disguised.refusal, null, `accepted though ${disguised.refusal ?? ''}: ${bytes.toString()}`)
    checkCanonical(bodyNode(operation), result.value, operation)
    assert.deepStrictEqual(sorted(result.ignored), sorted(disguised.ignored), 'exactly the unknown keys are ignored')

    // The canonical bytes are a fixpoint: read and canonicalized again, they come out the same.
    const canonical = serializeJson(result.value)
    const again = canonicalOrRefusal(operation, Buffer.from(canonical, 'utf8'))
    assert.ok(!(again instanceof BadRequestBodyError), `canonical body refused: ${canonical}`)
    assert.equal(serializeJson(again.value), canonical)
    assert.deepStrictEqual(again.ignored, [])

    // Facts of what the client sent equal the facts of the canonical body sent as it is.
    const sent = await inspect(operation, version, bytes)
    const forwarded = await inspect(operation, version, Buffer.from(canonical, 'utf8'))
    assert.equal(sent.bodyBytes?.toString(), canonical, 'the bytes forwarded are the canonical body')
    assert.equal(forwarded.bodyBytes?.toString(), canonical)
    assert.equal(forwarded.facts.ignoredFields, undefined)
    assert.deepStrictEqual(sorted(sent.facts.ignoredFields), sorted(disguised.ignored))
    assert.deepStrictEqual(withoutIgnored(sent.facts), forwarded.facts)
  }), fuzzParams(500))
})

/** The facts the model says the body must have, for the fields a policy cares about most. */
function expectedFacts (operation: Operation, model: Node): Partial<RequestFacts> {
  const get = (n: Node | undefined, name: string): Node | undefined => n?.k === 'struct' ? n.fields.find(([k]) => k === name)?.[1] : undefined
  const str = (n: Node | undefined): string => n?.k === 'leaf' && typeof n.v === 'string' ? n.v : ''
  const bool = (n: Node | undefined): boolean => n?.k === 'leaf' && n.v === true
  const strs = (n: Node | undefined): string[] => n?.k === 'array' ? n.items.map(str) : []
  const entries = (n: Node | undefined): Array<readonly [string, Node]> => n?.k === 'map' ? [...n.entries] : []
  switch (operation) {
    case 'ContainerCreate': {
      const hc = get(model, 'HostConfig')
      const cap = (c: string): string => c.toUpperCase() === 'ALL' ? 'ALL' : c.toUpperCase().startsWith('CAP_') ? c.toUpperCase() : 'CAP_' + c.toUpperCase()
      const modes = { pid: str(get(hc, 'PidMode')), ipc: str(get(hc, 'IpcMode')), uts: str(get(hc, 'UTSMode')), network: str(get(hc, 'NetworkMode')), userns: str(get(hc, 'UsernsMode')), cgroupns: str(get(hc, 'CgroupnsMode')) }
      const endpoints = entries(get(get(model, 'NetworkingConfig'), 'EndpointsConfig')).map(([k]) => k)
      return {
        privileged: bool(get(hc, 'Privileged')),
        pidMode: modes.pid,
        ipcMode: modes.ipc,
        networkMode: modes.network,
        capAdd: [...new Set([...strs(get(hc, 'CapAdd')), ...strs(get(hc, 'Capabilities'))].map(cap))],
        hostNamespaces: sorted(Object.entries(modes).filter(([kind, m]) => m === 'host' || (kind === 'network' && endpoints.includes('host'))).map(([kind]) => kind)),
        // Binds with an absolute source (and a destination) are host paths.
        hostPaths: sorted([...new Set(strs(get(hc, 'Binds')).filter((b) => b.startsWith('/') && b.includes(':')).map((b) => cleanHostPath(b.split(':')[0]!)))]),
        user: str(get(model, 'User'))
      }
    }
    case 'ContainerExec':
      return { privileged: bool(get(model, 'Privileged')), user: str(get(model, 'User')) }
    case 'VolumeCreate':
      return { volumeDrivers: [str(get(model, 'Driver')) === '' ? 'local' : str(get(model, 'Driver'))] }
    case 'NetworkCreate':
      return {
        networkDriver: str(get(model, 'Driver')) === '' ? 'bridge' : str(get(model, 'Driver')),
        networkOptions: entries(get(model, 'Options')).map(([k, v]) => `${k}=${str(v)}`).sort()
      }
  }
}

test('disguise never changes a decision: case variants, ſ and K, key order and ignored near-miss keys give the facts of the canonical body', async () => {
  const options: DisguiseOptions = { unknown: 0.5, collide: 0, wrongType: 0, topLevelHostConfig: 0 }
  await fc.assert(fc.asyncProperty(caseArb, async ({ operation, model, seed, version }) => {
    const plain = Buffer.from(writeJson(canonicalValue(model)), 'utf8')
    const disguised = disguise(operation, model, seed, options)
    const bytes = Buffer.from(writeJson(disguised.value), 'utf8')
    const truth = await inspect(operation, version, plain)
    const seen = await inspect(operation, version, bytes)
    assert.equal(truth.facts.ignoredFields, undefined)
    assert.deepStrictEqual(withoutIgnored(seen.facts), truth.facts, `${bytes.toString()}\nreads differently from\n${plain.toString()}`)
    // The same canonical body, key order aside (deepStrictEqual ignores it).
    assert.deepStrictEqual(seen.body, truth.body)

    // And the facts are what the model says.
    const facts = truth.facts
    const expected = expectedFacts(operation, model)
    for (const [name, value] of Object.entries(expected) as Array<[keyof RequestFacts, unknown]>) {
      const actual = name === 'hostNamespaces' ? sorted(facts.hostNamespaces) : facts[name]
      if (name === 'hostPaths') {
        for (const p of value as string[]) assert.ok(facts.hostPaths?.includes(p), `hostPaths ${JSON.stringify(facts.hostPaths)} has ${p}`)
      } else {
        assert.deepStrictEqual(actual, value, `fact ${name}`)
      }
    }
  }), fuzzParams(500))
})

test('a near miss of a field name (ı, İ, ß, zero-width space, padding) never sets the field, at any level', async () => {
  const nearMiss = fc.record({
    field: fc.constantFrom(
      { path: ['HostConfig'], name: 'Privileged', value: true as JsonValue, fact: 'privileged' as const, unset: false as unknown },
      { path: ['HostConfig'], name: 'PidMode', value: 'host', fact: 'pidMode' as const, unset: '' },
      { path: ['HostConfig'], name: 'CapAdd', value: ['ALL'], fact: 'capAdd' as const, unset: [] },
      { path: ['HostConfig'], name: 'Binds', value: ['/:/host'], fact: 'hostPaths' as const, unset: [] },
      { path: ['HostConfig'], name: 'SecurityOpt', value: ['seccomp=unconfined'], fact: 'unconfined' as const, unset: [] },
      { path: [], name: 'Privileged', value: true, fact: 'privileged' as const, unset: false }
    ),
    seed: fc.integer()
  })
  await fc.assert(fc.asyncProperty(nearMiss, async ({ field, seed }) => {
    const rnd = random(seed)
    let key = unknownKey([field.name], rnd)
    while (key === '' || !key.includes(field.name.slice(2, 4))) key = unknownKey([field.name], rnd)
    let inner: JsonValue = object([[key, field.value]])
    for (const p of [...field.path].reverse()) inner = object([[variant(p, rnd), inner]])
    const body = object([['Image', 'busybox'], ...Object.entries(inner as Record<string, JsonValue>)])
    const bytes = Buffer.from(writeJson(body), 'utf8')
    const seen = await inspect('ContainerCreate', '1.41', bytes)
    assert.deepStrictEqual(seen.facts[field.fact], field.unset, `${bytes.toString()} set ${field.fact}`)
    assert.deepStrictEqual(seen.facts.ignoredFields, [[...field.path, key].join('.')])
  }), fuzzParams(300))
})

// --- every operation: schema-shaped bodies, queries and engine answers ---------------------

// Strings that steer fact extraction into its branches: modes, mount types, drivers, paths.
const STRING_POOL = [
  '', 'host', 'container:db', 'container:web', 'container:agent', 'container:', '/', '/etc', '/srv/../var', 'relative', 'bind', 'volume',
  'tmpfs', 'npipe', 'cluster', 'local', 'none', 'rbind', 'o', 'db', 'web', 'agent', 'busybox', 'plugin', 'seccomp=unconfined',
  'apparmor:x', 'label=disable', 'ALL', 'sys_admin', 'cdi', 'nvidia', 'vendor.com/class=x', 'network', 'mount', 'device',
  'capabilities', 'allow-all-devices', 'host pid namespace', 'unconfined', 'custom', 'disabled', 'data:/data', '/:/host:ro',
  'x.source=/srv', 'y.path=/dev/sda', 'z=/abs', 'com.docker.network.endpoint.sysctls', 'net.ipv4.conf.IFNAME.forwarding=1', 'ſ', '\u212a', '\ud7ff'
]
const QUERY_VALUE_POOL = [
  '', '1', 'true', 'host', 'container:db', 'x', '-', 'http://example.com/ctx.tar', 'vieux/sshfs', 'a:b', '{}', '[]', 'null', '{"A":"1"}',
  '{"A":1}', '[{"Name":"nofile","Soft":1}]', '[{"name":"a","NAME":"b"}]', '[1]', '{', '2', '9223372036854775808', '/etc/../root', 'etc', '%'
]
// Mostly integers; now and then a number Go refuses for an integer field.
const INTEGER_POOL = ['0', '1', '-1', '4096', '9223372036854775807', '-9223372036854775808', '0', '1', '1e3']

const arbCache = new Map<string, fc.Arbitrary<JsonValue>>()

/** Values of the shape the schema gives `node`, every field optional and possibly null; `depth` bounds recursion. */
function schemaValueArb (node: SchemaNode, depth: number): fc.Arbitrary<JsonValue> {
  if (depth > 7) return fc.constant(null)
  const key = typeof node === 'object' && 'ref' in node ? `${node.ref}@${depth}` : undefined
  if (key !== undefined) {
    const cached = arbCache.get(key)
    if (cached !== undefined) return cached
  }
  const n = deref(node)
  let arb: fc.Arbitrary<JsonValue>
  switch (n) {
    case 'string': arb = fc.constantFrom(...STRING_POOL); break
    case 'boolean': arb = fc.boolean(); break
    case 'integer':
    case 'number': arb = fc.constantFrom(...INTEGER_POOL).map((t) => new JsonNumber(t)); break
    case 'any': arb = fc.constantFrom<JsonValue>(null, 'x', [], ['sh'], new JsonNumber('1'), true, Object.create(null) as JsonValue); break
    default:
      if ('array' in n) arb = fc.array(fc.option(schemaValueArb(n.array, depth + 1), { nil: null, freq: 10 }), { maxLength: 3 })
      else if ('map' in n) arb = fc.uniqueArray(fc.tuple(fc.constantFrom(...STRING_POOL), schemaValueArb(n.map, depth + 1)), { selector: (e) => e[0], maxLength: 3 }).map(object)
      else {
        const fields: Record<string, fc.Arbitrary<JsonValue>> = {}
        for (const [name, child] of Object.entries(n.struct)) fields[name] = fc.option(schemaValueArb(child, depth + 1), { nil: null, freq: 10 })
        arb = fc.record(fields, { requiredKeys: [] }).map((r) => object(Object.entries(r).map(([k, v]) => [k, v ?? null])))
      }
  }
  if (key !== undefined) arbCache.set(key, arb)
  return arb
}

const CONTAINER_NAMES = ['db', 'web', 'agent']

/** An engine that knows a few containers (joining each other, in cycles too), volumes and exec instances. */
const engineArb = fc.record({
  containers: fc.tuple(...CONTAINER_NAMES.map(() => fc.option(fc.record({
    hostConfig: schemaValueArb({ ref: 'HostConfig' }, 3),
    mounts: fc.array(fc.record({
      Type: fc.constantFrom('bind', 'volume', 'tmpfs', '', 'npipe'),
      Source: fc.constantFrom('/var/lib/docker/volumes/x/_data', '/srv', ''),
      Destination: fc.constantFrom('/data'),
      Name: fc.constantFrom('', 'vol1', 'data'),
      RW: fc.boolean()
    }).map((m) => object(Object.entries(m))), { maxLength: 2 })
  }), { nil: null }))),
  volumes: fc.dictionary(fc.constantFrom('data', 'vol1', 'db', 'relative'), fc.record({
    driver: fc.constantFrom('', 'local', 'nfs'),
    options: fc.dictionary(fc.constantFrom('type', 'o', 'device'), fc.constantFrom('none', 'bind', '/etc', 'tmpfs', 'nfs'))
  }), { maxKeys: 3 })
}).map(({ containers, volumes }): EngineLookup => ({
  volume: async (name) => Object.hasOwn(volumes, name) ? volumes[name]! : null,
  container: async (idOrName) => {
    const i = CONTAINER_NAMES.indexOf(idOrName)
    const c = i === -1 ? null : containers[i]
    if (c === null || c === undefined || !isJsonObject(c.hostConfig)) return null
    return { id: idOrName.padEnd(64, '0'), name: `/${idOrName}`, hostConfig: c.hostConfig, mounts: c.mounts }
  },
  exec: async (id) => id === 'e1' ? { containerId: 'web' } : null
}))

const ALL_OPERATIONS = Object.keys(operationInputs).sort()
const JSON_OPERATIONS = ALL_OPERATIONS.filter((op) => typeof operationInputs[op]!.body !== 'string')

const anyRequestArb = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...JSON_OPERATIONS) },
  { weight: 1, arbitrary: fc.constantFrom(...ALL_OPERATIONS) }
).chain((operation) => {
  const inputs = operationInputs[operation]!
  const names = [...inputs.query, 'x']
  return fc.record({
    operation: fc.constant(operation),
    params: fc.record({ id: fc.constantFrom('', 'db', 'web', 'agent', 'e1', 'nope') }),
    // Repeated names only now and then: the engine reads most of them once, so they are refused.
    query: fc.oneof(
      { weight: 4, arbitrary: fc.uniqueArray(fc.tuple(fc.constantFrom(...names), fc.constantFrom(...QUERY_VALUE_POOL)), { selector: (e) => e[0], maxLength: 4 }) },
      { weight: 1, arbitrary: fc.array(fc.tuple(fc.constantFrom(...names), fc.constantFrom(...QUERY_VALUE_POOL)), { maxLength: 4 }) }
    )
      .map((pairs) => pairs.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&')),
    body: typeof inputs.body === 'string'
      ? fc.constantFrom(undefined, Buffer.from('{}'), Buffer.from('tar bytes'))
      : schemaValueArb(inputs.body, 0).map((v) => Buffer.from(writeJson(v), 'utf8')),
    version: versionArb,
    lookup: fc.oneof(fc.constant(offlineLookup), engineArb)
  })
})

test('every operation: schema-shaped bodies, queries and engine answers give facts or a GatewayError, never another throw', async () => {
  await fc.assert(fc.asyncProperty(anyRequestArb, async ({ operation, params, query, body, version, lookup }) => {
    let inspected: InspectedRequest
    try {
      inspected = await inspectRequest({ operation, version, params, rawQuery: query, body }, lookup)
    } catch (err) {
      if (err instanceof GatewayError) return
      throw new Error(`inspectRequest(${operation}) threw ${String(err)}, not a GatewayError`, { cause: err })
    }
    // A decided JSON body is canonical and a fixpoint.
    if (inspected.bodyBytes !== undefined) {
      const again = canonicalOrRefusal(operation as Operation, inspected.bodyBytes)
      assert.ok(!(again instanceof BadRequestBodyError), `${operation}: canonical body refused: ${again instanceof Error ? again.message : ''}`)
      assert.equal(serializeJson(again.value), inspected.bodyBytes.toString())
    }
    // Facts are plain data: JSON round-trips them.
    assert.deepStrictEqual(JSON.parse(JSON.stringify(inspected.facts)), { ...inspected.facts })
  }), fuzzParams(600))
})
