import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseAllDocuments } from 'yaml'
import { parseServeArgs } from '../../src/cli/serve-args.ts'
import { parseConfigText } from '../../src/config/config-file.ts'
import { resolveConfig } from '../../src/config/config.ts'
import { compilePolicySource } from '../../src/decide/policy-loader.ts'

// deploy/kubernetes/ offline: every object against the Kubernetes API's schemas (the
// kubernetes-models package validates with schemas generated from the API's OpenAPI document),
// then what only dockward can check: the config and policy in the ConfigMap load, and the
// DaemonSet mounts what the config names. The API's schemas accept unknown fields, as the API
// server does without strict field validation; a misspelt optional key is only caught by
// `kubectl apply --validate=strict` against a cluster.

const DIR = fileURLToPath(new URL('../../deploy/kubernetes/', import.meta.url))
const FILES = [...readdirSync(DIR).filter((f) => f.endsWith('.yaml')), ...readdirSync(join(DIR, 'examples')).map((f) => `examples/${f}`)]

interface K8sObject { apiVersion: string, kind: string, metadata: { name: string }, [key: string]: any }

function objects (): K8sObject[] {
  return FILES.flatMap((file) => parseAllDocuments(readFileSync(join(DIR, file), 'utf8'), { uniqueKeys: true }).map((doc) => {
    assert.deepEqual(doc.errors, [], file)
    return doc.toJS() as K8sObject
  }))
}

/** The kubernetes-models class for an object's apiVersion and kind. */
async function model (o: K8sObject): Promise<new (data: unknown) => { validate: () => void }> {
  const path = o.apiVersion.includes('/') ? o.apiVersion : `v1`
  const mod = await import(`kubernetes-models/${path}/${o.kind}`) as Record<string, new (data: unknown) => { validate: () => void }>
  const cls = mod[o.kind]
  assert.ok(cls !== undefined, `no model for ${o.apiVersion} ${o.kind}`)
  return cls
}

function find (kind: string, name: string): K8sObject {
  const o = objects().find((x) => x.kind === kind && x.metadata.name === name)
  assert.ok(o !== undefined, `no ${kind} ${name}`)
  return o
}

test('every object validates against the Kubernetes API schemas', async () => {
  const all = objects()
  assert.deepEqual(all.map((o) => `${o.kind}/${o.metadata.name}`).sort(), ['ConfigMap/dockward-config', 'DaemonSet/dockward', 'Namespace/dockward', 'Secret/dockward-tls', 'ServiceAccount/dockward'])
  for (const o of all) {
    const Model = await model(o)
    assert.doesNotThrow(() => new Model(o).validate(), `${o.kind}/${o.metadata.name}`)
  }
})

test('the validation has teeth: a wrong type and a missing required field are refused', async () => {
  const ds = find('DaemonSet', 'dockward')
  const Model = await model(ds)
  const wrongType = structuredClone(ds)
  wrongType.spec.template.spec.containers[0].ports[0].containerPort = 'twenty-three-seventy-six'
  assert.throws(() => new Model(wrongType).validate())
  const noSelector = structuredClone(ds)
  delete noSelector.spec.selector
  assert.throws(() => new Model(noSelector).validate())
})

test("the ConfigMap's config and policy load, and the DaemonSet mounts what they name", () => {
  const cm = find('ConfigMap', 'dockward-config')
  const ds = find('DaemonSet', 'dockward')
  const pod = ds.spec.template.spec
  const container = pod.containers[0]
  const mounts = new Map<string, string>(container.volumeMounts.map((m: { name: string, mountPath: string }) => [m.mountPath, m.name]))
  const volume = (name: string): any => pod.volumes.find((v: { name: string }) => v.name === name)

  const args = parseServeArgs(container.args.slice(1))
  assert.ok(args !== 'help' && args.configFile !== undefined)
  const configDir = args.configFile.slice(0, args.configFile.lastIndexOf('/'))
  assert.equal(volume(mounts.get(configDir)!).configMap.name, 'dockward-config')
  const config = resolveConfig(parseConfigText(cm.data['dockward.yaml'], 'dockward.yaml'), args.flags, {})
  assert.equal(config.policy, 'policy.yaml')
  compilePolicySource(Buffer.from(cm.data['policy.yaml']), 'policy.yaml')

  // TLS files come from the Secret, under keys the example Secret has.
  const secret = find('Secret', 'dockward-tls')
  const listener = config.listen[0]!
  assert.ok(listener.kind === 'tcp' && listener.tls !== undefined)
  const tls = listener.tls
  for (const file of [tls.cert, tls.key, tls.clientCa]) {
    const dir = file!.slice(0, file!.lastIndexOf('/'))
    assert.equal(volume(mounts.get(dir)!).secret.secretName, 'dockward-tls', file)
    assert.ok(Object.hasOwn(secret.stringData, file!.slice(dir.length + 1)), file)
  }
  // The engine socket is the node's, and the listener's port is the one the pod exposes.
  assert.equal(config.upstream.url, 'unix:///var/run/docker.sock')
  assert.equal(volume(mounts.get('/var/run/docker.sock')!).hostPath.path, '/var/run/docker.sock')
  assert.equal(listener.port, container.ports[0].containerPort)
  // The image's user (deploy/Dockerfile's DOCKWARD_UID), not root.
  assert.equal(pod.securityContext.runAsUser, 10001)
})
