/**
 * Every failure dockward answers itself, one class per kind. The HTTP status of each kind is set in
 * one table (`statusByCode`) so the mapping can be read and audited in one place. The body is the
 * engine's own error format, `{"message": "..."}`, which the docker CLI prints as
 * "Error response from daemon: ...".
 */

export const statusByCode = {
  DW_ERR_MALFORMED_REQUEST: 400,
  DW_ERR_BAD_REQUEST_TARGET: 400,
  DW_ERR_AMBIGUOUS_PATH: 400,
  DW_ERR_INVALID_API_VERSION: 400,
  DW_ERR_BAD_FRAMING: 400,
  DW_ERR_BAD_REQUEST_BODY: 400,
  DW_ERR_NO_SUCH_REFERENCE: 400,
  DW_ERR_UNAUTHENTICATED: 401,
  DW_ERR_CROSS_SITE_REQUEST: 403,
  DW_ERR_POLICY_DENIED: 403,
  DW_ERR_TENANCY_DENIED: 403,
  DW_ERR_UNSUPPORTED_UPGRADE: 400,
  DW_ERR_ROUTE_NOT_FOUND: 404,
  DW_ERR_NO_SUCH_OBJECT: 404,
  DW_ERR_NAME_IN_USE: 409,
  DW_ERR_HEADERS_TIMEOUT: 408,
  DW_ERR_LENGTH_REQUIRED: 411,
  DW_ERR_BODY_TOO_LARGE: 413,
  DW_ERR_EXPECTATION_FAILED: 417,
  DW_ERR_RATE_LIMITED: 429,
  DW_ERR_HEADERS_TOO_LARGE: 431,
  DW_ERR_INTERNAL: 500,
  DW_ERR_UNSUPPORTED_TRANSFER_ENCODING: 501,
  DW_ERR_UPSTREAM_UNAVAILABLE: 502,
  DW_ERR_UPSTREAM_PROTOCOL: 502,
  DW_ERR_UPSTREAM_TIMEOUT: 504,
  DW_ERR_AUDIT_UNAVAILABLE: 503,
  DW_ERR_HTTP_VERSION_NOT_SUPPORTED: 505
} as const

export type ErrorCode = keyof typeof statusByCode

/** Base of every per-request failure: a stable code, the HTTP status, and a message for the client. */
export class GatewayError extends Error {
  readonly code: ErrorCode
  readonly status: number

  constructor (code: ErrorCode, message: string, options?: ErrorOptions) {
    super(message, options)
    this.name = new.target.name
    this.code = code
    this.status = statusByCode[code]
  }

  /** The body the engine would send: `{"message": "..."}`. */
  toBody (): string {
    return JSON.stringify({ message: this.message })
  }
}

/** Bytes the HTTP/1.1 parser refused. */
export class MalformedRequestError extends GatewayError {
  constructor (detail: string) { super('DW_ERR_MALFORMED_REQUEST', `malformed HTTP request (${detail})`) }
}

/** Kinds of engine object a tenant can own. */
export type ObjectKind = 'container' | 'volume' | 'network' | 'image' | 'exec'

/**
 * An object the caller's tenant does not own, answered in the engine's own words for a missing one
 * (moby errdefs), so a tenant cannot tell another tenant's object from none at all.
 */
export class ObjectNotFoundError extends GatewayError {
  readonly kind: ObjectKind
  constructor (kind: ObjectKind, ref: string) {
    super('DW_ERR_NO_SUCH_OBJECT', notFoundMessage(kind, ref))
    this.kind = kind
  }
}

/**
 * A create body names a container the tenant does not own (`VolumesFrom`, `container:` modes,
 * links): the engine answers a missing one with 400 and this message, and the docker CLI would
 * take a 404 for a missing image and try to pull it.
 */
export class ReferenceNotFoundError extends GatewayError {
  constructor (kind: ObjectKind, ref: string) { super('DW_ERR_NO_SUCH_REFERENCE', notFoundMessage(kind, ref)) }
}

function notFoundMessage (kind: ObjectKind, ref: string): string {
  switch (kind) {
    case 'container': return `No such container: ${ref}`
    case 'volume': return `get ${ref}: no such volume`
    case 'network': return `network ${ref} not found`
    case 'image': return `No such image: ${ref}`
    case 'exec': return `No such exec instance: ${ref}`
  }
}

/** A multi-tenant rule refused the request: an operation tenants may not use, a forged owner label, a shared object. */
export class TenancyDeniedError extends GatewayError {
  constructor (message: string) { super('DW_ERR_TENANCY_DENIED', message) }
}

/** A name (volume, image reference) another tenant holds; the answer names nothing of theirs. */
export class NameInUseError extends GatewayError {
  constructor (message: string) { super('DW_ERR_NAME_IN_USE', message) }
}

/** The request headers did not arrive within the header timeout. */
export class HeadersTimeoutError extends GatewayError {
  constructor (message = 'request headers were not received in time') { super('DW_ERR_HEADERS_TIMEOUT', message) }
}

/** The request header block is larger than the configured limit. */
export class HeadersTooLargeError extends GatewayError {
  constructor () { super('DW_ERR_HEADERS_TOO_LARGE', 'request headers are too large') }
}

/** The request target is not origin-form (`/path?query`): absolute-form, asterisk-form, fragments. */
export class BadRequestTargetError extends GatewayError {
  constructor (message: string) { super('DW_ERR_BAD_REQUEST_TARGET', message) }
}

/** The path could route differently in the engine than it reads here (encoded or dot segments, `//`, NUL). */
export class AmbiguousPathError extends GatewayError {
  constructor (message: string) { super('DW_ERR_AMBIGUOUS_PATH', message) }
}

/** A version prefix that is not plain `/vMAJOR.MINOR`. */
export class InvalidApiVersionError extends GatewayError {
  constructor (message: string) { super('DW_ERR_INVALID_API_VERSION', message) }
}

/** Message framing dockward will not guess at (a body it cannot delimit, a bad Content-Length). */
export class BadFramingError extends GatewayError {
  constructor (message: string) { super('DW_ERR_BAD_FRAMING', message) }
}

/** A body dockward must understand to decide, and cannot read unambiguously. */
export class BadRequestBodyError extends GatewayError {
  constructor (message: string) { super('DW_ERR_BAD_REQUEST_BODY', message) }
}

/**
 * A request a browser was made to send (an Origin header, or a Host that is not loopback on a
 * loopback listener: DNS rebinding). The Docker API is root on the host; web pages get nothing.
 */
export class CrossSiteRequestError extends GatewayError {
  constructor (message: string) { super('DW_ERR_CROSS_SITE_REQUEST', message) }
}

/**
 * The policy denied the request. The message names the rule, so the docker CLI prints
 * "Error response from daemon: dockward: <rule id>: <reason>".
 */
export class PolicyDeniedError extends GatewayError {
  readonly ruleId: string
  constructor (ruleId: string, reason: string) {
    super('DW_ERR_POLICY_DENIED', `dockward: ${ruleId}: ${reason}`)
    this.ruleId = ruleId
  }
}

/** An Upgrade the route does not allow (h2c outside `/session` and `/grpc`, for instance). */
export class UnsupportedUpgradeError extends GatewayError {
  constructor (message: string) { super('DW_ERR_UNSUPPORTED_UPGRADE', message) }
}

/** No Engine API operation has this method and path. The engine's own text for it is "page not found". */
export class RouteNotFoundError extends GatewayError {
  constructor () { super('DW_ERR_ROUTE_NOT_FOUND', 'page not found') }
}

/** A body dockward must read before forwarding came without a Content-Length. */
export class LengthRequiredError extends GatewayError {
  constructor (message: string) { super('DW_ERR_LENGTH_REQUIRED', message) }
}

/** A body dockward must read is larger than its cap. */
export class BodyTooLargeError extends GatewayError {
  constructor (limit: number) { super('DW_ERR_BODY_TOO_LARGE', `request body exceeds the ${limit}-byte limit for this operation`) }
}

/**
 * No valid credential. The message is fixed: why a credential failed goes to the log only, so a
 * client cannot probe which tokens, issuers or certificates exist.
 */
export class AuthenticationError extends GatewayError {
  constructor () { super('DW_ERR_UNAUTHENTICATED', 'authentication required') }
}

/** The caller sent more requests, or opened more streams, than its rate limit allows. */
export class RateLimitedError extends GatewayError {
  constructor (name: string) { super('DW_ERR_RATE_LIMITED', `dockward: rate limit for ${name} exceeded`) }
}

/** A bug in dockward. The request is refused, never forwarded half-checked. */
export class InternalError extends GatewayError {
  constructor (cause: unknown) { super('DW_ERR_INTERNAL', 'dockward could not process the request', { cause }) }
}

/** An `Expect` other than `100-continue` (Go's server answers 417 to it as well). */
export class ExpectationFailedError extends GatewayError {
  constructor (value: string) { super('DW_ERR_EXPECTATION_FAILED', `unsupported Expect header: ${JSON.stringify(value.slice(0, 64))}`) }
}

/** Transfer codings other than plain `chunked` (Go's server answers 501 to them as well). */
export class UnsupportedTransferEncodingError extends GatewayError {
  constructor (value: string) { super('DW_ERR_UNSUPPORTED_TRANSFER_ENCODING', `unsupported transfer encoding: ${JSON.stringify(value)}`) }
}

/** The engine could not be reached or dropped the connection before answering. */
export class UpstreamUnavailableError extends GatewayError {
  constructor (upstream: string, cause: unknown) {
    const detail = cause instanceof Error ? ((cause as NodeJS.ErrnoException).code ?? cause.message) : String(cause)
    super('DW_ERR_UPSTREAM_UNAVAILABLE', `dockward: cannot reach the Docker engine at ${upstream} (${detail}). Is the docker daemon running?`, { cause })
  }
}

/** The engine answered in a way dockward will not relay (a 101 to a route that may not switch protocols). */
export class UpstreamProtocolError extends GatewayError {
  constructor (message: string) { super('DW_ERR_UPSTREAM_PROTOCOL', message) }
}

/** The engine took the request and did not start its answer in time (`limits.upstreamResponseTimeout`). */
export class UpstreamTimeoutError extends GatewayError {
  constructor (ms: number) { super('DW_ERR_UPSTREAM_TIMEOUT', `dockward: the engine did not answer within ${Math.round(ms / 1000)} s`) }
}

/** The engine refused one of dockward's own lookups (`status`: an ambiguous id prefix is 400). */
export class UpstreamLookupError extends UpstreamProtocolError {
  readonly engineStatus: number
  constructor (path: string, engineStatus: number) {
    super(`dockward could not look up ${path} in the engine (status ${engineStatus})`)
    this.engineStatus = engineStatus
  }
}

/**
 * The audit log cannot be written and `audit.failClosed` is set: the request is refused before it
 * reaches the engine, so nothing happens that the log does not hold. Clients may retry.
 */
export class AuditUnavailableError extends GatewayError {
  constructor () { super('DW_ERR_AUDIT_UNAVAILABLE', 'dockward: the audit log cannot be written; requests are refused until it can (audit.failClosed)') }
}

/** HTTP/2 with prior knowledge, or any HTTP version other than 1.0/1.1. */
export class HttpVersionNotSupportedError extends GatewayError {
  constructor (message: string) { super('DW_ERR_HTTP_VERSION_NOT_SUPPORTED', message) }
}

/**
 * Any throw on the request path as an answer: GatewayErrors as they are, Node's header validation
 * as a malformed request, anything else as a bug (reported, and the request refused).
 */
export function toGatewayError (err: unknown): GatewayError {
  if (err instanceof GatewayError) return err
  const code = (err as NodeJS.ErrnoException | undefined)?.code
  if (typeof code === 'string' && /^ERR_(HTTP_)?INVALID_/.test(code)) return new MalformedRequestError(code)
  process.emitWarning(err instanceof Error ? err : new Error(String(err)))
  return new InternalError(err)
}

/** Invalid configuration: thrown at start-up, never per request. */
export class ConfigError extends Error {
  constructor (message: string) {
    super(message)
    this.name = 'ConfigError'
  }
}
