import { BadRequestBodyError } from '../core/errors.ts'
import { operationInputs, schemaNodes, type OperationInputs, type SchemaNode } from './body-schema.ts'
import { goFoldKey } from './go-fold.ts'
import { JsonNumber, isJsonObject, type JsonObject, type JsonValue } from './json-value.ts'

/**
 * A JSON body rewritten as the engine will read it, so that what dockward decides on and what it
 * forwards are the same thing. The engine's Go decoder matches object keys to struct fields
 * case-insensitively (plus 'ſ' for s and the Kelvin sign for k), lets a later key overwrite an
 * earlier one and ignores keys it does not know. The canonical body uses each field's own name,
 * holds no key the engine would ignore, and a body in which two keys reach one field is refused.
 */

export interface CanonicalBody {
  /** The body with canonical field names and without ignored keys; forward its serialization. */
  readonly value: JsonValue
  /** Keys that reach no field (the engine would ignore them), as paths: `HostConfig.Foo`, `Mounts[2].Bar`. */
  readonly ignored: string[]
}

/**
 * Canonicalizes a parsed JSON body of `operation` against the engine's schema for it. Throws
 * `BadRequestBodyError` for two keys that reach one field, a value of the wrong type (`null` is
 * always accepted: Go leaves the field unset), and, for ContainerCreate, HostConfig fields at the
 * top level. Throws a plain Error when `operation` takes no JSON body (a caller's mistake: check
 * `bodyKindOf` first).
 *
 * @example
 * canonicalizeBody('ContainerCreate', { image: 'busybox', HostConfig: { privileged: true } })
 * // → { value: { Image: 'busybox', HostConfig: { Privileged: true } }, ignored: [] }
 */
export function canonicalizeBody (operation: string, value: JsonValue): CanonicalBody {
  const body = inputsOf(operation)?.body
  if (body === undefined || typeof body === 'string') throw new Error(`canonicalizeBody: ${operation} takes no JSON body`)
  // A null body would leave everything unset in Go; the engine needs a config, so it is refused here.
  if (value === null) throw new BadRequestBodyError(`request body must be ${kindOf(body)}, not null`)
  if (operation === 'ContainerCreate' && isJsonObject(value)) refuseTopLevelHostConfig(value, body.ref)
  const walker = new Walker()
  return { value: walker.walk(body, value), ignored: walker.ignored }
}

/**
 * What kind of body an operation takes, from the Engine API specs; 'none' for an unknown operation.
 *
 * @example
 * bodyKindOf('ImageBuild') // 'stream'
 */
export function bodyKindOf (operation: string): 'none' | 'stream' | 'json' {
  const body = inputsOf(operation)?.body
  if (body === undefined) return 'none'
  return typeof body === 'string' ? body : 'json'
}

/**
 * The query parameter names an operation takes (sorted), from the Engine API specs; [] for an
 * unknown operation.
 *
 * @example
 * queryNamesOf('ContainerCreate') // ['name', 'platform']
 */
export function queryNamesOf (operation: string): readonly string[] {
  return inputsOf(operation)?.query ?? []
}

function inputsOf (operation: string): OperationInputs | undefined {
  return Object.hasOwn(operationInputs, operation) ? operationInputs[operation] : undefined
}

/**
 * The node a schema node stands for, following `ref`s to `schemaNodes`. Throws a plain Error for a
 * ref to no node and for refs that never end (a broken generated schema).
 *
 * @example
 * deref({ ref: 'HostConfig' }) // { struct: { Binds: { array: 'string' }, … } }
 */
export function deref (node: SchemaNode): Exclude<SchemaNode, { readonly ref: string }> {
  for (let hops = 0; hops < 64; hops++) {
    if (typeof node === 'string' || !('ref' in node)) return node
    const next = Object.hasOwn(schemaNodes, node.ref) ? schemaNodes[node.ref] : undefined
    if (next === undefined) throw new Error(`body schema: no node named ${node.ref}`)
    node = next
  }
  throw new Error('body schema: refs do not end')
}

interface StructIndex {
  /** goFoldKey(field name) → field name */
  readonly byFold: ReadonlyMap<string, string>
}

const structIndexes = new WeakMap<object, StructIndex>()

function indexOf (fields: Readonly<Record<string, SchemaNode>>): StructIndex {
  let index = structIndexes.get(fields)
  if (index === undefined) {
    index = { byFold: new Map(Object.keys(fields).map(name => [goFoldKey(name), name])) }
    structIndexes.set(fields, index)
  }
  return index
}

/** The field of `fields` a JSON key reaches in Go: the exact name first, then the folded one. */
function fieldFor (fields: Readonly<Record<string, SchemaNode>>, key: string): string | undefined {
  if (Object.hasOwn(fields, key)) return key
  return indexOf(fields).byFold.get(goFoldKey(key))
}

/**
 * The engine's create request embeds a whole HostConfig at the top level, for clients older than
 * API 1.x: with no inner HostConfig, `{"Image":"x","Privileged":true}` makes a privileged
 * container, and with one, a few top-level resource fields are still copied into it. dockward
 * reads HostConfig only from `HostConfig`, so such keys (and the legacy `Cpuset`) are refused.
 */
function refuseTopLevelHostConfig (body: JsonObject, bodyNode: string): void {
  const top = deref({ ref: bodyNode })
  const hostConfig = deref({ ref: 'HostConfig' })
  if (typeof top === 'string' || !('struct' in top) || typeof hostConfig === 'string' || !('struct' in hostConfig)) {
    throw new Error('body schema: ContainerCreate or HostConfig is not a struct')
  }
  for (const key of Object.keys(body)) {
    if (fieldFor(top.struct, key) !== undefined) continue
    if (fieldFor(hostConfig.struct, key) !== undefined || goFoldKey(key) === 'CPUSET') {
      throw new BadRequestBodyError(`request body: ${quoteKey(key)} at the top level is a HostConfig field; put it inside HostConfig`)
    }
  }
}

function quoteKey (key: string): string {
  return JSON.stringify(key.length > 100 ? `${key.slice(0, 100)}…` : key)
}

function pathText (path: readonly (string | number)[]): string {
  let s = ''
  for (const part of path) s += typeof part === 'number' ? `[${part}]` : s === '' ? part : `.${part}`
  return s
}

/** A path for messages, shortened. */
function shortPath (path: readonly (string | number)[]): string {
  const s = pathText(path)
  return s.length > 200 ? `${s.slice(0, 200)}…` : s
}

function kindOf (node: SchemaNode): string {
  const n = deref(node)
  if (typeof n === 'string') return n === 'integer' ? 'an integer' : n === 'any' ? 'a JSON value' : `a ${n}`
  if ('array' in n) return 'an array'
  return 'an object'
}

function describeValue (v: JsonValue): string {
  if (v === null) return 'null'
  if (typeof v === 'boolean') return 'a boolean'
  if (typeof v === 'string') return 'a string'
  if (v instanceof JsonNumber) return /^-?[0-9]+$/.test(v.text) ? 'an integer' : 'a number'
  if (Array.isArray(v)) return 'an array'
  return 'an object'
}

class Walker {
  readonly ignored: string[] = []
  /** Field names and indices from the root to the value being walked. */
  private readonly path: (string | number)[] = []

  walk (schema: SchemaNode, value: JsonValue): JsonValue {
    if (value === null) return null
    const node = deref(schema)
    switch (node) {
      case 'any': return value
      case 'string': if (typeof value === 'string') return value; break
      case 'boolean': if (typeof value === 'boolean') return value; break
      // Go refuses a fraction or an exponent for an integer field ("1.0", "1e3").
      case 'integer': if (value instanceof JsonNumber && /^-?[0-9]+$/.test(value.text)) return value; break
      case 'number': if (value instanceof JsonNumber) return value; break
      default:
        if ('array' in node) {
          if (Array.isArray(value)) return this.array(node.array, value)
        } else if (isJsonObject(value)) {
          return 'map' in node ? this.map(node.map, value) : this.struct(node.struct, value)
        }
    }
    const where = this.path.length === 0 ? 'request body' : `request body: ${shortPath(this.path)}`
    throw new BadRequestBodyError(`${where} must be ${kindOf(node)}, not ${describeValue(value)}`)
  }

  private array (items: SchemaNode, value: readonly JsonValue[]): JsonValue {
    const out: JsonValue[] = new Array<JsonValue>(value.length)
    for (let i = 0; i < value.length; i++) {
      this.path.push(i)
      out[i] = this.walk(items, value[i] ?? null)
      this.path.pop()
    }
    return out
  }

  /** Map keys are data (labels, sysctls, networks): kept exactly as sent. */
  private map (values: SchemaNode, value: JsonObject): JsonValue {
    const out = Object.create(null) as Record<string, JsonValue>
    for (const key of Object.keys(value)) {
      this.path.push(key)
      out[key] = this.walk(values, value[key] ?? null)
      this.path.pop()
    }
    return out
  }

  private struct (fields: Readonly<Record<string, SchemaNode>>, value: JsonObject): JsonValue {
    const out = Object.create(null) as Record<string, JsonValue>
    /** canonical field name → the key that set it */
    const setBy = new Map<string, string>()
    for (const key of Object.keys(value)) {
      const name = fieldFor(fields, key)
      if (name === undefined) {
        this.path.push(key)
        this.ignored.push(pathText(this.path))
        this.path.pop()
        continue
      }
      this.path.push(name)
      const earlier = setBy.get(name)
      if (earlier !== undefined) {
        throw new BadRequestBodyError(`request body: ${quoteKey(earlier)} and ${quoteKey(key)} both set ${shortPath(this.path)}`)
      }
      setBy.set(name, key)
      out[name] = this.walk(fields[name] ?? 'any', value[key] ?? null)
      this.path.pop()
    }
    return out
  }
}
