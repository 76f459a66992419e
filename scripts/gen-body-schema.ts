/**
 * Generates src/inspect/body-schema.ts from the Docker Engine API OpenAPI (Swagger 2.0) specs:
 * for every operation, what its body is (none, a byte stream, or JSON of a named schema node) and
 * which query parameters it takes, plus the schema nodes JSON bodies are canonicalized against.
 *
 * Usage: npm run gen:body-schema [-- <spec-dir>]
 *
 * <spec-dir> defaults to ../shared/engine-api relative to the repository root (v1.NN.yaml files,
 * read with gen-route-table's loader). Everything is the union over all spec versions, because
 * dockward serves every API version: a field any version lists is a field; a field whose type
 * differs between versions becomes `any`, unless both are objects, whose fields merge. `$ref`s
 * stay references, so shared definitions (HostConfig, Mount, TaskSpec, …) appear once; `allOf`
 * parts are merged into one struct. Only definitions a request body reaches are emitted.
 *
 * A few fields the engine's Go structs decode are missing from every spec (FIELD_OVERLAY), and a
 * few old specs describe a type the Go struct never had (TYPE_CORRECTIONS); both are kept by hand.
 *
 * Fails loudly (exit code 1) on schema shapes it does not know, on a struct whose field names Go's
 * case folding could not tell apart, on a non-ASCII field name, and on overlay or correction
 * entries that no longer match the specs.
 */
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { routeTable } from '../src/route/route-table.ts'
import { goFoldKey } from '../src/inspect/go-fold.ts'
import { DEFAULT_SPEC_DIR, compareVersions, loadSpecDocument, versionOf } from './gen-route-table.ts'

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..')
export const OUTPUT_FILE = join(repoRoot, 'src', 'inspect', 'body-schema.ts')

/** A schema node as emitted (the `SchemaNode` type of the output). */
export type Node =
  | 'string' | 'boolean' | 'integer' | 'number' | 'any'
  | { readonly ref: string }
  | { readonly struct: Readonly<Record<string, Node>> }
  | { readonly map: Node }
  | { readonly array: Node }

/**
 * A node while versions are merged. A `union` holds a ref and something else (a ref to another
 * definition, an inline object): which one wins can only be told once every definition is merged.
 */
type Draft =
  | 'string' | 'boolean' | 'integer' | 'number' | 'any'
  | { readonly ref: string }
  | { readonly struct: Readonly<Record<string, Draft>> }
  | { readonly map: Draft }
  | { readonly array: Draft }
  | { readonly union: readonly Draft[] }

export type BodyInput = 'none' | 'stream' | { readonly ref: string }

export interface GeneratedSchema {
  /** Named nodes, sorted by name. */
  readonly nodes: ReadonlyMap<string, Node>
  /** Operations, sorted by name. */
  readonly operations: ReadonlyMap<string, { readonly body: BodyInput, readonly query: readonly string[] }>
  /** Spec versions read, oldest first. */
  readonly versions: readonly string[]
  /** Human-readable notes: type conflicts widened to `any`, inline objects merged into refs. */
  readonly notes: readonly string[]
}

/**
 * Definitions that changed name between spec versions, read under their newest name so their
 * versions merge. Up to 1.29 `Config` was the container config; from 1.30 on that is
 * `ContainerConfig`, and `Config` is the swarm config object. `VolumeCreateOptions` became
 * `VolumeCreateRequest` in 1.52.
 */
const DEFINITION_RENAMES: readonly { readonly from: string, readonly to: string, readonly until: string }[] = [
  { from: 'Config', to: 'ContainerConfig', until: '1.29' },
  { from: 'VolumeCreateOptions', to: 'VolumeCreateRequest', until: '1.51' },
]

/**
 * Fields the engine's Go structs decode that no spec version lists, as `Definition.inline.Field`
 * (`<Operation>Body.Field` for an inline body). Without them canonicalization would drop what the
 * docker CLI sends, and the engine would do something else than asked. Generation fails when a
 * spec lists one of these, so the overlay shrinks as the specs catch up.
 *
 * Checked against moby's api/types as the docker CLI v28 fills them (container.Config,
 * container.HostConfig with Resources, mount.Mount, network.EndpointSettings): every other field
 * is in some spec version, among them HostConfig.Annotations, ConsoleSize, Isolation and Init,
 * Config.ArgsEscaped, NetworkDisabled, MacAddress, OnBuild, StopTimeout and Shell, all of
 * Mount.BindOptions, Mount.VolumeOptions.Subpath and Mount.ImageOptions.
 */
/**
 * Query parameters the engine reads that no spec lists. Canonicalization drops parameters it does
 * not know, so without these BuildKit builds lose their session. Generation fails when a spec
 * lists one, like FIELD_OVERLAY.
 */
const QUERY_OVERLAY: Readonly<Record<string, readonly string[]>> = {
  // moby api/server/router/build/build_routes.go newImageBuildOptions: BuildKit's session and
  // build ids, and options the classic builder applies to its build containers.
  ImageBuild: ['buildid', 'cgroupparent', 'cpusetmems', 'isolation', 'securityopt', 'session', 'ulimits']
}

const FIELD_OVERLAY: Readonly<Record<string, Node>> = {
  // mount.Mount.ClusterOptions (an empty struct): `--mount type=cluster` sends it.
  'Mount.ClusterOptions': { struct: {} },
  // registry.AuthConfig: `docker login` sends a token instead of a password for some registries.
  'AuthConfig.auth': 'string',
  'AuthConfig.identitytoken': 'string',
  'AuthConfig.registrytoken': 'string',
  // container.ExecOptions.Detach has no omitempty: the CLI sends `"Detach": false` to exec create.
  'ContainerExecBody.Detach': 'boolean',
  // swarm runtime.PluginSpec is generated from protobuf, with lower-case JSON names; the specs list
  // a `PluginPrivilege` field Go does not have instead of `privileges`, and no `env`.
  'TaskSpec.PluginSpec.privileges': { array: { ref: 'PluginPrivilege' } },
  'TaskSpec.PluginSpec.env': { array: 'string' },
}

/**
 * Fields whose type some old specs describe wrongly, as `Definition.Field` → the Go type, which
 * never changed. Without the correction the union over versions would widen them to `any` and
 * they would go unchecked.
 */
const TYPE_CORRECTIONS: Readonly<Record<string, Node>> = {
  // 1.25–1.34 give each port one binding object; it is nat.PortMap, map[Port][]PortBinding.
  'HostConfig.PortBindings': { ref: 'PortMap' },
  // 1.25–1.36 describe an object with a property named "additionalProperties"; it is map[string]struct{}.
  'ContainerConfig.Volumes': { map: 'any' },
  // 1.25–1.38 make Options a list of maps and 1.25–1.40 Config a list of maps; network.IPAM has
  // Options map[string]string and Config []IPAMConfig.
  'IPAM.Options': { map: 'string' },
  'IPAM.Config': { array: { ref: 'IPAMConfig' } },
}

/** 'X' of '#/definitions/X' as the canonical (newest) definition name, for a spec `version`. */
function canonicalName (specName: string, version: string): string {
  for (const r of DEFINITION_RENAMES) {
    if (r.from === specName && compareVersions(version, r.until) <= 0) return r.to
  }
  return specName
}

function isRecord (v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

function emptyFields<T> (): Record<string, T> {
  return Object.create(null) as Record<string, T>
}

const SCALARS: ReadonlySet<string> = new Set(['string', 'boolean', 'integer', 'number'])

/** Merges drafts as a union (what either side accepts), noting what it had to widen. */
class Merger {
  readonly notes: string[] = []

  merge (a: Draft, b: Draft, where: string): Draft {
    if (a === b) return a
    if (a === 'any' || b === 'any') return 'any'
    if (typeof a === 'object' && typeof b === 'object') {
      if ('struct' in a && 'struct' in b) return { struct: this.mergeFields(a.struct, b.struct, where) }
      if ('map' in a && 'map' in b) return { map: this.merge(a.map, b.map, `${where}{}`) }
      if ('array' in a && 'array' in b) return { array: this.merge(a.array, b.array, `${where}[]`) }
      if ('ref' in a && 'ref' in b && a.ref === b.ref) return a
      if ('ref' in a || 'union' in a || 'ref' in b || 'union' in b) {
        const members = new Map<string, Draft>()
        for (const m of [...('union' in a ? a.union : [a]), ...('union' in b ? b.union : [b])]) members.set(JSON.stringify(m), m)
        return { union: [...members.values()] }
      }
    }
    this.notes.push(`${where}: ${describe(a)} or ${describe(b)}: any`)
    return 'any'
  }

  /**
   * Fields of both. Two names Go folds together are one Go field spelled two ways (v1.27 spells
   * Resources.NanoCpus `NanoCPUs`): they become one field under `b`'s (the newer) spelling.
   */
  mergeFields (a: Readonly<Record<string, Draft>>, b: Readonly<Record<string, Draft>>, where: string): Record<string, Draft> {
    const out = Object.assign(emptyFields<Draft>(), a)
    const byFold = new Map(Object.keys(out).map(k => [goFoldKey(k), k]))
    for (const [k, v] of Object.entries(b)) {
      const known = byFold.get(goFoldKey(k))
      const old = known === undefined ? undefined : out[known]
      if (known !== undefined && known !== k) {
        this.notes.push(`${where}: ${known} and ${k} are one field to Go: ${k}`)
        delete out[known]
      }
      out[k] = old === undefined ? v : this.merge(old, v, `${where}.${k}`)
      byFold.set(goFoldKey(k), k)
    }
    return out
  }
}

function describe (d: Draft): string {
  if (typeof d === 'string') return d
  if ('ref' in d) return d.ref
  if ('struct' in d) return 'object'
  if ('map' in d) return `map of ${describe(d.map)}`
  if ('array' in d) return `array of ${describe(d.array)}`
  return d.union.map(describe).join(' | ')
}

/** Which overlay and correction entries matched anything, to fail on stale ones. */
interface PatchLog {
  readonly overlayAdded: Set<string>
  /** overlay key → versions whose spec already lists the field */
  readonly overlayListed: Map<string, string[]>
  readonly corrected: Set<string>
}

/** Reads one spec version's definitions and body schemas into drafts. */
class VersionReader {
  readonly version: string
  readonly file: string
  private readonly definitions: Record<string, unknown>
  private readonly merger: Merger
  private readonly log: PatchLog
  private readonly memo = new Map<string, Draft>()
  private readonly inProgress = new Set<string>()

  constructor (version: string, file: string, root: Record<string, unknown>, merger: Merger, log: PatchLog) {
    this.version = version
    this.file = file
    this.definitions = isRecord(root['definitions']) ? root['definitions'] : {}
    this.merger = merger
    this.log = log
  }

  /** Every definition of this spec, converted, under its canonical name. */
  allDefinitions (): Map<string, Draft> {
    const out = new Map<string, Draft>()
    for (const name of Object.keys(this.definitions)) out.set(canonicalName(name, this.version), this.definition(name))
    return out
  }

  /** One definition by its name in this spec, with the overlay and corrections applied. */
  definition (specName: string): Draft {
    const done = this.memo.get(specName)
    if (done !== undefined) return done
    if (this.inProgress.has(specName)) throw new Error(`${this.file}: definition ${specName} contains itself through allOf`)
    this.inProgress.add(specName)
    const node = this.patch(this.toNode(this.definitions[specName], specName), canonicalName(specName, this.version))
    this.inProgress.delete(specName)
    this.memo.set(specName, node)
    return node
  }

  toNode (schema: unknown, where: string): Draft {
    if (!isRecord(schema)) throw new Error(`${this.file}: ${where}: schema is not an object`)
    const ref = schema['$ref']
    if (typeof ref === 'string') return { ref: canonicalName(this.refTarget(ref, where), this.version) }
    const type = schema['type']
    // A list of types (`[array, string]`: Go's StrSlice, which takes both) is no single kind.
    if (Array.isArray(type)) return 'any'
    const parts = schema['allOf']
    if (parts !== undefined) {
      if (!Array.isArray(parts)) throw new Error(`${this.file}: ${where}: allOf is not a list`)
      // One ref, and otherwise only descriptions or examples (`allOf: [$ref, {example}]`): that ref.
      const refs = parts.filter(p => isRecord(p) && typeof p['$ref'] === 'string')
      const rest = parts.filter(p => !refs.includes(p))
      if (refs.length === 1 && schema['properties'] === undefined && rest.every((p, i) => this.toNode(p, `${where}&${i}`) === 'any')) {
        return this.toNode(refs[0], where)
      }
      if (type !== undefined && type !== 'object') throw new Error(`${this.file}: ${where}: allOf with type ${String(type)}`)
      return this.flatten(schema, where)
    }
    const properties = schema['properties']
    const additional = schema['additionalProperties']
    if (type === 'object' || (type === undefined && (properties !== undefined || additional !== undefined))) {
      if (isRecord(properties)) {
        if (additional !== undefined && additional !== false) throw new Error(`${this.file}: ${where}: both properties and additionalProperties`)
        return this.flatten(schema, where)
      }
      if (isRecord(additional)) return { map: this.toNode(additional, `${where}{}`) }
      if (additional === true) return { map: 'any' }
      // A free-form object: `type: object` alone, or the `{}` value of a set such as ExposedPorts.
      return 'any'
    }
    if (type === 'array') return { array: schema['items'] === undefined ? 'any' : this.toNode(schema['items'], `${where}[]`) }
    if (typeof type === 'string' && SCALARS.has(type)) return type as Draft
    if (type === undefined) {
      // Untyped: an enum of strings is a string; anything else (a description only, x-go-type) is free.
      const values = schema['enum']
      if (Array.isArray(values) && values.length > 0 && values.every(v => typeof v === 'string')) return 'string'
      return 'any'
    }
    throw new Error(`${this.file}: ${where}: unknown schema type ${JSON.stringify(type)}`)
  }

  /** A struct from `properties` and every `allOf` part (a ref to an object contributes its fields). */
  private flatten (schema: Record<string, unknown>, where: string): Draft {
    let fields = emptyFields<Draft>()
    const parts = schema['allOf'] ?? []
    if (!Array.isArray(parts)) throw new Error(`${this.file}: ${where}: allOf is not a list`)
    parts.forEach((part: unknown, i) => {
      const ref = isRecord(part) ? part['$ref'] : undefined
      const node = typeof ref === 'string' ? this.definition(this.refTarget(ref, where)) : this.toNode(part, `${where}&${i}`)
      if (node === 'any') return // a part holding only an example or a description
      if (typeof node !== 'object' || !('struct' in node)) throw new Error(`${this.file}: ${where}: allOf part ${i} is not an object`)
      fields = this.merger.mergeFields(fields, node.struct, `v${this.version} ${where}`)
    })
    const properties = schema['properties']
    if (isRecord(properties)) {
      const own = emptyFields<Draft>()
      for (const [name, prop] of Object.entries(properties)) own[name] = this.toNode(prop, `${where}.${name}`)
      fields = this.merger.mergeFields(fields, own, `v${this.version} ${where}`)
    }
    return { struct: fields }
  }

  private refTarget (ref: string, where: string): string {
    const m = /^#\/definitions\/([^/]+)$/.exec(ref)
    if (m === null) throw new Error(`${this.file}: ${where}: unsupported $ref ${ref}`)
    const name = m[1] ?? ''
    if (this.definitions[name] === undefined) throw new Error(`${this.file}: ${where}: $ref to missing definition ${name}`)
    return name
  }

  /** An operation's JSON body; an inline one takes overlay entries as `<Operation>Body`. */
  body (schema: unknown, operation: string): Draft {
    return this.patch(this.toNode(schema, `${operation} body`), `${operation}Body`)
  }

  /** Applies the FIELD_OVERLAY and TYPE_CORRECTIONS entries of definition (or body) `name`. */
  private patch (node: Draft, name: string): Draft {
    for (const [key, field] of Object.entries(FIELD_OVERLAY)) {
      const [def, ...path] = key.split('.')
      if (def !== name) continue
      node = setField(node, path, key, (old) => {
        if (old === undefined) {
          this.log.overlayAdded.add(key)
          return field
        }
        this.log.overlayListed.set(key, [...(this.log.overlayListed.get(key) ?? []), this.version])
        return old
      })
    }
    for (const [key, field] of Object.entries(TYPE_CORRECTIONS)) {
      const [def, ...path] = key.split('.')
      if (def !== name) continue
      node = setField(node, path, key, (old) => {
        if (old === undefined) return undefined
        this.log.corrected.add(key)
        return field
      })
    }
    return node
  }
}

/**
 * `node` with the field at `path` (through inline objects) replaced by `update(old)`; unchanged
 * when an inline object on the way is missing in this version or `update` answers undefined.
 */
function setField (node: Draft, path: readonly string[], key: string, update: (old: Draft | undefined) => Draft | undefined): Draft {
  const [head, ...rest] = path
  if (head === undefined) throw new Error(`${key}: no field named`)
  if (typeof node !== 'object' || !('struct' in node)) throw new Error(`${key}: ${describe(node)} is not an inline object`)
  const old = node.struct[head]
  let next: Draft | undefined
  if (rest.length === 0) next = update(old)
  else if (old !== undefined) next = setField(old, rest, key, update)
  if (next === undefined || next === old) return node
  return { struct: Object.assign(emptyFields<Draft>(), node.struct, { [head]: next }) }
}

/** Turns merged drafts into nodes: settles every union, reading refs from the merged definitions. */
class Resolver {
  private readonly defs: ReadonlyMap<string, Draft>
  private readonly merger: Merger

  constructor (defs: ReadonlyMap<string, Draft>, merger: Merger) {
    this.defs = defs
    this.merger = merger
  }

  resolve (d: Draft, where: string, depth = 0): Node {
    if (typeof d === 'string') return d
    if ('ref' in d) {
      if (!this.defs.has(d.ref)) throw new Error(`${where}: reference to unknown definition ${d.ref}`)
      return d
    }
    if ('map' in d) return { map: this.resolve(d.map, `${where}{}`, depth) }
    if ('array' in d) return { array: this.resolve(d.array, `${where}[]`, depth) }
    if ('struct' in d) {
      const fields = emptyFields<Node>()
      for (const [k, v] of Object.entries(d.struct)) fields[k] = this.resolve(v, `${where}.${k}`, depth)
      return { struct: fields }
    }
    return this.resolveUnion(d.union, where, depth)
  }

  /**
   * A ref that accepts every member (an older inline copy of a definition that later got a name)
   * stays that ref; otherwise the members are merged as they are.
   */
  private resolveUnion (members: readonly Draft[], where: string, depth: number): Node {
    const refs = [...new Set(members.flatMap(m => typeof m === 'object' && 'ref' in m ? [m.ref] : []))].sort()
    for (const name of refs) {
      if (members.every(m => this.subsumes({ ref: name }, m, 0))) return { ref: name }
    }
    if (depth > 8) {
      this.merger.notes.push(`${where}: ${members.map(describe).join(' | ')} does not settle: any`)
      return 'any'
    }
    const expanded = members.map(m => typeof m === 'object' && 'ref' in m ? this.definition(m.ref) : m)
    const merged = expanded.slice(1).reduce((acc, m) => this.merger.merge(acc, m, where), expanded[0] ?? 'any')
    this.merger.notes.push(`${where}: ${members.map(describe).join(' | ')} merged inline`)
    return this.resolve(merged, where, depth + 1)
  }

  definition (name: string): Draft {
    const d = this.defs.get(name)
    if (d === undefined) throw new Error(`reference to unknown definition ${name}`)
    return d
  }

  /** Whether everything `node` accepts, `target` accepts too (false when unsure). */
  private subsumes (target: Draft, node: Draft, depth: number): boolean {
    if (depth > 32) return false
    if (target === 'any') return true
    if (typeof node === 'object' && 'union' in node) return node.union.every(m => this.subsumes(target, m, depth + 1))
    if (typeof target === 'object' && 'union' in target) return target.union.some(t => this.subsumes(t, node, depth + 1))
    if (typeof target === 'object' && 'ref' in target) {
      if (typeof node === 'object' && 'ref' in node && node.ref === target.ref) return true
      return this.subsumes(this.definition(target.ref), node, depth + 1)
    }
    if (typeof node === 'object' && 'ref' in node) return this.subsumes(target, this.definition(node.ref), depth + 1)
    if (typeof target === 'string' || typeof node === 'string') return target === node
    if ('struct' in target && 'struct' in node) {
      return Object.entries(node.struct).every(([k, v]) => {
        const t = target.struct[k]
        return t !== undefined && this.subsumes(t, v, depth + 1)
      })
    }
    if ('map' in target && 'map' in node) return this.subsumes(target.map, node.map, depth + 1)
    if ('array' in target && 'array' in node) return this.subsumes(target.array, node.array, depth + 1)
    return false
  }
}

/** The names a node refers to. */
function refsOf (node: Node, out: Set<string>): Set<string> {
  if (typeof node === 'string') return out
  if ('ref' in node) out.add(node.ref)
  else if ('map' in node) refsOf(node.map, out)
  else if ('array' in node) refsOf(node.array, out)
  else for (const v of Object.values(node.struct)) refsOf(v, out)
  return out
}

/** Every struct must be one Go could decode unambiguously: ASCII names, distinct under folding. */
function checkNames (node: Node, where: string): void {
  if (typeof node === 'string' || 'ref' in node) return
  if ('map' in node) return checkNames(node.map, `${where}{}`)
  if ('array' in node) return checkNames(node.array, `${where}[]`)
  const byFold = new Map<string, string>()
  for (const [name, field] of Object.entries(node.struct)) {
    if (!/^[\x21-\x7e]+$/.test(name) || name === '__proto__') throw new Error(`${where}: field name ${JSON.stringify(name)} is not plain ASCII`)
    const other = byFold.get(goFoldKey(name))
    if (other !== undefined) throw new Error(`${where}: fields ${other} and ${name} are the same field to Go`)
    byFold.set(goFoldKey(name), name)
    checkNames(field, `${where}.${name}`)
  }
}

export function buildSchema (dir: string): GeneratedSchema {
  const files = readdirSync(dir)
    .map(name => ({ name, version: versionOf(name) }))
    .filter((f): f is { name: string, version: string } => f.version !== undefined)
    .sort((a, b) => compareVersions(a.version, b.version))
  if (files.length === 0) throw new Error(`no v1.NN.yaml specs found in ${dir}`)
  const operationOf = new Map<string, string>()
  for (const row of routeTable) for (const alias of row.aliases ?? []) operationOf.set(alias, row.operation)

  const merger = new Merger()
  const log: PatchLog = { overlayAdded: new Set(), overlayListed: new Map(), corrected: new Set() }
  const defs = new Map<string, Draft>()
  const bodies = new Map<string, Draft | 'stream'>()
  const queries = new Map<string, Set<string>>()
  for (const { name, version } of files) {
    const file = join(dir, name)
    const root = loadSpecDocument(file)
    const reader = new VersionReader(version, file, root, merger, log)
    for (const [defName, node] of reader.allDefinitions()) {
      const old = defs.get(defName)
      defs.set(defName, old === undefined ? node : merger.merge(old, node, `v${version} ${defName}`))
    }
    const paths = root['paths']
    if (!isRecord(paths)) throw new Error(`${file}: no "paths" object`)
    for (const [path, item] of Object.entries(paths)) {
      if (!isRecord(item)) throw new Error(`${file}: path item ${path} is not an object`)
      for (const [method, op] of Object.entries(item)) {
        if (!isRecord(op) || typeof op['operationId'] !== 'string') continue
        const operation = operationOf.get(op['operationId']) ?? op['operationId']
        const query = queries.get(operation) ?? new Set<string>()
        queries.set(operation, query)
        const params = op['parameters'] ?? []
        if (!Array.isArray(params)) throw new Error(`${file}: ${method} ${path}: parameters is not a list`)
        for (const p of params) {
          if (!isRecord(p)) throw new Error(`${file}: ${method} ${path}: a parameter is not an object`)
          if (p['$ref'] !== undefined) throw new Error(`${file}: ${method} ${path}: parameter $refs are not supported`)
          if (p['in'] === 'query' && typeof p['name'] === 'string') query.add(p['name'])
          if (p['in'] !== 'body') continue
          const schema = p['schema']
          const where = `${operation} body`
          // A string body is raw bytes: a tar archive, an image, a plugin context.
          const body: Draft | 'stream' = isRecord(schema) && schema['type'] === 'string' ? 'stream' : reader.body(schema, operation)
          const old = bodies.get(operation)
          if (old === undefined) bodies.set(operation, body)
          else if (old === 'stream' || body === 'stream') {
            if (old !== body) throw new Error(`${file}: ${where} is a stream in one version and JSON in another`)
          } else bodies.set(operation, merger.merge(old, body, `v${version} ${where}`))
        }
      }
    }
  }

  const stale: string[] = []
  for (const key of Object.keys(FIELD_OVERLAY)) {
    const listed = log.overlayListed.get(key)
    if (listed !== undefined) stale.push(`FIELD_OVERLAY ${key}: the spec of v${listed[0]} lists it`)
    else if (!log.overlayAdded.has(key)) stale.push(`FIELD_OVERLAY ${key}: no spec has the object it belongs to`)
  }
  for (const key of Object.keys(TYPE_CORRECTIONS)) {
    if (!log.corrected.has(key)) stale.push(`TYPE_CORRECTIONS ${key}: no spec has this field`)
  }
  for (const [operation, names] of Object.entries(QUERY_OVERLAY)) {
    const query = queries.get(operation)
    if (query === undefined) { stale.push(`QUERY_OVERLAY ${operation}: no spec has this operation`); continue }
    for (const name of names) {
      if (query.has(name)) stale.push(`QUERY_OVERLAY ${operation}.${name}: a spec lists it`)
      query.add(name)
    }
  }
  if (stale.length > 0) throw new Error(`hand-kept entries no longer match the specs:\n  ${stale.join('\n  ')}`)

  const resolver = new Resolver(defs, merger)
  const nodes = new Map<string, Node>()
  const operations = new Map<string, { body: BodyInput, query: string[] }>()
  for (const operation of [...queries.keys()].sort()) {
    const draft = bodies.get(operation)
    let body: BodyInput = 'none'
    if (draft === 'stream') body = 'stream'
    else if (draft !== undefined) {
      const node = resolver.resolve(draft, `${operation} body`)
      if (typeof node === 'object' && 'ref' in node) body = node
      else {
        const name = `${operation}Body`
        if (defs.has(name)) throw new Error(`${operation}: body node name ${name} is also a definition`)
        nodes.set(name, node)
        body = { ref: name }
      }
    }
    operations.set(operation, { body, query: [...(queries.get(operation) ?? [])].sort() })
  }
  // Only definitions a body reaches.
  const pending = [...nodes.values()].flatMap(n => [...refsOf(n, new Set())])
  for (const op of operations.values()) if (typeof op.body === 'object') pending.push(op.body.ref)
  for (let name = pending.pop(); name !== undefined; name = pending.pop()) {
    if (nodes.has(name)) continue
    const node = resolver.resolve(resolver.definition(name), name)
    nodes.set(name, node)
    pending.push(...refsOf(node, new Set()))
  }
  for (const [name, node] of nodes) checkNames(node, name)

  const sorted = new Map([...nodes].sort(([a], [b]) => cmp(a, b)))
  // Notes about definitions no request body reaches (responses) are noise here.
  const notes = [...new Set(merger.notes)].filter((note) => {
    const root = /^(?:v\d+\.\d+ )?([A-Za-z0-9]+)/.exec(note)?.[1] ?? ''
    return nodes.has(root) || operations.has(root)
  })
  return { nodes: sorted, operations, versions: files.map(f => f.version), notes }
}

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/

function quote (s: string): string {
  return `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`
}

function renderNode (node: Node, indent: string): string {
  if (typeof node === 'string') return quote(node)
  if ('ref' in node) return `{ ref: ${quote(node.ref)} }`
  if ('map' in node) return `{ map: ${renderNode(node.map, indent)} }`
  if ('array' in node) return `{ array: ${renderNode(node.array, indent)} }`
  const names = Object.keys(node.struct).sort(cmp)
  if (names.length === 0) return '{ struct: {} }'
  const inner = `${indent}  `
  const lines = names.map(name => `${inner}${IDENTIFIER.test(name) ? name : quote(name)}: ${renderNode(node.struct[name] ?? 'any', inner)},`)
  return `{ struct: {\n${lines.join('\n')}\n${indent}} }`
}

function renderBody (body: BodyInput): string {
  return typeof body === 'string' ? quote(body) : `{ ref: ${quote(body.ref)} }`
}

export function render (schema: GeneratedSchema): string {
  const { versions } = schema
  const out: string[] = []
  out.push('// Code generated by `npm run gen:body-schema` (scripts/gen-body-schema.ts) from the')
  out.push(`// Docker Engine API specs v${versions[0] ?? '?'}–v${versions[versions.length - 1] ?? '?'}. DO NOT EDIT BY HAND.`)
  out.push('')
  out.push('/**')
  out.push(' * What the engine decodes a JSON body into, as the union over every API version:')
  out.push(' * - `struct`: fields by their canonical JSON name; the engine matches keys to them case-insensitively;')
  out.push(' * - `map`: keys are data, matched exactly; every value is of one node;')
  out.push(' * - `array`: every item is of one node;')
  out.push(" * - `ref`: the node of that name in `schemaNodes`;")
  out.push(' * - `any`: free-form, or typed differently by different versions: taken as it comes.')
  out.push(' */')
  out.push('export type SchemaNode =')
  out.push("  | 'string' | 'boolean' | 'integer' | 'number' | 'any'")
  out.push('  | { readonly ref: string }')
  out.push('  | { readonly struct: Readonly<Record<string, SchemaNode>> }')
  out.push('  | { readonly map: SchemaNode }')
  out.push('  | { readonly array: SchemaNode }')
  out.push('')
  out.push('export interface OperationInputs {')
  out.push("  /** 'none': no body; 'stream': raw bytes (a tar archive, an image); else the body's JSON schema node */")
  out.push("  readonly body: 'none' | 'stream' | { readonly ref: string }")
  out.push('  /** Query parameter names the operation takes, sorted */')
  out.push('  readonly query: readonly string[]')
  out.push('}')
  out.push('')
  out.push('export const schemaNodes: Readonly<Record<string, SchemaNode>> = {')
  for (const [name, node] of schema.nodes) out.push(`  ${name}: ${renderNode(node, '  ')},`)
  out.push('}')
  out.push('')
  out.push('export const operationInputs: Readonly<Record<string, OperationInputs>> = {')
  for (const [name, op] of schema.operations) {
    out.push(`  ${name}: { body: ${renderBody(op.body)}, query: [${op.query.map(quote).join(', ')}] },`)
  }
  out.push('}')
  out.push('')
  return out.join('\n')
}

function main (): void {
  const dir = resolve(process.argv[2] ?? DEFAULT_SPEC_DIR)
  const schema = buildSchema(dir)
  mkdirSync(dirname(OUTPUT_FILE), { recursive: true })
  writeFileSync(OUTPUT_FILE, render(schema))
  console.log(`read ${schema.versions.length} specs (${schema.versions[0]}..${schema.versions[schema.versions.length - 1]}) from ${dir}`)
  for (const note of schema.notes) console.log(`  note: ${note}`)
  console.log(`wrote ${schema.nodes.size} schema nodes and ${schema.operations.size} operations to ${OUTPUT_FILE}`)
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  try {
    main()
  } catch (err) {
    console.error(`gen-body-schema: ${err instanceof Error ? err.message : String(err)}`)
    process.exitCode = 1
  }
}

function cmp (a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}
