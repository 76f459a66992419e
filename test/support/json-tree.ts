import { JsonNumber, type JsonValue } from '../../src/inspect/json-value.ts'

/** A canonical tree from plain data: numbers become JsonNumber, objects get a null prototype. */
export function jsonTree (v: unknown): JsonValue {
  if (typeof v === 'number') return new JsonNumber(String(v))
  if (Array.isArray(v)) return v.map(jsonTree)
  if (v !== null && typeof v === 'object') {
    const out = Object.create(null) as Record<string, JsonValue>
    for (const [k, x] of Object.entries(v)) out[k] = jsonTree(x)
    return out
  }
  return v as JsonValue
}
