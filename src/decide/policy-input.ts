import type { Identity } from '../identify/identity.ts'
import type { JsonValue } from '../inspect/json-value.ts'
import type { RequestFacts } from '../inspect/request-facts.ts'

/**
 * The document every policy engine decides on (the built-in rules and OPA). It is built
 * only from canonical forms: the query as the engine parses it, the body with the engine's field
 * names. Nothing in it can be spelled two ways.
 */
export interface PolicyInput {
  readonly identity: Identity
  /** Operation name from the route table (`ContainerCreate`). */
  readonly operation: string
  readonly method: string
  /** Path without the version prefix, as routed (`/containers/abc/start`). */
  readonly path: string
  /** `MAJOR.MINOR` from the `/vX.Y` prefix, or null when the request has none. */
  readonly version: string | null
  readonly params: Readonly<Record<string, string>>
  /** Query as the engine parses it: every value of each key, in order. */
  readonly query: Readonly<Record<string, readonly string[]>>
  /** The canonical JSON body, or undefined when the operation has none or it is not JSON. */
  readonly body: JsonValue | undefined
  readonly facts: Readonly<RequestFacts>
  /** The listener the request came in on (`unix:///run/dockward.sock`, `tcp://127.0.0.1:2375`). */
  readonly listener: string
  /**
   * Request headers without credentials (inspect/policy-headers.ts), for OPA's `input.Headers`.
   * Set by the gateway and `dockward policy explain`; inputs built by hand may leave it out.
   */
  readonly headers?: Readonly<Record<string, string>>
}

export type PolicyMode = 'enforce' | 'audit-only'

/** One rule that matched while deciding, in evaluation order. */
export interface RuleHit {
  readonly ruleId: string
  readonly action: 'allow' | 'deny'
  readonly mode: PolicyMode
  readonly reason: string
}

/**
 * The outcome. `allow` is what happens; `wouldDeny` marks a request an audit-only rule or policy
 * let through. `ruleId` is the rule that decided (`default-deny` when none matched).
 */
export interface Decision {
  readonly allow: boolean
  readonly wouldDeny: boolean
  readonly ruleId: string
  readonly reason: string
  /** Every rule that matched up to the decision, audit-only denials included. */
  readonly trail: readonly RuleHit[]
  /** Digest of the policy that decided, for audit records. */
  readonly policyDigest: string
  /** Extra fields an OPA policy returned beside `allow`, `reason` and `ruleId`, for audit records. */
  readonly details?: Readonly<Record<string, unknown>>
}

/** A loaded policy: a pure function of the input, cheap enough to run on every request. */
export interface PolicyEngine {
  readonly name: string
  readonly digest: string
  decide: (input: PolicyInput) => Decision
}
