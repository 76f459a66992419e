import { BadRequestBodyError } from '../../core/errors.ts'
import { isJsonObject, JsonNumber, type JsonArray, type JsonObject, type JsonValue } from '../json-value.ts'

/**
 * Typed reads from a canonical body. `null` and an absent key are Go's "unset" and give the zero
 * value; a value of the wrong type is refused, never read as unset, because a fact dockward
 * cannot read is a fact a rule would miss. `path` names the spot for the error message.
 */

/** The value at `key`, or undefined when absent (own keys only: bodies have null prototypes). */
export function field (obj: JsonObject | undefined, key: string): JsonValue | undefined {
  return obj !== undefined && Object.hasOwn(obj, key) ? obj[key] : undefined
}

function wrongType (path: string, expected: string): BadRequestBodyError {
  return new BadRequestBodyError(`request body: ${path} must be ${expected}`)
}

/**
 * An object (struct or map), or undefined when unset.
 *
 * @example asObject(field(body, 'HostConfig'), 'HostConfig')
 */
export function asObject (v: JsonValue | undefined, path: string): JsonObject | undefined {
  if (v === undefined || v === null) return undefined
  if (!isJsonObject(v)) throw wrongType(path, 'an object')
  return v
}

/**
 * A string, '' when unset.
 *
 * @example asString(field(body, 'User'), 'User') // 'root'
 */
export function asString (v: JsonValue | undefined, path: string): string {
  if (v === undefined || v === null) return ''
  if (typeof v !== 'string') throw wrongType(path, 'a string')
  return v
}

/**
 * A boolean, false when unset.
 *
 * @example asBool(field(hostConfig, 'Privileged'), 'HostConfig.Privileged') // true
 */
export function asBool (v: JsonValue | undefined, path: string): boolean {
  if (v === undefined || v === null) return false
  if (typeof v !== 'boolean') throw wrongType(path, 'a boolean')
  return v
}

/**
 * A number as a double, 0 when unset.
 *
 * @example asNumber(field(hostConfig, 'Memory'), 'HostConfig.Memory') // 268435456
 */
export function asNumber (v: JsonValue | undefined, path: string): number {
  if (v === undefined || v === null) return 0
  if (!(v instanceof JsonNumber)) throw wrongType(path, 'a number')
  const n = v.toNumber()
  if (!Number.isFinite(n)) throw wrongType(path, 'a finite number')
  return n
}

/**
 * An array, empty when unset.
 *
 * @example asArray(field(hostConfig, 'Mounts'), 'HostConfig.Mounts')
 */
export function asArray (v: JsonValue | undefined, path: string): JsonArray {
  if (v === undefined || v === null) return []
  if (!Array.isArray(v)) throw wrongType(path, 'an array')
  return v as JsonArray
}

/**
 * An array of strings, empty when unset; a null element is Go's zero value, ''.
 *
 * @example asStringList(field(hostConfig, 'Binds'), 'HostConfig.Binds') // ['/srv:/srv']
 */
export function asStringList (v: JsonValue | undefined, path: string): string[] {
  return asArray(v, path).map((e, i) => asString(e, `${path}[${i}]`))
}

/**
 * The objects of an array, empty when unset; null elements (Go's nil pointers or zero structs,
 * which set nothing) are skipped.
 *
 * @example asObjectList(field(hostConfig, 'Devices'), 'HostConfig.Devices')
 */
export function asObjectList (v: JsonValue | undefined, path: string): JsonObject[] {
  const out: JsonObject[] = []
  asArray(v, path).forEach((e, i) => {
    const o = asObject(e, `${path}[${i}]`)
    if (o !== undefined) out.push(o)
  })
  return out
}

/**
 * The entries of a string-to-string map (Go `map[string]string`), empty when unset; a null value
 * is ''.
 *
 * @example asStringMap(field(hostConfig, 'Sysctls'), 'HostConfig.Sysctls') // [['net.ipv4.ip_forward', '1']]
 */
export function asStringMap (v: JsonValue | undefined, path: string): Array<[string, string]> {
  const obj = asObject(v, path)
  if (obj === undefined) return []
  return Object.keys(obj).map((k) => [k, asString(obj[k], `${path}.${k}`)])
}
