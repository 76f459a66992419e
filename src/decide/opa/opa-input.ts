import type { AuthMethod } from '../../identify/identity.ts'
import { canonicalQueryString } from '../../inspect/go-query.ts'
import { cleanHostPath } from '../../inspect/host-path.ts'
import { serializeJson } from '../../inspect/go-json.ts'
import { isJsonObject, type JsonValue } from '../../inspect/json-value.ts'
import type { RequestFacts } from '../../inspect/request-facts.ts'
import type { PolicyInput } from '../policy-input.ts'

/** One bind mount of a container create, as opa-docker-authz describes it. */
export interface OpaBindMount {
  /** The host path as written in `Binds` or `Mounts[].Source`. */
  readonly Source: string
  readonly ReadOnly: boolean
  /** `Source` cleaned lexically (`/a/../b` → `/b`); symlinks on the host are NOT resolved. */
  readonly Resolved: string
}

/**
 * The `input` document an OPA policy sees: opa-docker-authz's fields (capitalized, as the engine's
 * AuthZ request names them) plus dockward's own (lower case). See README "OPA users".
 */
export interface OpaInput {
  readonly Method: string
  /** PathPlain plus the canonical query dockward forwards (`/v1.41/containers/create?name=web`). */
  readonly Path: string
  /** The path with its version prefix, percent-decoded, without the query. */
  readonly PathPlain: string
  /** PathPlain split at `/`: `['', 'v1.41', 'containers', 'create']`. */
  readonly PathArr: readonly string[]
  /** Every value of each query parameter the engine reads, in order. */
  readonly Query: Readonly<Record<string, readonly string[]>>
  readonly Headers: Readonly<Record<string, string>>
  /** The canonical JSON body (the engine's field names), or null. */
  readonly Body: JsonValue | null
  /** The caller's name; `''` for anonymous, as the engine gives `''` without TLS client auth. */
  readonly User: string
  /** `TLS` for mTLS (the engine's word for it), dockward's method name otherwise, `''` for anonymous. */
  readonly AuthMethod: string
  readonly BindMounts: readonly OpaBindMount[]
  readonly operation: string
  readonly version: string | null
  readonly params: Readonly<Record<string, string>>
  readonly identity: { readonly name: string, readonly tenant: string | null, readonly groups: readonly string[], readonly method: AuthMethod }
  readonly facts: Readonly<RequestFacts>
  readonly listener: string
}

/**
 * The OPA input document of a request, built only from the canonical forms the built-in engine
 * decides on, so a Rego rule on `input.Body.HostConfig.Privileged` sees the field however the
 * client spelled its key.
 *
 * @example opaInput(input).PathArr // ['', 'v1.41', 'containers', 'create']
 */
export function opaInput (input: PolicyInput): OpaInput {
  const pathPlain = input.version === null ? input.path : `/v${input.version}${input.path}`
  // input.query holds only what the engine reads; serialized the way it is forwarded.
  const query = canonicalQueryString(input.query, Object.keys(input.query)).query
  const id = input.identity
  const anonymous = id.method === 'anonymous'
  return {
    Method: input.method,
    Path: query === '' ? pathPlain : `${pathPlain}?${query}`,
    PathPlain: pathPlain,
    PathArr: pathPlain.split('/'),
    Query: input.query,
    Headers: input.headers ?? {},
    // A `docker login` body is the registry password: moby's authz.go withholds it from AuthZ
    // plugins too (sendBody skips /auth), and a policy that echoed it would put it in the logs.
    Body: input.operation === 'SystemAuth' ? null : input.body ?? null,
    User: anonymous ? '' : id.name,
    AuthMethod: anonymous ? '' : id.method === 'mtls' ? 'TLS' : id.method,
    BindMounts: bindMounts(input.body),
    operation: input.operation,
    version: input.version,
    params: input.params,
    identity: { name: id.name, tenant: id.tenant, groups: id.groups, method: id.method },
    facts: input.facts,
    listener: input.listener
  }
}

/**
 * opa-docker-authz's BindMounts: `HostConfig.Binds` entries whose source is a path, and
 * `HostConfig.Mounts` of type `bind`. The canonical body has the engine's key names and types,
 * so no other spelling can carry one. (`facts.hostPaths` is the fuller list: bind-backed
 * volumes, reached containers, services.)
 */
function bindMounts (body: JsonValue | undefined): OpaBindMount[] {
  const out: OpaBindMount[] = []
  const hc = isJsonObject(body) ? body.HostConfig : undefined
  if (!isJsonObject(hc)) return out
  if (Array.isArray(hc.Binds)) {
    for (const spec of hc.Binds) {
      if (typeof spec !== 'string') continue
      const [source = '', , mode = ''] = spec.split(':')
      if (!source.startsWith('/')) continue
      out.push({ Source: source, ReadOnly: mode.split(',').includes('ro'), Resolved: cleanHostPath(source) })
    }
  }
  if (Array.isArray(hc.Mounts)) {
    for (const m of hc.Mounts) {
      if (!isJsonObject(m) || m.Type !== 'bind' || typeof m.Source !== 'string') continue
      out.push({ Source: m.Source, ReadOnly: m.ReadOnly === true, Resolved: cleanHostPath(m.Source) })
    }
  }
  return out
}

/**
 * The input document as JSON text, the body's numbers with the digits the client sent (an int64
 * limit is not rounded to a double on its way to the policy).
 *
 * @example opaInputText(opaInput(input)) // '{"Method":"POST","Path":"/v1.41/containers/create",…}'
 */
export function opaInputText (doc: OpaInput): string {
  const parts: string[] = []
  for (const [key, value] of Object.entries(doc)) {
    parts.push(`${JSON.stringify(key)}:${key === 'Body' ? serializeJson(value as JsonValue) : JSON.stringify(value)}`)
  }
  return `{${parts.join(',')}}`
}
