/**
 * A JSON number kept as its source text. The engine decodes into int64 and uint64 fields, which a
 * JavaScript number cannot hold exactly; dockward forwards the digits it read, never a rounding.
 */
export class JsonNumber {
  readonly text: string
  constructor (text: string) { this.text = text }
  /** The value as a double, for comparisons in facts and rules (exact up to 2^53). */
  toNumber (): number { return Number(this.text) }
  toJSON (): number { return Number(this.text) }
}

/**
 * A parsed JSON document. Objects have a null prototype, so `__proto__` and `constructor` are
 * ordinary keys. A document from the parser never holds two equal keys in one object.
 */
export type JsonValue = null | boolean | string | JsonNumber | JsonArray | JsonObject
export type JsonArray = readonly JsonValue[]
export interface JsonObject { readonly [key: string]: JsonValue }

export function isJsonObject (v: JsonValue | undefined): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof JsonNumber)
}
