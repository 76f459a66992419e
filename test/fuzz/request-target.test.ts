import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { GatewayError } from '../../src/core/errors.ts'
import { parseRequestTarget, type RequestTarget } from '../../src/route/request-target.ts'
import { createRouteMatcher } from '../../src/route/route-matcher.ts'
import { routeTable, type RouteSpec } from '../../src/route/route-table.ts'
import { fuzzParams } from './fuzz-settings.ts'

/**
 * Properties of the route step: parseRequestTarget either refuses with a GatewayError or returns
 * the path the engine will route on, and the route matcher names at most one operation for it.
 */

const match = createRouteMatcher(routeTable)
const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'get', '']

/** parseRequestTarget; null when it refuses, and a refusal must be a GatewayError. */
function parseOrRefuse (url: string): RequestTarget | null {
  try {
    return parseRequestTarget(url)
  } catch (err) {
    if (err instanceof GatewayError) return null
    throw new Error(`parseRequestTarget(${JSON.stringify(url)}) threw ${String(err)}, not a GatewayError`, { cause: err })
  }
}

// What a client may send raw in a path (RFC 3986 pchar plus '/'), '%' aside.
const RAW_SAFE = /[A-Za-z0-9\-._~!$&'()*+,;=:@/]/

/** Percent-decodes every `%XX` (a refused target never gets here, so escapes are well-formed). */
function percentDecode (s: string): string {
  return s.replace(/%([0-9A-Fa-f]{2})/g, (_, hex: string) => String.fromCharCode(Number.parseInt(hex, 16)))
}

/** The form of a parsed target that a client would send: unsafe path characters encoded again. */
function canonicalTarget (t: RequestTarget): string {
  const path = [...t.path].map((c) => RAW_SAFE.test(c) ? c : `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`).join('')
  return (t.version === null ? '' : `/v${t.version}`) + path + (t.query === '' ? '' : `?${t.query}`)
}

/** Everything an accepted target must satisfy, checked against the raw target it came from. */
function checkAccepted (url: string, t: RequestTarget): void {
  const { path, version, query } = t
  assert.ok(path.startsWith('/'), 'path starts with /')
  assert.ok(!path.includes('//'), 'no empty segment')
  for (const seg of path.split('/')) assert.ok(seg !== '.' && seg !== '..', `no dot segment in ${JSON.stringify(path)}`)
  assert.ok(!path.includes('%'), 'no % left after decoding')
  assert.match(path, /^[\x20-\x7e]*$/, 'printable ASCII only: no control characters, no non-ASCII')
  assert.doesNotMatch(path, /[\\?#]/, 'no backslash, ? or #')
  if (version !== null) assert.match(version, /^(0|[1-9][0-9]{0,3})\.(0|[1-9][0-9]{0,3})$/)
  assert.ok(!query.includes('#'), 'no fragment')

  // The decoded path has exactly the raw path's segments, each percent-decoded: the engine, which
  // routes on the decoded path, sees the same segments dockward decided on.
  const q = url.indexOf('?')
  assert.equal(query, q === -1 ? '' : url.slice(q + 1))
  const segments = (q === -1 ? url : url.slice(0, q)).split('/').slice(1).map(percentDecode)
  if (version !== null) {
    assert.equal(segments[0], `v${version}`)
    assert.equal(path, '/' + segments.slice(1).join('/'))
  } else {
    assert.doesNotMatch(segments[0] ?? '', /^v[0-9.]+$/, 'a version-like first segment is never left in the path')
    assert.equal(path, '/' + segments.join('/'))
  }

  // Idempotence: the canonical form parses to the same target.
  assert.deepEqual(parseOrRefuse(canonicalTarget(t)), t, `canonical form ${JSON.stringify(canonicalTarget(t))}`)
}

/**
 * A reference matcher, written from the README's rules rather than from the matcher's regexes:
 * `{x}` is one non-empty segment, `{x*}` any non-empty run of characters (it may hold '/').
 */
function referenceMatch (template: string, path: string): Record<string, string> | null {
  const parts = template.split(/(\{[A-Za-z_][A-Za-z0-9_]*\*?\})/)
  const step = (i: number, pos: number, params: Record<string, string>): Record<string, string> | null => {
    if (i === parts.length) return pos === path.length ? params : null
    const part = parts[i]!
    if (i % 2 === 0) return path.startsWith(part, pos) ? step(i + 1, pos + part.length, params) : null
    const multi = part.endsWith('*}')
    const name = part.slice(1, multi ? -2 : -1)
    // Longest first, as a greedy regex would take it.
    for (let end = path.length; end > pos; end--) {
      const value = path.slice(pos, end)
      if (!multi && value.includes('/')) continue
      const found = step(i + 1, end, { ...params, [name]: value })
      if (found !== null) return found
    }
    return null
  }
  return step(0, 0, {})
}

const literalLength = (r: RouteSpec): number => r.template.replace(/\{[^}]*\}/g, '').length

function fill (template: string, params: Readonly<Record<string, string>>): string {
  return template.replace(/\{([A-Za-z_][A-Za-z0-9_]*)\*?\}/g, (_, name: string) => {
    assert.ok(Object.hasOwn(params, name), `parameter ${name} is set`)
    return params[name]!
  })
}

/** Route matching on an accepted path: never throws, and agrees with the reference matcher. */
function checkRouting (path: string): void {
  for (const method of METHODS) {
    const m = match(method, path)
    const candidates = routeTable.filter((r) => r.method === method && referenceMatch(r.template, path) !== null)
    if (candidates.length === 0) {
      assert.equal(m, null, `${method} ${path} matched ${m?.route.template ?? ''}, which the reference does not`)
      continue
    }
    assert.ok(m !== null, `${method} ${path} matches ${candidates.map((r) => r.template).join(', ')}`)
    assert.equal(m.route.method, method)
    assert.equal(m.operation, m.route.operation)
    // Parameters joined back into the template give the path.
    assert.equal(fill(m.route.template, m.params), path)
    for (const [name, value] of Object.entries(m.params)) {
      assert.ok(value !== '', `parameter ${name} is not empty`)
      if (!m.route.template.includes(`{${name}*}`)) assert.ok(!value.includes('/'), `one-segment parameter ${name} holds no /`)
    }
    // The most literal template wins, and no other one is as literal: the choice never depends
    // on the table's order.
    const best = Math.max(...candidates.map(literalLength))
    const winners = candidates.filter((r) => literalLength(r) === best)
    assert.equal(winners.length, 1, `${method} ${path} is ambiguous: ${winners.map((r) => r.template).join(', ')}`)
    assert.equal(m.route, winners[0])
    assert.deepEqual({ ...m.params }, referenceMatch(m.route.template, path))
  }
}

/** The whole route step on one target: parse (refusal allowed), check, route. */
function routeStep (url: string): RequestTarget | null {
  const t = parseOrRefuse(url)
  if (t === null) return null
  checkAccepted(url, t)
  checkRouting(t.path)
  return t
}

// --- generators ---------------------------------------------------------------------------

const hex = (code: number, lower: boolean): string => {
  const h = code.toString(16).padStart(2, '0')
  return '%' + (lower ? h : h.toUpperCase())
}

// Characters of a decoded path parameter: those sent raw, and ASCII that only travels encoded.
const RAW_PARAM_CHARS = "abcxyzABCXYZ0189-_.~!$&'()*+,;=:@".split('')
const ENCODED_ONLY_CHARS = ' "<>[]^`{|}'.split('')

/** One decoded path segment (never '.' or '..') and the raw form a client sends for it. */
const segmentArb = fc.array(
  fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom(...RAW_PARAM_CHARS).map((c) => ({ raw: c, decoded: c })) },
    // An encoded character, in either hex case; '.' is refused encoded, so it only travels raw.
    { weight: 2, arbitrary: fc.tuple(fc.constantFrom(...RAW_PARAM_CHARS.filter((c) => c !== '.'), ...ENCODED_ONLY_CHARS), fc.boolean()).map(([c, lower]) => ({ raw: hex(c.charCodeAt(0), lower), decoded: c })) }
  ),
  { minLength: 1, maxLength: 10 }
).map((chars) => ({ raw: chars.map((c) => c.raw).join(''), decoded: chars.map((c) => c.decoded).join('') }))
  .filter((s) => s.decoded !== '.' && s.decoded !== '..')

const REAL_NAMES = ['busybox', 'library/busybox:latest', 'registry.example:5000/team/app:1.2', 'ghcr.io/o/i@sha256:0123abcd', 'vieux/sshfs:latest', 'json', 'v1.41', 'a/json']

/** An image, plugin or distribution name: may hold '/' and ':'. */
const multiSegmentArb = fc.oneof(
  fc.constantFrom(...REAL_NAMES).map((n) => ({ raw: n, decoded: n })),
  fc.array(segmentArb, { minLength: 1, maxLength: 4 }).map((segs) => ({ raw: segs.map((s) => s.raw).join('/'), decoded: segs.map((s) => s.decoded).join('/') }))
)

const versionArb = fc.option(fc.constantFrom('1.24', '1.41', '1.44', '1.56', '2.0', '0.0', '9999.9999'), { nil: null })
const queryArb = fc.oneof(fc.constant(''), fc.constantFrom('all=1', 'filters=%7B%7D&all=true', 'a=b?c', 'x'), fc.string({ unit: 'grapheme-ascii', maxLength: 12 }).map((s) => s.replaceAll('#', '')))

interface RealTarget {
  readonly url: string
  readonly route: RouteSpec
  readonly version: string | null
  readonly path: string
  readonly params: Record<string, string>
  readonly query: string
}

/** A well-formed target for a route of the table, parameters filled in, some characters encoded. */
const realTargetArb: fc.Arbitrary<RealTarget> = fc.constantFrom(...routeTable).chain((route) => {
  const names = [...route.template.matchAll(/\{([A-Za-z_][A-Za-z0-9_]*)(\*?)\}/g)].map((m) => ({ name: m[1]!, multi: m[2] === '*' }))
  return fc.record({
    version: versionArb,
    values: fc.tuple(...names.map((n) => n.multi ? multiSegmentArb : segmentArb)),
    query: queryArb
  }).map(({ version, values, query }) => {
    const raw: Record<string, string> = {}
    const params: Record<string, string> = {}
    names.forEach((n, i) => {
      raw[n.name] = values[i]!.raw
      params[n.name] = values[i]!.decoded
    })
    const url = (version === null ? '' : `/v${version}`) + fill(route.template, raw) + (query === '' ? '' : `?${query}`)
    return { url, route, version, path: fill(route.template, params), params, query }
  })
})

/** Fragments that break a path in all the ways the README lists, and some harmless ones. */
const FRAGMENTS = [
  '/', '//', '/./', '/../', '/.', '/..', '.', '..', '...', '%', '%2', '%zz', '%2F', '%2f', '%2E', '%2e', '%25', '%252F',
  '%5C', '%5c', '%00', '%0a', '%0D', '%1f', '%7F', '%7f', '%80', '%ff', '%C3%A9', '%3F', '%23', '%20', '%41', '%76',
  '?', '#', '\\', ' ', '\t', '\0', '\r\n', 'é', '\u2028', '\ud800', '😀', '+', ';', ':', '@', '*',
  '/v1.41', '/v1.41.1', '/v01.2', '/v1', '/v1.', '/v.1', '/v10000.1', '/v1.041', '/v0.0', '/%761.41', '/V1.41', '/v1.41x'
]

/** Random edits of a target: insertions at any position, deletions, and prefixes. */
const mutationArb = fc.oneof(
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), text: fc.oneof(fc.constantFrom(...FRAGMENTS), fc.integer({ min: 0, max: 255 }).map((b) => hex(b, b % 2 === 0))) }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 4 }) }),
  fc.record({ kind: fc.constant('prefix' as const), text: fc.constantFrom('http://host', 'HTTP://h:1', '*', '', 'v1.41', '/v1.41', '/v1.41.1', '/v01.41', '/v1', '//', '/.') })
)

type Mutation = typeof mutationArb extends fc.Arbitrary<infer M> ? M : never

function mutate (url: string, m: Mutation): string {
  switch (m.kind) {
    case 'insert': {
      const at = m.at % (url.length + 1)
      return url.slice(0, at) + m.text + url.slice(at)
    }
    case 'delete': {
      const at = m.at % (url.length + 1)
      return url.slice(0, at) + url.slice(at + m.length)
    }
    case 'prefix': return m.text + url
  }
}

const mutatedTargetArb = fc.tuple(realTargetArb, fc.array(mutationArb, { minLength: 1, maxLength: 4 }))
  .map(([t, ms]) => ms.reduce(mutate, t.url))

// --- properties -----------------------------------------------------------------------------

test('arbitrary strings: refused with a GatewayError, or a clean, idempotent target that routes consistently', () => {
  const pathChars = fc.constantFrom(...'/.%2eEfF5cC0aAv14?#\\;:@ \0\t\x7féK'.split(''), '%2F', '%2E', '%25', '/..', '/.', '//')
  fc.assert(fc.property(
    fc.oneof(
      fc.string({ unit: 'binary', maxLength: 40 }),
      fc.string({ unit: 'grapheme-ascii', maxLength: 40 }).map((s) => '/' + s),
      fc.string({ unit: pathChars, maxLength: 24 }).map((s) => '/' + s)
    ),
    (url) => { routeStep(url) }
  ), fuzzParams(1500))
})

test('real targets of every route parse to their decoded path and match that route', () => {
  fc.assert(fc.property(realTargetArb, (t) => {
    const parsed = parseRequestTarget(t.url)
    checkAccepted(t.url, parsed)
    assert.deepEqual(parsed, { path: t.path, version: t.version, query: t.query })
    const m = match(t.route.method, parsed.path)
    assert.ok(m !== null, `${t.route.method} ${parsed.path} matches`)
    // A parameter can spell a literal template of the same method (`/images/{name*}/get` never
    // does, but the check stays general): then the literal route wins.
    const literal = routeTable.find((r) => r.method === t.route.method && r.template === parsed.path)
    if (literal !== undefined) {
      assert.equal(m.route, literal)
    } else {
      assert.equal(m.route, t.route, `${t.url} matched ${m.route.template}`)
      assert.deepEqual({ ...m.params }, t.params)
    }
    checkRouting(parsed.path)
  }), fuzzParams(800))
})

test('mutated real targets: refused with a GatewayError, or clean and consistently routed', () => {
  fc.assert(fc.property(mutatedTargetArb, (url) => { routeStep(url) }), fuzzParams(1500))
})

test('a percent-encoded byte is accepted exactly when it decodes to a harmless ASCII character', () => {
  fc.assert(fc.property(fc.integer({ min: 0, max: 255 }), fc.boolean(), (byte, lower) => {
    const url = `/v1.41/containers/a${hex(byte, lower)}b/json`
    const t = parseOrRefuse(url)
    const ch = String.fromCharCode(byte)
    const harmless = byte >= 0x20 && byte < 0x7f && !'/.%\\?#'.includes(ch)
    assert.equal(t !== null, harmless, `${url} ${harmless ? 'refused' : 'accepted'}`)
    if (t === null) return
    checkAccepted(url, t)
    assert.equal(t.path, `/containers/a${ch}b/json`)
    const m = match('GET', t.path)
    assert.equal(m?.operation, 'ContainerInspect')
    assert.deepEqual({ ...m.params }, { id: `a${ch}b` })
  }), fuzzParams(1000))
})

test('a version-like first segment is accepted exactly in the plain /vMAJOR.MINOR form', () => {
  const versionish = fc.oneof(
    fc.string({ unit: fc.constantFrom('0', '1', '4', '9', '.'), minLength: 1, maxLength: 8 }),
    fc.constantFrom('1.41.1', '01.2', '1', '1.', '.1', '10000.1', '1.041', '1.41', '0.0', '9999.9999', '1.10000')
  )
  fc.assert(fc.property(versionish, fc.boolean(), (v, encodeV) => {
    const url = `/${encodeV ? '%76' : 'v'}${v}/_ping`
    const t = parseOrRefuse(url)
    const plain = /^(0|[1-9][0-9]{0,3})\.(0|[1-9][0-9]{0,3})$/.test(v)
    assert.equal(t !== null, plain, `${url} ${plain ? 'refused' : 'accepted'}`)
    if (t === null) return
    checkAccepted(url, t)
    assert.deepEqual(t, { path: '/_ping', version: v, query: '' })
  }), fuzzParams(1000))
})
