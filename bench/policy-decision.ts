// Latency of one policy decision: `decide()` of the shipped policies on PolicyInputs built the way
// the gateway builds them (route, canonical query and body, facts). The target is a median under
// 20 µs for a container create against the default policy. The OPA rows decide the same container
// create with the OPA engine on the WAT test module of test/support/opa-test-module.ts (no OPA
// compiler here): they measure the engine's own cost (input document, JSON text into wasm memory,
// the SDK's evaluate, result parsing) plus a module that only scans the input, not a compiled
// Rego policy's evaluation.
//
//   node --import tsx bench/policy-decision.ts [--calls N]
import { parseArgs } from 'node:util'
import { buildPolicyInput } from '../src/cli/policy-command.ts'
import type { PolicyEngine, PolicyInput } from '../src/decide/policy-input.ts'
import { loadPolicy } from '../src/decide/policy-loader.ts'
import { createOpaEngine } from '../src/decide/opa/opa-engine.ts'
import { combineEngines } from '../src/decide/combined-engine.ts'
import { opaTestModule } from '../test/support/opa-test-module.ts'

const { values } = parseArgs({ options: { calls: { type: 'string', default: '1000000' } } })
const CALLS = Number(values.calls)
const BATCH = 1000

const compose = {
  Image: 'registry.example.com/team/web:1.4',
  Cmd: ['node', 'server.js'],
  Env: ['NODE_ENV=production', 'PORT=8080'],
  Labels: { 'com.docker.compose.project': 'shop', 'com.docker.compose.service': 'web' },
  ExposedPorts: { '8080/tcp': {} },
  HostConfig: {
    PortBindings: { '8080/tcp': [{ HostIp: '127.0.0.1', HostPort: '8080' }] },
    Mounts: [{ Type: 'volume', Source: 'shop_data', Target: '/data' }],
    RestartPolicy: { Name: 'unless-stopped' },
    Memory: 536870912,
    NanoCpus: 1000000000,
    LogConfig: { Type: 'json-file', Config: { 'max-size': '10m' } },
    CapDrop: ['NET_RAW'],
    NetworkMode: 'shop_default'
  },
  NetworkingConfig: { EndpointsConfig: { shop_default: { Aliases: ['web'] } } }
}

const json = (v: unknown): Buffer => Buffer.from(JSON.stringify(v))
// [label, engine, input, calls per row]: OPA decisions cost tens of µs, so they get fewer calls.
const rows: Array<[string, PolicyEngine, PolicyInput, number]> = []
const def = loadPolicy('default')
const readOnly = loadPolicy('read-only')
const headers = ['Content-Type', 'application/json', 'User-Agent', 'Docker-Client/28.0.0 (linux)']
const composeInput = await buildPolicyInput({ method: 'POST', target: '/v1.41/containers/create?name=shop-web-1', body: json(compose), headers })
rows.push(['ContainerCreate (compose service) → allow', def, composeInput, CALLS])
rows.push(['ContainerCreate, privileged → deny (rule 1)', def, await buildPolicyInput({ method: 'POST', target: '/v1.41/containers/create', body: json({ Image: 'busybox', HostConfig: { Privileged: true } }) }), CALLS])
rows.push(['ContainerCreate, syslog driver → deny (15th rule)', def, await buildPolicyInput({ method: 'POST', target: '/v1.41/containers/create', body: json({ Image: 'busybox', HostConfig: { LogConfig: { Type: 'syslog' } } }) }), CALLS])
rows.push(['ImageBuild (BuildKit) → allow', def, await buildPolicyInput({ method: 'POST', target: '/v1.41/build?version=2&remote=client-session&t=app', body: undefined }), CALLS])
rows.push(['SystemPing → allow', def, await buildPolicyInput({ method: 'GET', target: '/_ping' }), CALLS])
rows.push(['read-only: ContainerCreate → default-deny', readOnly, await buildPolicyInput({ method: 'POST', target: '/v1.41/containers/create', body: json(compose) }), CALLS])
const OPA_CALLS = Math.max(1000, Math.floor(CALLS / 50))
for (const minor of [1, 2] as const) {
  const wasm = Buffer.from(await opaTestModule({ minor }))
  const opa = createOpaEngine({ label: 'wat', wasm, data: {}, digest: 'bench', revision: null }, { entrypoint: 'docker/authz/allow', maxMemory: 256 * 1024 * 1024 })
  rows.push([`OPA (WAT module, ABI 1.${minor}): ContainerCreate → allow`, opa, composeInput, OPA_CALLS])
  if (minor === 2) rows.push(['both (default, then OPA ABI 1.2): ContainerCreate → allow', combineEngines(def, opa), composeInput, OPA_CALLS])
}

// What reading the clock costs, subtracted from every single-call sample.
function timerOverhead (): number {
  const samples = new Float64Array(100000)
  for (let i = 0; i < samples.length; i++) {
    const t0 = process.hrtime.bigint()
    samples[i] = Number(process.hrtime.bigint() - t0)
  }
  return percentile(samples.sort(), 0.5)
}

function percentile (sorted: Float64Array, p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!
}

let sink = 0
function measure (policy: PolicyEngine, input: PolicyInput, overheadNs: number, calls: number): { median: number, p99: number, batchMean: number } {
  for (let i = 0; i < Math.min(200000, calls); i++) sink += policy.decide(input).allow ? 1 : 0
  const single = new Float64Array(calls)
  for (let i = 0; i < calls; i++) {
    const t0 = process.hrtime.bigint()
    sink += policy.decide(input).allow ? 1 : 0
    single[i] = Math.max(0, Number(process.hrtime.bigint() - t0) - overheadNs)
  }
  single.sort()
  const batches = new Float64Array(Math.max(1, Math.floor(calls / BATCH)))
  for (let b = 0; b < batches.length; b++) {
    const t0 = process.hrtime.bigint()
    for (let i = 0; i < BATCH; i++) sink += policy.decide(input).allow ? 1 : 0
    batches[b] = Number(process.hrtime.bigint() - t0) / BATCH
  }
  batches.sort()
  return { median: percentile(single, 0.5) / 1000, p99: percentile(single, 0.99) / 1000, batchMean: percentile(batches, 0.5) / 1000 }
}

const overhead = timerOverhead()
const fmt = (us: number): string => us.toFixed(3).padStart(9)
console.log(`policy decide() latency — node ${process.version}, ${CALLS.toLocaleString('en')} timed calls per row (OPA rows ${OPA_CALLS.toLocaleString('en')}), clock overhead ${overhead} ns subtracted`)
console.log(`default policy: ${def.ruleCount} rules, sha256 ${def.digest.slice(0, 12)}…\n`)
const width = Math.max(...rows.map(([name]) => name.length))
console.log(`| ${'input'.padEnd(width)} | median µs |    p99 µs | mean µs (batches of ${BATCH}) | decisions/s |`)
console.log(`|${'-'.repeat(width + 2)}|-----------|-----------|${'-'.repeat(28)}|-------------|`)
for (const [name, policy, input, calls] of rows) {
  const r = measure(policy, input, overhead, calls)
  const perSecond = Math.round(1e6 / r.batchMean).toLocaleString('en')
  console.log(`| ${name.padEnd(width)} | ${fmt(r.median)} | ${fmt(r.p99)} | ${fmt(r.batchMean).padStart(26)} | ${perSecond.padStart(11)} |`)
}

// The whole inspect + decide step the gateway runs for a container create: parse and
// canonicalize the body, canonicalize the query, extract facts, decide. Named-volume lookups
// are skipped (offline); in the gateway each costs one GET to the engine.
const composeBytes = json(compose)
const INSPECT_CALLS = Math.max(1000, Math.floor(CALLS / 20))
for (let i = 0; i < 2000; i++) sink += def.decide(await buildPolicyInput({ method: 'POST', target: '/v1.41/containers/create?name=shop-web-1', body: composeBytes })).allow ? 1 : 0
const full = new Float64Array(INSPECT_CALLS)
for (let i = 0; i < INSPECT_CALLS; i++) {
  const t0 = process.hrtime.bigint()
  sink += def.decide(await buildPolicyInput({ method: 'POST', target: '/v1.41/containers/create?name=shop-web-1', body: composeBytes })).allow ? 1 : 0
  full[i] = Math.max(0, Number(process.hrtime.bigint() - t0) - overhead)
}
full.sort()
console.log(`\ninspect + decide, ContainerCreate (compose service, ${composeBytes.length} B body), ${INSPECT_CALLS.toLocaleString('en')} calls: ` +
  `median ${(percentile(full, 0.5) / 1000).toFixed(1)} µs, p99 ${(percentile(full, 0.99) / 1000).toFixed(1)} µs`)
if (sink === -1) console.log(sink)
