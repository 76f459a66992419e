import { BadRequestBodyError, TenancyDeniedError } from '../core/errors.ts'
import { parseGoJson, serializeJson } from '../inspect/go-json.ts'
import { isJsonObject, type JsonObject, type JsonValue } from '../inspect/json-value.ts'

/**
 * The owner label is dockward's alone. A client that sets it, in any letter case (the engine
 * keeps label keys as written, so `IO.Dockward.Tenant` would be a second label that people and
 * tools read as the same), is refused rather than silently corrected: it is either a mistake or
 * an attempt to pass an object off as another tenant's.
 *
 * @example refuseOwnerLabel({ 'io.dockward.tenant': 'b' }, 'io.dockward.tenant', 'Labels') // throws TenancyDeniedError
 */
export function refuseOwnerLabel (labels: JsonValue | undefined, key: string, where: string): void {
  if (!isJsonObject(labels)) return
  for (const k of Object.keys(labels)) {
    if (looksLike(k, key)) throw new TenancyDeniedError(`${where}: the label ${key} is set by dockward, not by clients`)
  }
}

/** The owner key in any case, or with invisible characters (controls, format characters, spaces) added. */
function looksLike (k: string, key: string): boolean {
  // eslint-disable-next-line no-control-regex
  return k.replace(/[\u0000-\u0020\u007f-\u00a0\p{Cf}\p{Z}]/gu, '').toLowerCase() === key
}

/**
 * `labels` (a JSON object or null/absent) with the owner label set to `tenant`.
 *
 * @example withOwner({ app: 'web' }, 'io.dockward.tenant', 'team-a') // { app: 'web', 'io.dockward.tenant': 'team-a' }
 */
export function withOwner (labels: JsonValue | undefined, key: string, tenant: string): JsonObject {
  const out: Record<string, JsonValue> = Object.create(null) as Record<string, JsonValue>
  if (isJsonObject(labels)) for (const k of Object.keys(labels)) out[k] = labels[k]!
  out[key] = tenant
  return out
}

/**
 * A copy of the JSON object `body` with `field` replaced by `value` (body keys are the engine's
 * canonical field names already).
 */
export function withField (body: JsonValue | undefined, field: string, value: JsonValue): JsonObject {
  const out: Record<string, JsonValue> = Object.create(null) as Record<string, JsonValue>
  if (isJsonObject(body)) for (const k of Object.keys(body)) out[k] = body[k]!
  out[field] = value
  return out
}

/**
 * The build query's `labels` value (a JSON object of strings) with the owner label added; a
 * client's owner label is refused. The engine applies these after the Dockerfile's own `LABEL`s,
 * so a `LABEL` in the Dockerfile cannot override the owner.
 *
 * @example buildLabels(['{"app":"web"}'], key, 'team-a') // '{"app":"web","io.dockward.tenant":"team-a"}'
 */
export function buildLabels (values: readonly string[] | undefined, key: string, tenant: string): string {
  const raw = values?.[0] ?? ''
  let parsed: JsonValue = null
  if (raw !== '') {
    try {
      parsed = parseGoJson(Buffer.from(raw, 'utf8'))
    } catch (err) {
      throw new BadRequestBodyError(`query labels: ${(err as Error).message}`)
    }
    if (parsed !== null && !isJsonObject(parsed)) throw new BadRequestBodyError('query labels: expected a JSON object of strings')
  }
  refuseOwnerLabel(parsed ?? undefined, key, 'query labels')
  return serializeJson(withOwner(parsed ?? undefined, key, tenant))
}

/**
 * Dockerfile instructions a client sends with commit and import (`changes`). One that mentions
 * the owner label, with quotes and escapes taken out, is refused; dockward's own `LABEL` is
 * appended after the client's anyway, and the last `LABEL` for a key wins.
 *
 * @example withOwnerChange(['ENV A=1'], key, 'team-a') // ['ENV A=1', 'LABEL io.dockward.tenant="team-a"']
 */
export function withOwnerChange (changes: readonly string[] | undefined, key: string, tenant: string): string[] {
  const out = [...(changes ?? [])]
  for (const change of out) {
    // The engine joins the changes with newlines and parses them as a Dockerfile: a line break
    // or a trailing backslash would join or split instructions (swallowing the LABEL appended
    // below), and `$` would build the key from variables no check here sees.
    if (/[\\\r\n$]/.test(change)) throw new TenancyDeniedError('changes: backslashes, line breaks and $ are not available to tenants')
    if (change.replace(/["']/g, '').toLowerCase().includes(key)) {
      throw new TenancyDeniedError(`changes: the label ${key} is set by dockward, not by clients`)
    }
  }
  // Quoted as a Dockerfile word: backslash, double quote and `$` (variable expansion) escaped.
  out.push(`LABEL ${key}="${tenant.replace(/["\\$]/g, '\\$&')}"`)
  return out
}
