import { test } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync, readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { operationInputs, schemaNodes, type SchemaNode } from '../../src/inspect/body-schema.ts'
import { goFoldKey } from '../../src/inspect/go-fold.ts'
import { routeTable } from '../../src/route/route-table.ts'
import { OUTPUT_FILE, buildSchema, render } from '../../scripts/gen-body-schema.ts'

/** The Engine API specs live next to the repository, never inside it. */
const SPEC_DIR = fileURLToPath(new URL('../../../shared/engine-api', import.meta.url))

function struct (name: string): Readonly<Record<string, SchemaNode>> {
  const node = schemaNodes[name]
  assert.ok(node !== undefined && typeof node === 'object' && 'struct' in node, `${name} is not a struct node`)
  return node.struct
}

/** Every node below `node`, with its path. */
function * walk (node: SchemaNode, path: string): Generator<[SchemaNode, string]> {
  yield [node, path]
  if (typeof node === 'string' || 'ref' in node) return
  if ('map' in node) yield * walk(node.map, `${path}{}`)
  else if ('array' in node) yield * walk(node.array, `${path}[]`)
  else for (const [k, v] of Object.entries(node.struct)) yield * walk(v, `${path}.${k}`)
}

test('the committed body schema is what the generator makes of the specs', { timeout: 120000 }, (t) => {
  if (!existsSync(SPEC_DIR)) {
    const message = `engine API specs not found at ${SPEC_DIR}: skipped`
    console.log(`SKIPPED: ${message}`)
    t.skip(message)
    return
  }
  const fresh = render(buildSchema(SPEC_DIR))
  assert.ok(fresh === readFileSync(OUTPUT_FILE, 'utf8'), 'src/inspect/body-schema.ts is stale: run npm run gen:body-schema')
})

test('ContainerCreate: container config fields at the top, HostConfig (with Resources) and NetworkingConfig below', () => {
  const body = operationInputs['ContainerCreate']?.body
  assert.deepEqual(body, { ref: 'ContainerCreateBody' })
  const top = struct('ContainerCreateBody')
  for (const field of ['Hostname', 'Domainname', 'User', 'AttachStdin', 'Tty', 'OpenStdin', 'Env', 'Cmd', 'Entrypoint', 'Image', 'Labels', 'ExposedPorts', 'Volumes', 'WorkingDir', 'Healthcheck', 'StopSignal', 'StopTimeout', 'Shell', 'ArgsEscaped', 'NetworkDisabled', 'MacAddress', 'OnBuild']) {
    assert.ok(Object.hasOwn(top, field), `top level lacks ${field}`)
  }
  assert.deepEqual(top['HostConfig'], { ref: 'HostConfig' })
  assert.deepEqual(top['NetworkingConfig'], { ref: 'NetworkingConfig' })
  assert.deepEqual(top['Healthcheck'], { ref: 'HealthConfig' })
  assert.equal(top['Image'], 'string')
  assert.deepEqual(top['Env'], { array: 'string' })
  assert.deepEqual(top['Labels'], { map: 'string' })

  const hostConfig = struct('HostConfig')
  const expected = [
    'Binds', 'Privileged', 'CapAdd', 'CapDrop', 'Devices', 'DeviceRequests', 'DeviceCgroupRules', 'Mounts', 'SecurityOpt', 'Sysctls',
    'CgroupParent', 'Runtime', 'MaskedPaths', 'ReadonlyPaths', 'PortBindings', 'PidMode', 'IpcMode', 'UTSMode', 'NetworkMode',
    'UsernsMode', 'CgroupnsMode', 'LogConfig', 'Ulimits', 'Memory', 'NanoCpus', 'CpuShares', 'PidsLimit', 'Annotations',
    'ConsoleSize', 'Isolation', 'Init', 'VolumesFrom', 'VolumeDriver', 'Cgroup', 'Tmpfs', 'StorageOpt', 'ShmSize', 'GroupAdd',
  ]
  for (const field of expected) assert.ok(Object.hasOwn(hostConfig, field), `HostConfig lacks ${field}`)
  assert.equal(hostConfig['Privileged'], 'boolean')
  assert.deepEqual(hostConfig['Mounts'], { array: { ref: 'Mount' } })
  assert.deepEqual(hostConfig['PortBindings'], { ref: 'PortMap' })
  assert.deepEqual(schemaNodes['PortMap'], { map: { array: { ref: 'PortBinding' } } })
  assert.deepEqual(struct('NetworkingConfig')['EndpointsConfig'], { map: { ref: 'EndpointSettings' } })
  const mount = struct('Mount')
  for (const field of ['BindOptions', 'VolumeOptions', 'ImageOptions', 'TmpfsOptions', 'ClusterOptions']) assert.ok(Object.hasOwn(mount, field), `Mount lacks ${field}`)
})

test('body kinds: streams, JSON, none', () => {
  for (const op of ['ImageBuild', 'ImageLoad', 'PutContainerArchive', 'ImageCreate', 'PluginCreate']) {
    assert.equal(operationInputs[op]?.body, 'stream', op)
  }
  for (const op of ['ContainerStart', 'ContainerList', 'ImagePush', 'ContainerArchive', 'SystemPing']) {
    assert.equal(operationInputs[op]?.body, 'none', op)
  }
  for (const [op, ref] of [['ImageCommit', 'ContainerConfig'], ['ServiceCreate', 'ServiceSpec'], ['NodeUpdate', 'NodeSpec'], ['PluginSet', 'PluginSetBody'], ['ExecStart', 'ExecStartBody']] as const) {
    assert.deepEqual(operationInputs[op]?.body, { ref }, op)
  }
  assert.deepEqual(operationInputs['ContainerCreate']?.query, ['name', 'platform'])
  assert.deepEqual(operationInputs['ImageBuild']?.query.includes('buildargs'), true)
})

test('every operation of the route table is described (but the undocumented /grpc)', () => {
  const missing = [...new Set(routeTable.map(r => r.operation))].filter(op => operationInputs[op] === undefined)
  assert.deepEqual(missing, ['Grpc'])
  for (const [op, inputs] of Object.entries(operationInputs)) {
    assert.deepEqual(inputs.query, [...inputs.query].sort(), `${op} query names are sorted`)
  }
})

test('every ref resolves, and every struct is one Go decodes unambiguously', () => {
  const roots: [SchemaNode, string][] = Object.entries(schemaNodes).map(([name, node]) => [node, name])
  for (const [op, inputs] of Object.entries(operationInputs)) {
    if (typeof inputs.body === 'object') roots.push([inputs.body, `${op} body`])
  }
  for (const [root, name] of roots) {
    for (const [node, path] of walk(root, name)) {
      if (typeof node === 'object' && 'ref' in node) assert.ok(Object.hasOwn(schemaNodes, node.ref), `${path}: unknown ref ${node.ref}`)
      if (typeof node === 'object' && 'struct' in node) {
        const folds = Object.keys(node.struct).map(goFoldKey)
        assert.equal(new Set(folds).size, folds.length, `${path}: two fields fold alike`)
        for (const field of Object.keys(node.struct)) assert.match(field, /^[\x21-\x7e]+$/, `${path}.${field}`)
      }
    }
  }
})
