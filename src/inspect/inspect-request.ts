import { BadRequestBodyError } from '../core/errors.ts'
import { bodyKindOf, canonicalizeBody, queryNamesOf } from './canonical-body.ts'
import { parseGoJson, serializeJson } from './go-json.ts'
import { canonicalQueryString, parseGoQuery, type GoQuery } from './go-query.ts'
import type { JsonValue } from './json-value.ts'
import { extractFacts, type EngineLookup } from './request-facts-extract.ts'
import type { RequestFacts } from './request-facts.ts'

/** A request reduced to what the engine will read, and what dockward forwards in its place. */
export interface InspectedRequest {
  /** The forwarded query as the engine parses it: only the names the operation takes. */
  readonly query: GoQuery
  /** The query string to forward ('' for none), serialized from `query`. */
  readonly canonicalQuery: string
  /** The canonical JSON body, or undefined when there is none (or it is not JSON). */
  readonly body: JsonValue | undefined
  /** The bytes to forward for a JSON body (the serialized canonical body), else undefined. */
  readonly bodyBytes: Buffer | undefined
  readonly facts: RequestFacts
}

/** What the gateway knows of a routed request before inspection. */
export interface RequestToInspect {
  readonly operation: string
  readonly version: string | null
  /** The route's path parameters (`route.params`): the container or exec instance an operation is about. */
  readonly params: Readonly<Record<string, string>>
  /** The raw query string, without `?`. */
  readonly rawQuery: string
  /** The JSON body as received (only for operations whose body is JSON); undefined or empty for none. */
  readonly body: Buffer | undefined
}

/**
 * The canonical bytes of a JSON body read after the decision (an upgrade request's body, which
 * the hijack relay reads itself): the same parse and canonicalization as `inspectRequest`, so
 * nothing but canonical JSON reaches the engine. An empty body stays empty.
 *
 * @example canonicalJsonBody('ExecStart', Buffer.from('{"detach":false,"tty":true}')) // <'{"Detach":false,"Tty":true}'>
 */
export function canonicalJsonBody (operation: string, raw: Buffer): Buffer {
  if (raw.length === 0) return raw
  // Attach, /session and /grpc take no body; the engine could still read one (as a form).
  if (bodyKindOf(operation) !== 'json') throw new BadRequestBodyError(`${operation} takes no request body`)
  return Buffer.from(serializeJson(canonicalizeBody(operation, parseGoJson(raw)).value), 'utf8')
}

/**
 * Inspects a routed request: parses the query as the engine will (refusing ambiguous forms) and
 * keeps only the parameters the operation takes; parses and canonicalizes a JSON body; extracts
 * the facts from exactly what will be forwarded. Dropped query names and body keys are listed in
 * `facts.ignoredFields` (`query.<name>`, canonical body paths), which is absent when nothing was
 * dropped. A body on an operation whose body is not JSON is not read here.
 *
 * @example
 * await inspectRequest({ operation: 'ContainerCreate', version: '1.41', params: {}, rawQuery: 'name=web', body: Buffer.from('{"image":"nginx"}') }, offlineLookup)
 * // { query: { name: ['web'] }, canonicalQuery: 'name=web', body: { Image: 'nginx' }, bodyBytes: <'{"Image":"nginx"}'>, facts: { image: 'docker.io/library/nginx:latest', … } }
 */
export async function inspectRequest (input: RequestToInspect, lookup: EngineLookup): Promise<InspectedRequest> {
  const { operation, version, params } = input
  const parsed = parseGoQuery(input.rawQuery, operation)
  const allowed = queryNamesOf(operation)
  const { query: canonicalQuery, ignored: droppedNames } = canonicalQueryString(parsed, allowed)
  // Facts and policy see the query the engine will parse: the forwarded one.
  const query = Object.create(null) as GoQuery
  for (const name of allowed) {
    const values = parsed[name]
    if (values !== undefined) query[name] = values
  }

  let body: JsonValue | undefined
  let bodyBytes: Buffer | undefined
  let ignoredBody: string[] = []
  if (bodyKindOf(operation) === 'json' && input.body !== undefined && input.body.length > 0) {
    const canonical = canonicalizeBody(operation, parseGoJson(input.body))
    body = canonical.value
    ignoredBody = canonical.ignored
    bodyBytes = Buffer.from(serializeJson(body), 'utf8')
  }

  const facts = await extractFacts({ operation, version, params, query, body }, lookup)
  const ignoredFields = [...ignoredBody, ...droppedNames.map((n) => `query.${n}`)]
  if (ignoredFields.length > 0) facts.ignoredFields = ignoredFields
  return { query, canonicalQuery, body, bodyBytes, facts }
}
