/**
 * Generates src/route/route-table.ts from the Docker Engine API
 * OpenAPI (Swagger 2.0) specs.
 *
 * Usage: npm run gen:routes [-- <spec-dir>]
 *
 * <spec-dir> defaults to ../shared/engine-api relative to the repository
 * root and must contain files named v1.NN.yaml. Every (method, path) of
 * every spec is collected together with its operationId and the first and
 * last spec version that lists it. A few routes the specs omit are added by
 * hand (EXTRA_ROUTES below). The output is deterministic: sorted by template,
 * then method.
 *
 * Fails loudly (exit code 1) when a spec cannot be parsed, an operation has
 * no operationId, a path item has an unexpected key, or the same
 * (method, template) carries different operationIds in different versions
 * without being listed in KNOWN_RENAMES.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { parseDocument } from 'yaml'

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..')

export const DEFAULT_SPEC_DIR = resolve(repoRoot, '..', 'shared', 'engine-api')
const OUTPUT_FILE = join(repoRoot, 'src', 'route', 'route-table.ts')

/** HTTP methods the generated `HttpMethod` union always contains. */
const BASE_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE'] as const

/** Path-item keys that are HTTP operations in Swagger 2.0. */
const SWAGGER_METHODS = new Set(['get', 'head', 'post', 'put', 'delete', 'patch', 'options'])

export interface SpecOperation {
  readonly method: string
  /** Path exactly as the spec spells it, e.g. '/images/{name}/json' */
  readonly path: string
  readonly operationId: string
}

export interface EngineApiSpec {
  /** 'MAJOR.MINOR' */
  readonly version: string
  readonly file: string
  readonly operations: readonly SpecOperation[]
}

/**
 * Routes the specs leave out or do not version, added by hand.
 *
 * When a spec does list one of these, the spec wins: its operationId must
 * equal `operation` (otherwise generation fails) and since/until are the
 * spec versions that list it. A route no spec lists gets the whole range of
 * spec versions read (the engine does not gate these by API version).
 *
 * - GET /_ping (SystemPing): in every spec; the engine also serves it
 *   without a version prefix.
 * - HEAD /_ping (SystemPingHead): in the specs from 1.40 on.
 * - POST /session (Session): BuildKit session upgrade, in the specs from
 *   1.31 on (documented as experimental there).
 * - POST /grpc (Grpc): BuildKit's gRPC-over-h2c endpoint (moby
 *   api/server/router/grpc), never documented in the specs.
 */
export const EXTRA_ROUTES: readonly { readonly method: string, readonly template: string, readonly operation: string }[] = [
  { method: 'GET', template: '/_ping', operation: 'SystemPing' },
  { method: 'HEAD', template: '/_ping', operation: 'SystemPingHead' },
  { method: 'POST', template: '/session', operation: 'Session' },
  { method: 'POST', template: '/grpc', operation: 'Grpc' },
]

/**
 * operationIds that really changed between spec versions, keyed by
 * 'METHOD template', listing the older names. The newest name becomes
 * `operation` and the older ones `aliases`. Any other operationId change
 * fails generation, so a new rename has to be looked at and added here.
 *
 * The container archive operations were renamed in API 1.28 (1.25–1.27
 * used the left-hand names).
 */
const KNOWN_RENAMES: ReadonlyMap<string, readonly string[]> = new Map([
  ['GET /containers/{id}/archive', ['ContainerGetArchive']], // → ContainerArchive
  ['HEAD /containers/{id}/archive', ['ContainerArchiveHead']], // → ContainerArchiveInfo
  ['PUT /containers/{id}/archive', ['ContainerPutArchive']], // → PutContainerArchive
])

/**
 * Path templates whose `{name}` parameter may span several path segments.
 * moby registers these as `{name:.*}` and the values are image references
 * (`registry:5000/org/repo:tag`), distribution references or plugin
 * references (`vieux/sshfs:latest`), which legitimately contain '/' and ':'.
 * Every other parameter (container ids/names, network, volume, exec, swarm
 * object ids, ...) is treated as a single segment: those values never hold
 * '/', even though moby's router also registers most of them as `{x:.*}`
 * (e.g. /containers/{name:.*}/json, /networks/{id:.*}), so the engine would
 * accept extra segments there.
 *
 * Literal routes such as /images/json, /images/create, /plugins/pull,
 * /plugins/privileges do not have a parameter, so they are unaffected.
 */
const MULTI_SEGMENT_NAME = /^\/(?:images|distribution|plugins)\/\{name\}(?:\/|$)/

/** Maps a spec path to the table template (`{name}` → `{name*}` where multi-segment). */
export function toTemplate (path: string): string {
  if (MULTI_SEGMENT_NAME.test(path)) {
    return path.replace(/^(\/[a-z]+\/)\{name\}/, '$1{name*}')
  }
  return path
}

/**
 * The specs for API 1.25–1.38 contain multi-line double-quoted scalars
 * whose continuation lines are not indented more than their key, e.g.
 *
 *       description: "A list of string values to customize labels for MLS
 *       systems, such as SELinux."
 *
 * Go's YAML parser (used by moby/go-swagger) accepts that, the `yaml`
 * package rightly rejects it as invalid YAML 1.2. Leading whitespace of
 * continuation lines in a double-quoted scalar is folded away, so
 * re-indenting those lines below their key changes nothing but validity.
 */
export function repairYaml (text: string): string {
  const lines = text.split('\n')
  const opener = /^(\s*)((?:- )?)[A-Za-z0-9_.$-]+: "/
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] ?? ''
    const m = opener.exec(line)
    if (m === null) continue
    if (countUnescapedQuotes(line.slice(m[0].length - 1)) % 2 === 0) continue
    // Unterminated double-quoted scalar: re-indent until the closing quote.
    const minIndent = (m[1] ?? '').length + (m[2] ?? '').length + 1
    let j = i + 1
    for (; j < lines.length; j++) {
      const cont = lines[j] ?? ''
      const indent = cont.length - cont.trimStart().length
      if (cont.trim() !== '' && indent < minIndent) {
        lines[j] = ' '.repeat(minIndent) + cont.trimStart()
      }
      if (countUnescapedQuotes(cont) % 2 === 1) break
    }
    if (j >= lines.length) throw new Error(`unterminated double-quoted scalar at line ${i + 1}`)
    i = j
  }
  return lines.join('\n')
}

function countUnescapedQuotes (s: string): number {
  let n = 0
  for (let i = 0; i < s.length; i++) {
    if (s[i] === '\\') i++
    else if (s[i] === '"') n++
  }
  return n
}

/** 'v1.41.yaml' → '1.41', or undefined for other file names. */
export function versionOf (file: string): string | undefined {
  return /^v(\d+\.\d+)\.ya?ml$/.exec(file)?.[1]
}

export function compareVersions (a: string, b: string): number {
  const [amaj = 0, amin = 0] = a.split('.').map(Number)
  const [bmaj = 0, bmin = 0] = b.split('.').map(Number)
  return amaj - bmaj || amin - bmin
}

function isRecord (v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

/** Parses one spec file (repairing it first when it is not valid YAML) into plain data. */
export function loadSpecDocument (file: string): Record<string, unknown> {
  const text = readFileSync(file, 'utf8')
  let doc = parseDocument(text)
  // Only specs that do not parse as-is get repaired (1.25–1.38 at the time of writing).
  if (doc.errors.length > 0) doc = parseDocument(repairYaml(text))
  if (doc.errors.length > 0) {
    throw new Error(`${file}: YAML errors:\n${doc.errors.map(e => `  ${e.message}`).join('\n')}`)
  }
  const root: unknown = doc.toJS()
  if (!isRecord(root)) throw new Error(`${file}: not a YAML mapping`)
  return root
}

/** Reads and parses one spec file, returning its operations. */
export function readSpec (file: string): SpecOperation[] {
  const root = loadSpecDocument(file)
  if (!isRecord(root['paths'])) throw new Error(`${file}: no "paths" object`)
  const operations: SpecOperation[] = []
  for (const [path, item] of Object.entries(root['paths'])) {
    if (!path.startsWith('/')) throw new Error(`${file}: path ${JSON.stringify(path)} does not start with '/'`)
    if (!isRecord(item)) throw new Error(`${file}: path item ${path} is not an object`)
    for (const [key, op] of Object.entries(item)) {
      if (key === 'parameters' || key.startsWith('x-')) continue
      if (!SWAGGER_METHODS.has(key)) throw new Error(`${file}: unexpected key ${JSON.stringify(key)} under ${path}`)
      const operationId = isRecord(op) ? op['operationId'] : undefined
      if (typeof operationId !== 'string' || operationId === '') {
        throw new Error(`${file}: ${key.toUpperCase()} ${path} has no operationId`)
      }
      operations.push({ method: key.toUpperCase(), path, operationId })
    }
  }
  return operations
}

/** Reads every v1.NN.yaml in `dir`, sorted by version (oldest first). */
export function readSpecs (dir: string): EngineApiSpec[] {
  if (!existsSync(dir)) throw new Error(`Engine API spec folder not found: ${dir}`)
  const specs: EngineApiSpec[] = []
  for (const name of readdirSync(dir)) {
    const version = versionOf(name)
    if (version === undefined) continue
    const file = join(dir, name)
    specs.push({ version, file, operations: readSpec(file) })
  }
  if (specs.length === 0) throw new Error(`no v1.NN.yaml specs found in ${dir}`)
  return specs.sort((a, b) => compareVersions(a.version, b.version))
}

export interface GeneratedRoute {
  method: string
  template: string
  operation: string
  since: string
  until: string
  aliases: string[]
}

export interface BuildResult {
  routes: GeneratedRoute[]
  /** Human-readable notes about the data (gaps, removals, additions) */
  notes: string[]
}

export function buildRoutes (specs: readonly EngineApiSpec[]): BuildResult {
  const versions = specs.map(s => s.version)
  const newest = versions[versions.length - 1] ?? ''
  interface Acc { method: string, template: string, versions: string[], ops: Map<string, string[]> }
  const byKey = new Map<string, Acc>()
  for (const spec of specs) {
    for (const op of spec.operations) {
      const template = toTemplate(op.path)
      const key = `${op.method} ${template}`
      let acc = byKey.get(key)
      if (acc === undefined) {
        acc = { method: op.method, template, versions: [], ops: new Map() }
        byKey.set(key, acc)
      }
      if (acc.versions.includes(spec.version)) {
        throw new Error(`${spec.file}: ${key} listed twice (paths differing only in parameter spelling?)`)
      }
      acc.versions.push(spec.version)
      const seen = acc.ops.get(op.operationId) ?? []
      seen.push(spec.version)
      acc.ops.set(op.operationId, seen)
    }
  }

  const conflicts: string[] = []
  const notes: string[] = []
  const routes: GeneratedRoute[] = []
  for (const [key, acc] of byKey) {
    const since = acc.versions[0] ?? ''
    const until = acc.versions[acc.versions.length - 1] ?? ''
    // Newest operationId wins; older ones become aliases.
    const ordered = [...acc.ops].sort((a, b) => compareVersions(lastOf(b[1]), lastOf(a[1])))
    const [operation = ''] = ordered[0] ?? []
    const aliases = ordered.slice(1).map(([id]) => id)
    if (aliases.length > 0) {
      const described = `${key}: ${ordered.map(([id, vs]) => `${id} (${vs[0]}..${lastOf(vs)})`).join(', ')}`
      const known = KNOWN_RENAMES.get(key) ?? []
      if (aliases.every(id => known.includes(id))) notes.push(`renamed: ${described}`)
      else conflicts.push(described)
    }
    // Gaps: listed, then missing from some spec, then listed again.
    const span = versions.slice(versions.indexOf(since), versions.indexOf(until) + 1)
    const missing = span.filter(v => !acc.versions.includes(v))
    if (missing.length > 0) notes.push(`${key}: missing from ${missing.join(', ')} between ${since} and ${until}`)
    if (until !== newest) notes.push(`${key}: removed after ${until}`)
    if (since !== versions[0]) notes.push(`${key}: added in ${since}`)
    routes.push({ method: acc.method, template: acc.template, operation, since, until, aliases })
  }
  if (conflicts.length > 0) {
    throw new Error('operationId differs across versions for the same route ' +
      `(add to KNOWN_RENAMES if intended):\n  ${conflicts.join('\n  ')}`)
  }
  for (const key of KNOWN_RENAMES.keys()) {
    if (!byKey.has(key)) throw new Error(`KNOWN_RENAMES lists ${key}, which no spec has`)
  }

  const oldest = versions[0] ?? ''
  for (const extra of EXTRA_ROUTES) {
    const existing = routes.find(r => r.method === extra.method && r.template === extra.template)
    if (existing !== undefined) {
      if (existing.operation !== extra.operation) {
        throw new Error(`hand-added ${extra.method} ${extra.template} is ${extra.operation} but the specs call it ${existing.operation}`)
      }
      notes.push(`${extra.method} ${extra.template}: hand-added route found in specs ${existing.since}..${existing.until}`)
    } else {
      notes.push(`${extra.method} ${extra.template}: not in any spec; hand-added as ${extra.operation} (${oldest}..${newest})`)
      routes.push({ ...extra, since: oldest, until: newest, aliases: [] })
    }
  }

  routes.sort((a, b) => cmp(a.template, b.template) || cmp(a.method, b.method))
  return { routes, notes }
}

function lastOf (vs: readonly string[]): string {
  return vs[vs.length - 1] ?? ''
}

function cmp (a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}

function quote (s: string): string {
  return `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`
}

export function render (routes: readonly GeneratedRoute[], specVersions: readonly string[]): string {
  const methods: string[] = [...BASE_METHODS]
  for (const r of routes) if (!methods.includes(r.method)) methods.push(r.method)
  const hasAliases = routes.some(r => r.aliases.length > 0)
  const out: string[] = []
  out.push('// Code generated by `npm run gen:routes` (scripts/gen-route-table.ts) from the')
  out.push(`// Docker Engine API specs v${specVersions[0] ?? '?'}–v${specVersions[specVersions.length - 1] ?? '?'}. DO NOT EDIT BY HAND.`)
  out.push('')
  out.push(`export type HttpMethod = ${methods.map(quote).join(' | ')}`)
  out.push('')
  out.push('export interface RouteSpec {')
  out.push('  readonly method: HttpMethod')
  out.push("  /** Path template without version prefix, e.g. '/containers/{id}/json' or '/images/{name*}/json' */")
  out.push('  readonly template: string')
  out.push("  /** Operation name, the spec's operationId (e.g. 'ContainerCreate') */")
  out.push('  readonly operation: string')
  out.push("  /** First and last API version whose spec lists this route, 'MAJOR.MINOR' */")
  out.push('  readonly since: string')
  out.push('  readonly until: string')
  if (hasAliases) {
    out.push('  /** Older operationIds of this route in earlier spec versions */')
    out.push('  readonly aliases?: readonly string[]')
  }
  out.push('}')
  out.push('')
  out.push('export const routeTable: readonly RouteSpec[] = [')
  for (const r of routes) {
    const fields = [
      `method: ${quote(r.method)}`,
      `template: ${quote(r.template)}`,
      `operation: ${quote(r.operation)}`,
      `since: ${quote(r.since)}`,
      `until: ${quote(r.until)}`,
    ]
    if (r.aliases.length > 0) fields.push(`aliases: [${r.aliases.map(quote).join(', ')}]`)
    out.push(`  { ${fields.join(', ')} },`)
  }
  out.push(']')
  out.push('')
  return out.join('\n')
}

function main (): void {
  const dir = resolve(process.argv[2] ?? DEFAULT_SPEC_DIR)
  const specs = readSpecs(dir)
  const { routes, notes } = buildRoutes(specs)
  mkdirSync(dirname(OUTPUT_FILE), { recursive: true })
  writeFileSync(OUTPUT_FILE, render(routes, specs.map(s => s.version)))
  const versions = specs.map(s => s.version)
  console.log(`read ${specs.length} specs (${versions[0]}..${versions[versions.length - 1]}) from ${dir}`)
  for (const note of notes) console.log(`  note: ${note}`)
  console.log(`wrote ${routes.length} routes to ${OUTPUT_FILE}`)
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  try {
    main()
  } catch (err) {
    console.error(`gen-route-table: ${err instanceof Error ? err.message : String(err)}`)
    process.exitCode = 1
  }
}
