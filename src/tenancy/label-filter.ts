import { BadRequestBodyError } from '../core/errors.ts'
import { parseGoJson, serializeJson } from '../inspect/go-json.ts'
import { isJsonObject, type JsonValue } from '../inspect/json-value.ts'

/**
 * A `filters` query value as the engine reads it (moby api/types/filters FromJSON): a JSON object
 * of filter name to a list of values, or to an object whose keys are the values (the older form).
 * Returned in the list form. Anything else is refused: a filter dockward cannot read is one it
 * cannot add to.
 *
 * @example parseFilters('{"label":{"a=b":true}}') // { label: ['a=b'] }
 */
export function parseFilters (value: string | undefined): Record<string, string[]> {
  const out: Record<string, string[]> = Object.create(null) as Record<string, string[]>
  if (value === undefined || value === '') return out
  let parsed: JsonValue
  try {
    parsed = parseGoJson(Buffer.from(value, 'utf8'))
  } catch (err) {
    throw new BadRequestBodyError(`query filters: ${(err as Error).message}`)
  }
  if (parsed === null) return out
  if (!isJsonObject(parsed)) throw new BadRequestBodyError('query filters: expected a JSON object')
  for (const name of Object.keys(parsed)) {
    const v = parsed[name]!
    if (Array.isArray(v) && v.every((x) => typeof x === 'string')) out[name] = [...v as string[]]
    else if (isJsonObject(v) && Object.values(v).every((x) => typeof x === 'boolean')) out[name] = Object.keys(v)
    else throw new BadRequestBodyError(`query filters: ${JSON.stringify(name)} must be a list of strings`)
  }
  return out
}

/**
 * `filters` with `label=KEY=TENANT` added. The engine requires every `label` filter to match
 * (filters.Args.MatchKVList), so a client's own label filters can only narrow the answer.
 *
 * @example withOwnerFilter('{"status":["running"]}', 'io.dockward.tenant', 'team-a')
 * // '{"status":["running"],"label":["io.dockward.tenant=team-a"]}'
 */
export function withOwnerFilter (value: string | undefined, key: string, tenant: string): string {
  const filters = parseFilters(value)
  filters['label'] = [...(filters['label'] ?? []), `${key}=${tenant}`]
  return serializeJson(filters)
}

/** The owner filter alone, for dockward's own list requests. */
export function ownerFilterQuery (key: string, tenant: string): string {
  return `filters=${encodeURIComponent(withOwnerFilter(undefined, key, tenant))}`
}
