import type { GatewayError } from '../core/errors.ts'
import type { Decision } from '../decide/policy-input.ts'
import type { Identity } from '../identify/identity.ts'
import type { FactValue, RequestFacts } from '../inspect/request-facts.ts'
import { REDACTED, redactFacts, redactText } from './audit-redaction.ts'

/**
 * The audit record, schema version 1 (the `v` field; pino writes `v` and `time` first). One
 * `request` record per request; a hijacked stream adds a `stream-end` record with the same `id`
 * when it closes; in fail-closed mode an `admitted` record is written before the request is
 * forwarded. Fields are added in later versions without changing the meaning of these; a change
 * of meaning raises `v`. README.md#audit-log documents every field.
 */
export const AUDIT_SCHEMA_VERSION = 1

export type AuditEvent = 'request' | 'admitted' | 'stream-end'

/** `none`: refused before the policy decided (authentication, malformed request, unknown route, …). */
export type AuditDecision = 'allow' | 'deny' | 'would-deny' | 'none'

export interface AuditIdentity {
  /** null when the caller was not identified (a failed authentication). */
  readonly name: string | null
  readonly tenant: string | null
  /** The method that identified the caller, or that rejected its credential. */
  readonly method: string
}

export interface AuditRecord {
  readonly event: AuditEvent
  /** Request id (a UUID), shared by a hijack's `request` and `stream-end` records. */
  readonly id: string
  readonly identity: AuditIdentity
  /** The listener URL the request came in on. */
  readonly listener: string
  /** The client's `address:port`, or null on a unix socket. */
  readonly remote: string | null
  readonly userAgent: string | null
  readonly method: string
  /** The path as routed, without the version prefix and without the query (which may hold build args). */
  readonly path: string
  readonly version: string | null
  /** The Engine API operation (`ContainerCreate`), or null when the request matched no route. */
  readonly operation: string | null
  /**
   * Every engine object the request names or made: path parameters as the client wrote them
   * (name, id or prefix), the full container id dockward forwarded instead, the `name` a create
   * gave, the id a create answered with, and containers the decision looked at. Filter on one value.
   */
  readonly objects: readonly string[]
  readonly decision: AuditDecision
  /** The rule that decided (for would-deny: the audit-only rule that would have denied). */
  readonly ruleId: string | null
  readonly reason: string | null
  /** Digest of the policy that decided. */
  readonly policyDigest: string | null
  /** The facts the decision was made on, when the operation has any (redacted). */
  readonly facts?: Readonly<Record<string, FactValue>>
  /** The status the client got (101 for a switched stream); null in `admitted`. */
  readonly status: number | null
  /** Body bytes sent to the engine (request) and to the client (response); stream bytes in `stream-end`. */
  readonly bytesIn: number
  readonly bytesOut: number
  /** From the request's arrival to the end of its response (to the switch, for a hijack); stream lifetime in `stream-end`. */
  readonly durationMs: number
  /** How the exchange ended: complete, client-aborted, upstream-error, client-closed, upstream-closed, error. */
  readonly end: string | null
  /** Set when dockward refused the request or the exchange failed. */
  readonly error?: { readonly code: string, readonly message: string }
  /** `stream-end`: the protocol of the stream (tcp, h2c, websocket). */
  readonly protocol?: string
}

/** What a trace collected about one request, from arrival to decision. */
export interface TraceState {
  readonly id: string
  /** performance.now() at arrival. */
  readonly started: number
  readonly listener: string
  readonly remote: string | null
  readonly userAgent: string | null
  readonly method: string
  /** The request target's path, before routing (kept when routing fails). */
  readonly rawPath: string
  identity: Identity | null
  /** The method that rejected a credential, when authentication failed. */
  rejectedBy: string | null
  operation: string | null
  path: string | null
  version: string | null
  objects: string[]
  decision: Decision | null
  facts: Readonly<RequestFacts> | null
}

/** How one exchange ended, as the request record reports it. */
export interface ExchangeEnd {
  readonly status: number | null
  readonly bytesIn: number
  readonly bytesOut: number
  readonly end: string | null
  readonly error: GatewayError | Error | null
  /** `stream-end` only. */
  readonly protocol?: string
}

/**
 * The record for an event of a traced request.
 *
 * @example auditRecord('request', state, { status: 201, bytesIn: 88, bytesOut: 90, end: 'complete', error: null }, performance.now())
 */
export function auditRecord (event: AuditEvent, s: TraceState, end: ExchangeEnd, now: number): AuditRecord {
  const d = s.decision
  const verdict = decisionOf(d)
  const hit = verdict === 'would-deny' ? d!.trail.find((h) => h.action === 'deny') : undefined
  const record: AuditRecord = {
    event,
    id: s.id,
    identity: identityOf(s),
    listener: s.listener,
    remote: s.remote,
    userAgent: s.userAgent,
    method: s.method,
    path: redactText(s.path ?? s.rawPath),
    version: s.version,
    operation: s.operation,
    objects: s.objects,
    decision: verdict,
    ruleId: hit?.ruleId ?? d?.ruleId ?? null,
    reason: d === null ? null : redactText(hit?.reason ?? d.reason),
    policyDigest: d?.policyDigest ?? null,
    // The stream-end record shares the id of its request record, which has the facts.
    ...(s.facts !== null && event !== 'stream-end' ? factsField(s.facts, s.operation) : {}),
    status: end.status,
    bytesIn: end.bytesIn,
    bytesOut: end.bytesOut,
    durationMs: Math.round((now - s.started) * 1000) / 1000,
    end: end.end,
    ...(end.error === null ? {} : { error: { code: codeOf(end.error), message: redactText(end.error.message) } }),
    ...(end.protocol === undefined ? {} : { protocol: end.protocol })
  }
  return record
}

/**
 * The decision label shared by records and metrics.
 *
 * @example decisionOf({ allow: true, wouldDeny: true, … }) // 'would-deny'
 */
export function decisionOf (d: Decision | null): AuditDecision {
  if (d === null) return 'none'
  if (!d.allow) return 'deny'
  return d.wouldDeny ? 'would-deny' : 'allow'
}

function identityOf (s: TraceState): AuditIdentity {
  if (s.identity !== null) return { name: s.identity.name, tenant: s.identity.tenant, method: s.identity.method }
  return { name: null, tenant: null, method: s.rejectedBy ?? 'none' }
}

function codeOf (err: Error): string {
  const code = (err as { code?: unknown }).code
  return typeof code === 'string' ? code : 'error'
}

/**
 * The facts without their empty values (empty lists, '' and 0 mean "not set"), so a record shows
 * what the request asked for; booleans stay (`privileged: false` is an answer). Redacted.
 */
function factsField (facts: Readonly<RequestFacts>, operation: string | null): { facts?: Record<string, FactValue> } {
  const set: Record<string, FactValue> = {}
  let any = false
  // A plugin setting `NAME=value` is a mount source when NAME is a mount, and an environment
  // value otherwise: read as a host path for the decision, it may be a secret. Only its shape is kept.
  const opaque = operation === 'PluginSet'
  for (const [key, value] of Object.entries(facts) as Array<[string, FactValue | undefined]>) {
    if (value === undefined || value === '' || value === 0 || (Array.isArray(value) && value.length === 0)) continue
    set[key] = opaque && typeof value === 'string' ? REDACTED : opaque && Array.isArray(value) ? value.map(() => REDACTED) : value
    any = true
  }
  return any ? { facts: redactFacts(set) } : {}
}

// Create operations whose answer names the new object, and the field it is in.
const CREATED_ID_FIELD: Readonly<Record<string, string>> = {
  ContainerCreate: 'Id',
  ContainerExec: 'Id',
  NetworkCreate: 'Id',
  VolumeCreate: 'Name',
  ServiceCreate: 'ID',
  SecretCreate: 'ID',
  ConfigCreate: 'ID',
  ImageCommit: 'Id'
}

/**
 * Whether the answer to this operation names a created object worth reading (a small JSON body).
 *
 * @example createsObject('ContainerCreate') // true
 */
export function createsObject (operation: string): boolean {
  return Object.hasOwn(CREATED_ID_FIELD, operation)
}

/**
 * The id a create answered with, read from the first bytes of its JSON body, or null.
 *
 * @example createdObjectId('ContainerCreate', Buffer.from('{"Id":"3f2c…","Warnings":[]}')) // '3f2c…'
 */
export function createdObjectId (operation: string, body: Buffer): string | null {
  const field = CREATED_ID_FIELD[operation]
  if (field === undefined || body.length === 0) return null
  try {
    const value = (JSON.parse(body.toString('utf8')) as Record<string, unknown> | null)?.[field]
    // Ids and names only: anything long or odd is not an id and is not logged.
    return typeof value === 'string' && /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/.test(value) ? value : null
  } catch {
    return null
  }
}
