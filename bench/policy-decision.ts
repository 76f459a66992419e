// Latency of one policy decision: `decide()` of the shipped policies on PolicyInputs built the way
// the gateway builds them (route, canonical query and body, facts). The target is a median under
// 20 µs for a container create against the default policy.
//
//   node --import tsx bench/policy-decision.ts [--calls N]
import { parseArgs } from 'node:util'
import { buildPolicyInput } from '../src/cli/policy-command.ts'
import type { PolicyEngine, PolicyInput } from '../src/decide/policy-input.ts'
import { loadPolicy } from '../src/decide/policy-loader.ts'

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
const rows: Array<[string, PolicyEngine, PolicyInput]> = []
const def = loadPolicy('default')
const readOnly = loadPolicy('read-only')
rows.push(['ContainerCreate (compose service) → allow', def, await buildPolicyInput({ method: 'POST', target: '/v1.41/containers/create?name=shop-web-1', body: json(compose) })])
rows.push(['ContainerCreate, privileged → deny (rule 1)', def, await buildPolicyInput({ method: 'POST', target: '/v1.41/containers/create', body: json({ Image: 'busybox', HostConfig: { Privileged: true } }) })])
rows.push(['ContainerCreate, syslog driver → deny (15th rule)', def, await buildPolicyInput({ method: 'POST', target: '/v1.41/containers/create', body: json({ Image: 'busybox', HostConfig: { LogConfig: { Type: 'syslog' } } }) })])
rows.push(['ImageBuild (BuildKit) → allow', def, await buildPolicyInput({ method: 'POST', target: '/v1.41/build?version=2&remote=client-session&t=app', body: undefined })])
rows.push(['SystemPing → allow', def, await buildPolicyInput({ method: 'GET', target: '/_ping' })])
rows.push(['read-only: ContainerCreate → default-deny', readOnly, await buildPolicyInput({ method: 'POST', target: '/v1.41/containers/create', body: json(compose) })])

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
function measure (policy: PolicyEngine, input: PolicyInput, overheadNs: number): { median: number, p99: number, batchMean: number } {
  for (let i = 0; i < 200000; i++) sink += policy.decide(input).allow ? 1 : 0
  const single = new Float64Array(CALLS)
  for (let i = 0; i < CALLS; i++) {
    const t0 = process.hrtime.bigint()
    sink += policy.decide(input).allow ? 1 : 0
    single[i] = Math.max(0, Number(process.hrtime.bigint() - t0) - overheadNs)
  }
  single.sort()
  const batches = new Float64Array(Math.max(1, Math.floor(CALLS / BATCH)))
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
console.log(`policy decide() latency — node ${process.version}, ${CALLS.toLocaleString('en')} timed calls per row, clock overhead ${overhead} ns subtracted`)
console.log(`default policy: ${def.ruleCount} rules, sha256 ${def.digest.slice(0, 12)}…\n`)
const width = Math.max(...rows.map(([name]) => name.length))
console.log(`| ${'input'.padEnd(width)} | median µs |    p99 µs | mean µs (batches of ${BATCH}) |`)
console.log(`|${'-'.repeat(width + 2)}|-----------|-----------|${'-'.repeat(28)}|`)
for (const [name, policy, input] of rows) {
  const r = measure(policy, input, overhead)
  console.log(`| ${name.padEnd(width)} | ${fmt(r.median)} | ${fmt(r.p99)} | ${fmt(r.batchMean).padStart(26)} |`)
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
