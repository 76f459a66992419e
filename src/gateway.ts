import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Socket } from 'node:net'
import type { Duplex } from 'node:stream'
import type { Config } from './config/config.ts'
import { PolicyDeniedError, RateLimitedError, RouteNotFoundError, toGatewayError, UnsupportedUpgradeError, type GatewayError } from './core/errors.ts'
import { sendError, sendErrorOnSocket } from './core/error-response.ts'
import type { PolicyEngine, PolicyInput } from './decide/policy-input.ts'
import { identify, type ListenerAuth } from './identify/authenticate.ts'
import type { Identity } from './identify/identity.ts'
import type { RateLimiter } from './identify/rate-limiter.ts'
import { bodyKindOf } from './inspect/canonical-body.ts'
import { checkContentType, type BodyKind } from './inspect/content-type.ts'
import { canonicalJsonBody, inspectRequest } from './inspect/inspect-request.ts'
import { serializeJson } from './inspect/go-json.ts'
import { memoizedLookup, pinnedCreateBody, pinnedPathId } from './inspect/pin-references.ts'
import { policyHeaders } from './inspect/policy-headers.ts'
import { isJsonObject } from './inspect/json-value.ts'
import { readBody } from './inspect/read-body.ts'
import { createEngineQuery } from './forward/engine-query.ts'
import { answerTimeout } from './forward/answer-timeout.ts'
import { forwardRequest, type ForwardPlan } from './forward/forward.ts'
import { relayUpgrade } from './forward/hijack.ts'
import { rawHeader } from './forward/hop-headers.ts'
import { bodyFraming, checkConnectionHeader, declaresBody, type BodyFraming } from './forward/request-framing.ts'
import { createUpstream, type Upstream } from './forward/upstream.ts'
import type { RequestSink, ResumeHttp } from './listen/listeners.ts'
import { checkApiVersion } from './route/api-version.ts'
import { createPrefaceReader } from './route/connection-preface.ts'
import { parseRequestTarget, type RequestTarget } from './route/request-target.ts'
import { createRouteMatcher, type RouteMatch, type RouteMatcher } from './route/route-matcher.ts'
import { routeTable } from './route/route-table.ts'
import { createOwnerCache, ownerLookup } from './tenancy/owner-lookup.ts'
import { scopeOf } from './tenancy/tenant-scope.ts'
import { inSet } from './tenancy/tenancy-settings.ts'
import { redactedEnv } from './tenancy/tenant-responses.ts'
import { planTenantRequest, type TenantPlan } from './tenancy/tenant-request.ts'
import type { ResponseFilter } from './forward/response-filter.ts'
import { canonicalQueryString } from './inspect/go-query.ts'
import { CopyGuard } from './inspect/volume-copy.ts'
import { queryNamesOf } from './inspect/canonical-body.ts'
import { createsObject } from './observe/audit-record.ts'
import { noopObserver, type RequestObserver, type RequestTrace } from './observe/request-trace.ts'

/** One request as the later stages see it: what it names, on which API version. */
export interface ParsedRequest {
  readonly method: string
  readonly target: RequestTarget
  readonly route: RouteMatch
  /** The path as the client sent it, version prefix included, without the query. */
  readonly rawPath: string
}

/** Where the gateway gets the policy in force; a reload swaps what `current()` returns. */
export interface PolicySource {
  current: () => PolicyEngine
}

export interface GatewayOptions {
  readonly config: Config
  readonly policy: PolicySource
  /** Per-identity request and stream limits (429). */
  readonly limiter: RateLimiter
  /** The operational log (start-up, would-deny notices); stderr in `dockward serve`. */
  readonly log: (message: string) => void
  /** Audit and metrics: told about every request (observe/request-trace.ts). */
  readonly observer?: RequestObserver
}

/**
 * The composition root: every request goes listen → route → inspect → decide → forward
 * (identify and observe slot in as they land). Anything that fails before forwarding is answered
 * here, in the engine's error format, and never reaches the engine.
 */
export interface Gateway {
  /** The request handlers for one listener; `listener` names it in policy input. */
  sinkFor: (listener: string, auth: ListenerAuth) => RequestSink
  readonly upstream: Upstream
  close: () => void
}

const EMPTY = Buffer.alloc(0)
const JSON_TYPE = 'application/json'

/** A request that passed every check: what to send the engine. */
interface Admitted {
  readonly path: string
  /** The inspected body to send instead of the client's bytes, or undefined to stream them. */
  readonly body: Buffer | undefined
  readonly bodyKind: BodyKind
  readonly canonicalBody: PolicyInput['body']
  /** A change to the engine's answer (multi-tenancy), and what to do when it is known. */
  readonly response: ResponseFilter | undefined
  readonly settled: ((status: number) => void) | undefined
  /** Changes to the engine to make before forwarding (tenancy: named volumes), once recorded. */
  readonly prepare: (() => Promise<void>) | undefined
  /** Time the engine has to start its answer (ms), or null. */
  readonly responseTimeoutMs: number | null
  /** Lets go of what the request holds (a create's named volumes) once its exchange ended. */
  readonly release: (() => void) | undefined
}

const NO_PLAN: TenantPlan = Object.freeze({})

export function createGateway ({ config, policy, limiter, log, observer = noopObserver }: GatewayOptions): Gateway {
  const upstream = createUpstream(config.upstream)
  const engine = createEngineQuery(upstream)
  const matchRoute = createRouteMatcher(routeTable)
  const legacyHijack = new WeakSet<Duplex>()
  const limits = config.limits
  const tenancy = config.tenancy
  // Owners by full id, for every request and event stream (ids and labels never change).
  const ownerCache = createOwnerCache()
  const copyGuard = new CopyGuard(async (name) => await engine.volumeInUse(name))

  /**
   * Inspect and decide: reads a body the decision depends on (capped), canonicalizes query and
   * body, extracts facts, asks the policy. Throws a GatewayError for anything that must not reach
   * the engine; the returned plan carries only what was decided on.
   */
  async function admit (req: IncomingMessage, parsed: ParsedRequest, framing: BodyFraming, kind: BodyKind, listener: string, identity: Identity, trace: RequestTrace): Promise<Admitted> {
    let raw: Buffer | undefined
    // A body on an operation that has none is read and dropped: the engine would ignore it on
    // current versions, and no unread bytes can reach it.
    if (kind !== 'stream' && framing !== 'none') raw = await readBody(req, limits.maxBodySize, limits.headersTimeout)
    const { route, target } = parsed
    // One answer per name for the whole request: the facts and the pinning below agree.
    const lookup = memoizedLookup(engine)
    const inspected = await inspectRequest({
      operation: route.operation,
      version: target.version,
      rawQuery: target.query,
      params: route.params,
      body: kind === 'json' && raw !== undefined && raw.length > 0 ? raw : undefined
    }, lookup)
    // Tenancy before the policy: an object of another tenant is "no such …" whatever the rules say.
    let plan = NO_PLAN
    const scope = tenancy === null ? null : scopeOf(identity, tenancy)
    if (tenancy !== null && scope?.kind === 'tenant') {
      plan = await planTenantRequest(
        { operation: route.operation, params: route.params, query: inspected.query, body: inspected.body, facts: inspected.facts },
        { tenant: scope.tenant, label: tenancy.label, engine, cache: ownerCache, owners: ownerLookup(lookup, engine, ownerCache, tenancy.label), sharedEvents: tenancy.sharedEvents, builds: tenancy.builds }
      )
    }
    if (tenancy !== null && route.operation === 'ContainerInspect' && inSet(identity, tenancy.redactEnv)) plan = { ...plan, response: redactedEnv() }
    let headers: Record<string, string> | undefined
    const input: PolicyInput = {
      identity,
      operation: route.operation,
      method: parsed.method,
      path: target.path,
      version: target.version,
      params: route.params,
      query: inspected.query,
      body: inspected.body,
      facts: inspected.facts,
      listener,
      // Only OPA reads the headers: built on first read, not on every request.
      get headers () { return (headers ??= policyHeaders(req.rawHeaders)) }
    }
    const decision = policy.current().decide(input)
    trace.decided(decision, inspected.facts, inspected.query)
    if (!decision.allow) throw new PolicyDeniedError(decision.ruleId, decision.reason)
    if (decision.wouldDeny) {
      const hit = decision.trail.find((h) => h.action === 'deny')
      log(`audit-only: would deny ${route.operation} ${parsed.method} ${target.path} (${hit?.ruleId ?? decision.ruleId}: ${hit?.reason ?? decision.reason})`)
    }
    // Containers the decision looked at go to the engine by full id, so a rename in between
    // cannot swap in another container (or, on a multi-tenant engine, another tenant's object).
    const pinnedId = plan.pathId ?? await pinnedPathId(route.operation, route.params, lookup)
    if (pinnedId !== null) trace.pinned(pinnedId)
    const basePath = pinnedId === null
      ? parsed.rawPath
      : `${target.version === null ? '' : `/v${target.version}`}${pinnedPath(route.route.template, pinnedId)}`
    const query = plan.query === undefined ? inspected.canonicalQuery : canonicalQueryString(plan.query, queryNamesOf(route.operation)).query
    const path = query === '' ? basePath : `${basePath}?${query}`
    const planned = plan.body ?? inspected.body
    let bodyBytes = plan.body === undefined ? inspected.bodyBytes : Buffer.from(serializeJson(plan.body), 'utf8')
    const pinnedBody = await pinnedCreateBody(route.operation, planned, lookup)
    if (pinnedBody !== planned && pinnedBody !== undefined) bodyBytes = Buffer.from(serializeJson(pinnedBody), 'utf8')
    // A create is held until the engine has answered, however long its copy into volumes takes
    // (CopyGuard): no answer timeout, or the hold would end while the engine still copies.
    const responseTimeoutMs = route.operation === 'ContainerCreate' ? null : answerTimeout(route.operation, inspected.query, limits.upstreamResponseTimeout)
    // Last, as it holds until the exchange ends (Admitted.release).
    const held = route.operation === 'ContainerCreate' ? await copyGuard.hold(pinnedBody) : null
    if (held?.body !== undefined) bodyBytes = Buffer.from(serializeJson(held.body), 'utf8')
    let body: Buffer | undefined
    if (kind === 'json') body = bodyBytes ?? EMPTY
    else if (kind === 'none' && raw !== undefined) body = EMPTY
    return { path, body, bodyKind: kind, canonicalBody: inspected.body, response: plan.response, settled: plan.settled, prepare: plan.prepare, responseTimeoutMs, release: held?.release }
  }

  function sinkFor (listener: string, auth: ListenerAuth): RequestSink {
    const rejected = (method: string, reason: string): void => { log(`authentication failed on ${listener} (${method}): ${reason}`) }

    /** Identify step: who is calling, and may they send one more request now. */
    async function caller (req: IncomingMessage, trace: RequestTrace): Promise<Identity> {
      const identity = await identify(req, auth, (method, reason) => { rejected(method, reason); trace.authRejected(method) })
      trace.identified(identity)
      if (!limiter.admit(identity)) throw new RateLimitedError(identity.name)
      return identity
    }

    /** Route step, told to the trace. */
    function routed (req: IncomingMessage, trace: RequestTrace): ParsedRequest {
      const parsed = parseRequest(req, matchRoute)
      trace.routed(parsed.route.operation, parsed.target.path, parsed.target.version, parsed.route.params)
      return parsed
    }

    function request (req: IncomingMessage, res: ServerResponse): void {
      res.sendDate = false
      const trace = observer.start(req, listener)
      caller(req, trace).then((identity) => {
        const parsed = routed(req, trace)
        const operation = parsed.route.operation
        // The pre-Upgrade attach only works as a connection's first request (connection-preface.ts);
        // later on one, the stream that follows would be read as HTTP.
        if (operation === 'ContainerAttach') {
          throw new UnsupportedUpgradeError('attach needs "Connection: Upgrade" and "Upgrade: tcp", or must be the first request on its connection')
        }
        const framing = bodyFraming(req.rawHeaders)
        const kind = bodyKindOf(operation)
        checkContentType(req.rawHeaders, parsed.method, kind)
        return admit(req, parsed, framing, kind, listener, identity, trace).then((admitted) => forwardAdmitted(admitted).catch((err: unknown) => {
          admitted.release?.()
          throw err
        }))

        async function forwardAdmitted (admitted: Admitted): Promise<void> {
          // Without Upgrade, only a detached exec start stays HTTP (`docker exec -d`); an attached
          // one would turn a connection dockward reads as HTTP into a raw stream.
          if (operation === 'ExecStart') {
            const body = admitted.canonicalBody
            if (!isJsonObject(body) || body.Detach !== true) {
              throw new UnsupportedUpgradeError('an attached exec start needs "Connection: Upgrade" and "Upgrade: tcp", or must be the first request on its connection')
            }
          }
          const plan: ForwardPlan = {
            path: admitted.path,
            framing,
            captureResponse: createsObject(operation),
            responseTimeoutMs: admitted.responseTimeoutMs,
            ...(admitted.body === undefined ? {} : { body: { bytes: admitted.body, contentType: admitted.bodyKind === 'json' ? JSON_TYPE : null } }),
            ...(admitted.response === undefined ? {} : { response: admitted.response }),
            // The engine copies into volumes while it creates: held until it answered.
            ...(admitted.release === undefined ? {} : { answered: admitted.release })
          }
          const settled = admitted.settled
          // Recorded (or refused by a fail-closed audit) before the engine is changed in any way.
          trace.forwarding()
          // A client gone by now gets nothing forwarded (forwardRequest), so nothing is prepared.
          const prepare = res.destroyed ? undefined : admitted.prepare
          const forward = (): void => {
            forwardRequest(req, res, upstream, plan, (outcome) => {
              admitted.release?.()
              settled?.(outcome.status)
              trace.forwarded(outcome)
            })
          }
          if (prepare !== undefined) await prepare()
          forward()
        }
      }).catch((err: unknown) => {
        const e = toGatewayError(err)
        trace.refused(e)
        fail(res, e)
      })
    }

    /** The listener has paused the socket and waited for earlier pipelined answers (listeners.ts). */
    function upgrade (req: IncomingMessage, socket: Duplex, head: Buffer, resumeHttp: ResumeHttp): void {
      const trace = observer.start(req, listener)
      const legacy = legacyHijack.has(socket)
      legacyHijack.delete(socket)
      let release: (() => void) | null = null
      caller(req, trace).then((identity) => {
        const parsed = routed(req, trace)
        const asked = (rawHeader(req.rawHeaders, 'upgrade') ?? '').trim().toLowerCase()
        const protocol = parsed.route.upgrade
        // Only the protocol the route switches to; on a route that never switches, the Upgrade is
        // stripped (curl --http2 asks for h2c on any request) and the request stays an ordinary
        // exchange, but only without a body: a body here would bypass inspection.
        if (protocol !== null && asked !== protocol) {
          throw new UnsupportedUpgradeError(`${parsed.route.operation} upgrades to ${JSON.stringify(protocol)} only, not ${JSON.stringify(asked)}`)
        }
        if (protocol === null && declaresBody(req.rawHeaders)) {
          throw new UnsupportedUpgradeError(`${parsed.route.operation} does not switch protocols; send it without an Upgrade header`)
        }
        checkContentType(req.rawHeaders, parsed.method, bodyKindOf(parsed.route.operation))
        // Framing is judged before any engine lookup, as on the ordinary path (bodyFraming).
        checkConnectionHeader(req.rawHeaders)
        if (protocol !== null) {
          release = limiter.openStream(identity)
          if (release === null) throw new RateLimitedError(identity.name)
          // Whatever else happens, a stream slot ends with the client's connection.
          socket.once('close', release)
        }
        // The body of an upgrade request (exec start's JSON: Detach, Tty, ConsoleSize) is read by
        // the relay after the decision, which rests on the route and query; the relay still sends
        // only its canonical form.
        const operation = parsed.route.operation
        return admit(req, parsed, 'none', 'none', listener, identity, trace).then((admitted) => {
          // The raw relay of an exchange that stays HTTP passes the engine's answer as it is: an
          // answer the plan changes (a tenant's filtered list, redacted env) must take the
          // ordinary path, or an Upgrade header (curl --http2 sends one) would skip the change.
          if (protocol === null && (admitted.response !== undefined || admitted.settled !== undefined || admitted.prepare !== undefined || admitted.release !== undefined)) {
            admitted.release?.()
            throw new UnsupportedUpgradeError(`${operation} does not switch protocols; send it without an Upgrade header`)
          }
          trace.forwarding()
          relayUpgrade({
            req,
            path: admitted.path,
            socket,
            head,
            protocol,
            legacy,
            bodyLimit: limits.upgradeBodyLimit,
            bodyTimeout: limits.headersTimeout,
            rewriteBody: (raw) => canonicalJsonBody(operation, raw),
            resumeHttp,
            onSwitched: () => trace.switched(protocol ?? 'none')
          }, upstream, (outcome) => {
            release?.()
            trace.upgraded(outcome)
          })
        })
      }).catch((err: unknown) => {
        release?.()
        const e = toGatewayError(err)
        trace.refused(e)
        sendErrorOnSocket(socket, e)
      })
    }

    const preface = createPrefaceReader({
      matchRoute,
      maxHeaderSize: limits.maxHeaderSize,
      headersTimeout: limits.headersTimeout,
      onLegacyHijack: (socket: Socket) => { legacyHijack.add(socket) },
      reject: (socket, err) => {
        observer.unparsed(socket, listener, err)
        sendErrorOnSocket(socket, err)
      }
    })

    return {
      request,
      upgrade,
      preface,
      refused: (req, err) => observer.start(req, listener).refused(err),
      unparsed: (socket, err) => observer.unparsed(socket, listener, err)
    }
  }

  return { sinkFor, upstream, close: upstream.close }
}

/** Route step: checks the target and the version and names the operation; throws a GatewayError otherwise. */
export function parseRequest (req: IncomingMessage, matchRoute: RouteMatcher): ParsedRequest {
  const url = req.url ?? ''
  const target = parseRequestTarget(url)
  checkApiVersion(target.version)
  const route = matchRoute(req.method ?? '', target.path)
  if (route === null) throw new RouteNotFoundError()
  const q = url.indexOf('?')
  return { method: req.method!, target, route, rawPath: q === -1 ? url : url.slice(0, q) }
}

const PATH_PARAM = /\{[A-Za-z_][A-Za-z0-9_]*\*?\}/g
// Full ids and qualified image names: nothing the engine's router would split or decode.
const PINNABLE = /^[A-Za-z0-9][A-Za-z0-9._:@/-]*$/

/** The route's path with its one parameter replaced by the pinned object; anything else is dockward's own error. */
function pinnedPath (template: string, pinned: string): string {
  if (template.match(PATH_PARAM)?.length !== 1 || !PINNABLE.test(pinned) || pinned.includes('//') || /(?:^|\/)\.\.?(?:\/|$)/.test(pinned)) {
    throw new Error(`dockward cannot pin ${JSON.stringify(pinned)} into ${template}`)
  }
  return template.replace(PATH_PARAM, pinned)
}

function fail (res: ServerResponse, err: GatewayError): void {
  // The body may not have been read: close after answering rather than parse an unknown rest as
  // a request.
  if (declaresBody(res.req.rawHeaders) && !res.req.complete) res.shouldKeepAlive = false
  if (res.headersSent) {
    res.destroy()
    return
  }
  sendError(res, err)
}
