import { test } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { routeTable, type RouteSpec } from '../../src/route/route-table.ts'
import { compareVersions, readSpecs } from '../../scripts/gen-route-table.ts'

/** The Engine API specs live next to the repository, never inside it. */
const SPEC_DIR = fileURLToPath(new URL('../../../shared/engine-api', import.meta.url))

/** Routes the generator adds by hand (they are not, or not always, in the specs). */
const HAND_ADDED = [
  ['GET', '/_ping', 'SystemPing'],
  ['HEAD', '/_ping', 'SystemPingHead'],
  ['POST', '/session', 'Session'],
  ['POST', '/grpc', 'Grpc'],
] as const

/** Templates whose `{name}` may span several segments (moby's `{name:.*}`). */
const MULTI_SEGMENT_TEMPLATE = /^\/(?:images|distribution|plugins)\/\{name\*\}(?:\/|$)/

const key = (method: string, template: string): string => `${method} ${template}`

const aliasesOf = (row: RouteSpec): readonly string[] => {
  const aliases: unknown = Reflect.get(row, 'aliases')
  return Array.isArray(aliases) ? aliases.filter((a): a is string => typeof a === 'string') : []
}

/** Table template → path as the specs spell it ('{name*}' → '{name}'). */
const specPathOf = (template: string): string => template.replace(/\{([^}]+)\*\}/g, '{$1}')

const paramsOf = (template: string): string[] =>
  [...template.matchAll(/\{([^}]*)\}/g)].map(m => m[1] ?? '')

test('routeTable covers every operation of every Engine API spec', (t) => {
  if (!existsSync(SPEC_DIR)) {
    const message = `SKIPPED: Engine API specs not found at ${SPEC_DIR}; route catalog not checked against specs`
    console.log(message)
    t.skip(message)
    return
  }
  const specs = readSpecs(SPEC_DIR)
  assert.ok(specs.length > 0, `no specs read from ${SPEC_DIR}`)

  const bySpecPath = new Map<string, RouteSpec>()
  for (const row of routeTable) bySpecPath.set(key(row.method, specPathOf(row.template)), row)

  const problems: string[] = []
  /** 'METHOD path' → versions of the specs listing it */
  const listed = new Map<string, string[]>()
  for (const spec of specs) {
    for (const op of spec.operations) {
      const k = key(op.method, op.path)
      listed.set(k, [...(listed.get(k) ?? []), spec.version])
      const row = bySpecPath.get(k)
      if (row === undefined) {
        problems.push(`v${spec.version}: ${k} (${op.operationId}) missing from routeTable`)
      } else if (row.operation !== op.operationId && !aliasesOf(row).includes(op.operationId)) {
        problems.push(`v${spec.version}: ${k} is ${op.operationId} in the spec but ${row.operation} in routeTable`)
      } else if (compareVersions(spec.version, row.since) < 0 || compareVersions(spec.version, row.until) > 0) {
        problems.push(`v${spec.version}: ${k} outside routeTable range ${row.since}..${row.until}`)
      }
    }
  }

  // The other direction: rows from the specs carry exactly the specs' version range.
  for (const row of routeTable) {
    const versions = listed.get(key(row.method, specPathOf(row.template)))
    if (versions === undefined) {
      if (!HAND_ADDED.some(([m, tpl]) => m === row.method && tpl === row.template)) {
        problems.push(`${key(row.method, row.template)} is in routeTable but in no spec`)
      }
      continue
    }
    const since = versions[0]
    const until = versions[versions.length - 1]
    if (row.since !== since || row.until !== until) {
      problems.push(`${key(row.method, row.template)}: routeTable says ${row.since}..${row.until}, specs say ${since}..${until}`)
    }
  }
  assert.deepEqual(problems, [], 'routeTable is out of date; run `npm run gen:routes`')
})

test('routeTable has no duplicate (method, template) rows', () => {
  const seen = new Set<string>()
  const duplicates: string[] = []
  for (const row of routeTable) {
    const k = key(row.method, row.template)
    if (seen.has(k)) duplicates.push(k)
    seen.add(k)
  }
  assert.deepEqual(duplicates, [])
})

test('routeTable templates start with / and are well formed', () => {
  for (const row of routeTable) {
    assert.ok(row.template.startsWith('/'), `${row.method} ${row.template} does not start with '/'`)
    assert.ok(!row.template.startsWith('/v1.'), `${row.method} ${row.template} has a version prefix`)
    assert.match(row.operation, /^[A-Za-z][A-Za-z0-9]*$/, `${row.method} ${row.template}`)
    assert.match(row.since, /^\d+\.\d+$/, `${row.method} ${row.template} since`)
    assert.match(row.until, /^\d+\.\d+$/, `${row.method} ${row.template} until`)
    assert.ok(compareVersions(row.since, row.until) <= 0, `${row.method} ${row.template}: since > until`)
  }
})

test('routeTable is sorted by template, then method', () => {
  const keys = routeTable.map(r => [r.template, r.method] as const)
  const sorted = [...keys].sort((a, b) =>
    a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0)
  assert.deepEqual(keys, sorted)
})

test('routeTable contains the hand-added routes', () => {
  for (const [method, template, operation] of HAND_ADDED) {
    const row = routeTable.find(r => r.method === method && r.template === template)
    assert.ok(row !== undefined, `${method} ${template} missing`)
    assert.equal(row.operation, operation)
  }
})

test('multi-segment params are exactly the image, distribution and plugin names', () => {
  for (const row of routeTable) {
    const where = `${row.method} ${row.template}`
    const params = paramsOf(row.template)
    for (const p of params) assert.match(p, /^[A-Za-z]+\*?$/, `${where}: bad param {${p}}`)
    const multi = params.filter(p => p.endsWith('*'))
    if (MULTI_SEGMENT_TEMPLATE.test(row.template)) {
      assert.deepEqual(multi, ['name*'], where)
    } else {
      assert.deepEqual(multi, [], `${where} must only have single-segment params`)
      assert.doesNotMatch(row.template, /^\/(?:images|distribution|plugins)\/\{/, `${where}: name should be {name*}`)
    }
  }
  const has = (method: string, template: string): boolean =>
    routeTable.some(r => r.method === method && r.template === template)
  assert.ok(has('GET', '/images/{name*}/json'))
  assert.ok(has('DELETE', '/images/{name*}'))
  assert.ok(has('POST', '/images/{name*}/tag'))
  assert.ok(has('GET', '/distribution/{name*}/json'))
  assert.ok(has('GET', '/plugins/{name*}/json'))
  assert.ok(has('DELETE', '/plugins/{name*}'))
  // Look-alikes that must stay single-segment or literal.
  assert.ok(has('GET', '/volumes/{name}'))
  assert.ok(has('GET', '/containers/{id}/json'))
  assert.ok(has('GET', '/images/json'))
  assert.ok(has('POST', '/plugins/pull'))
})
