import { randomUUID } from 'node:crypto'
import type { IncomingMessage } from 'node:http'
import type { Socket } from 'node:net'
import type { Duplex } from 'node:stream'
import { AuditUnavailableError, GatewayError } from '../core/errors.ts'
import type { Decision } from '../decide/policy-input.ts'
import type { Identity } from '../identify/identity.ts'
import type { RequestFacts } from '../inspect/request-facts.ts'
import type { ForwardOutcome } from '../forward/forward.ts'
import type { HijackOutcome } from '../forward/hijack.ts'
import { rawHeader } from '../forward/hop-headers.ts'
import { auditRecord, createdObjectId, decisionOf, type AuditEvent, type ExchangeEnd, type TraceState } from './audit-record.ts'
import { redactText } from './audit-redaction.ts'
import type { AuditSink } from './audit-sink.ts'
import type { GatewayMetrics } from './metrics.ts'

/**
 * What the gateway tells the observe stage about one request, step by step. The gateway calls
 * these at fixed points and never reads anything back, except that `forwarding` may refuse.
 */
export interface RequestTrace {
  readonly id: string
  identified: (identity: Identity) => void
  /** A credential was rejected (or was missing where required) by this method. */
  authRejected: (method: string) => void
  routed: (operation: string, path: string, version: string | null, params: Readonly<Record<string, string>>) => void
  /** The policy decided (also when it denied); `facts` are what it decided on. */
  decided: (decision: Decision, facts: Readonly<RequestFacts>, query: Readonly<Record<string, readonly string[]>>) => void
  /** The full container id forwarded in place of the name the client wrote. */
  pinned: (id: string) => void
  /**
   * Right before the request goes to the engine. In fail-closed mode the `admitted` record is
   * written here, and an AuditUnavailableError is thrown when it cannot be: nothing is forwarded
   * that the log does not hold.
   */
  forwarding: () => void
  /** dockward answered the request itself (any refusal, before or after the decision). */
  refused: (err: GatewayError) => void
  /** An ordinary exchange ended; `body` is the captured start of a create's answer. */
  forwarded: (outcome: ForwardOutcome) => void
  /** The engine switched protocols: the stream is open. */
  switched: (protocol: string) => void
  /** An upgrade request ended: the stream closed, or the exchange stayed HTTP, or it failed. */
  upgraded: (outcome: HijackOutcome) => void
}

/** Starts a trace per request. */
export interface RequestObserver {
  start: (req: IncomingMessage, listener: string) => RequestTrace
  /**
   * A connection answered and closed before any request on it could be parsed: malformed HTTP,
   * headers too large or too slow, an HTTP/2 preface. One `request` record with what is known
   * (listener, client address, the refusal), so that an auditor sees the attempt.
   */
  unparsed: (socket: Duplex, listener: string, err: GatewayError) => void
  /**
   * Resolves once no trace is open: every request has its record, every hijacked stream its
   * `stream-end`. Shutdown waits for it after cutting the connections, before closing the log.
   */
  idle: () => Promise<void>
}

const noopTrace: RequestTrace = {
  id: '',
  identified () {},
  authRejected () {},
  routed () {},
  decided () {},
  pinned () {},
  forwarding () {},
  refused () {},
  forwarded () {},
  switched () {},
  upgraded () {}
}

/** For a gateway run without audit and metrics (tests, embedding). */
export const noopObserver: RequestObserver = { start: () => noopTrace, unparsed () {}, idle: async () => {} }

export interface ObserverOptions {
  /** null: audit is off (metrics still count). */
  readonly audit: AuditSink | null
  readonly failClosed: boolean
  readonly metrics: GatewayMetrics
}

/**
 * The observe stage: every request's trace ends in one `request` audit record and its metrics; a
 * hijacked stream adds a `stream-end` record when it closes.
 *
 * @example
 * const observer = createRequestObserver({ audit: sink, failClosed: false, metrics })
 * const trace = observer.start(req, 'unix:///run/dockward.sock')
 */
export function createRequestObserver ({ audit, failClosed, metrics }: ObserverOptions): RequestObserver {
  const open = new OpenTraces()
  const sinks: TraceSinks = { audit, failClosed, metrics, open }
  return {
    start: (req, listener) => new Trace(sinks, req, listener),
    unparsed: (socket, listener, err) => {
      new Trace(sinks, { socket, rawHeaders: [], url: '', method: '' }, listener).refused(err)
    },
    idle: () => open.idle()
  }
}

/** How many traces have not written their last record yet, and who waits for none. */
class OpenTraces {
  #count = 0
  #waiters: Array<() => void> = []

  opened (): void { this.#count++ }

  closed (): void {
    if (--this.#count > 0) return
    for (const wake of this.#waiters.splice(0)) wake()
  }

  idle (): Promise<void> {
    return this.#count === 0 ? Promise.resolve() : new Promise((resolve) => { this.#waiters.push(resolve) })
  }
}

interface TraceSinks {
  readonly audit: AuditSink | null
  readonly failClosed: boolean
  readonly metrics: GatewayMetrics
  readonly open: OpenTraces
}

/** What a trace reads of a request: a parsed one, or only the connection of one that never parsed. */
type TracedRequest = Pick<IncomingMessage, 'rawHeaders' | 'url' | 'method'> & { readonly socket: Duplex }

/** One request's trace: a class rather than closures, as it is made for every request. */
class Trace implements RequestTrace {
  readonly #sinks: TraceSinks
  readonly #s: TraceState
  #routedAt = 0
  #switchedAt = 0
  #protocol = ''
  #done = false
  #closed = false

  constructor (sinks: TraceSinks, req: TracedRequest, listener: string) {
    this.#sinks = sinks
    sinks.open.opened()
    const socket = req.socket as Partial<Pick<Socket, 'remoteAddress' | 'remotePort'>>
    const ua = rawHeader(req.rawHeaders, 'user-agent')
    const url = req.url ?? ''
    const q = url.indexOf('?')
    const remote = socket.remoteAddress
    this.#s = {
      id: randomUUID(),
      started: performance.now(),
      listener,
      remote: remote === undefined ? null : `${remote.includes(':') ? `[${remote}]` : remote}:${socket.remotePort ?? 0}`,
      userAgent: ua === undefined ? null : redactText(ua).slice(0, 256),
      method: req.method ?? '',
      rawPath: q === -1 ? url : url.slice(0, q),
      identity: null,
      rejectedBy: null,
      operation: null,
      path: null,
      version: null,
      objects: [],
      decision: null,
      facts: null
    }
  }

  get id (): string { return this.#s.id }

  identified (identity: Identity): void { this.#s.identity = identity }

  authRejected (method: string): void {
    this.#s.rejectedBy = method
    this.#sinks.metrics.authFailure(method)
  }

  routed (operation: string, path: string, version: string | null, params: Readonly<Record<string, string>>): void {
    this.#routedAt = performance.now()
    const s = this.#s
    s.operation = operation
    s.path = path
    s.version = version
    for (const key in params) this.#addObject(params[key]!)
  }

  decided (decision: Decision, facts: Readonly<RequestFacts>, query: Readonly<Record<string, readonly string[]>>): void {
    this.#sinks.metrics.decided((performance.now() - this.#routedAt) / 1000)
    this.#s.decision = decision
    this.#s.facts = facts
    // The name a create gives (`docker run --name web`), so "everything about web" is one filter.
    const name = query['name']?.[0]
    if (name !== undefined) this.#addObject(name)
    for (const c of facts.reachedContainers ?? []) this.#addObject(c)
  }

  pinned (id: string): void { this.#addObject(id) }

  forwarding (): void {
    if (!this.#sinks.failClosed || this.#sinks.audit === null) return
    if (!this.#write('admitted', this.#s, { status: null, bytesIn: 0, bytesOut: 0, end: null, error: null })) throw new AuditUnavailableError()
  }

  refused (err: GatewayError): void {
    if (err.code === 'DW_ERR_UPSTREAM_UNAVAILABLE' || err.code === 'DW_ERR_UPSTREAM_PROTOCOL') this.#sinks.metrics.upstreamError(err.code)
    this.#finish({ status: err.status, bytesIn: 0, bytesOut: Buffer.byteLength(err.toBody()), end: 'refused', error: err })
  }

  forwarded (o: ForwardOutcome): void {
    if (o.end === 'upstream-error') this.#sinks.metrics.upstreamError((o.error as { code?: string } | undefined)?.code ?? 'error')
    const operation = this.#s.operation
    if (o.body !== undefined && operation !== null && o.status >= 200 && o.status < 300) {
      const id = createdObjectId(operation, o.body)
      if (id !== null) this.#addObject(id)
    }
    this.#finish({ status: o.status, bytesIn: o.bytesIn, bytesOut: o.bytesOut, end: o.end, error: o.error ?? null })
  }

  switched (p: string): void {
    this.#switchedAt = performance.now()
    this.#protocol = p
    this.#sinks.metrics.streamOpened(p)
    this.#finish({ status: 101, bytesIn: 0, bytesOut: 0, end: 'switched', error: null })
  }

  upgraded (o: HijackOutcome): void {
    if (o.kind !== 'hijacked') {
      if (o.error instanceof GatewayError) this.refused(o.error)
      else this.#finish({ status: o.status === 0 ? null : o.status, bytesIn: 0, bytesOut: o.bytesToClient, end: o.end, error: o.error ?? null })
    } else {
      this.#sinks.metrics.streamClosed(this.#protocol, o.bytesFromClient, o.bytesToClient)
      this.#write('stream-end', { ...this.#s, started: this.#switchedAt }, { status: 101, bytesIn: o.bytesFromClient, bytesOut: o.bytesToClient, end: o.end, error: o.error ?? null, protocol: this.#protocol })
    }
    this.#close()
  }

  /** The trace's last record is written (a switched stream's is its `stream-end`). */
  #close (): void {
    if (this.#closed) return
    this.#closed = true
    this.#sinks.open.closed()
  }

  #addObject (value: string): void {
    // Compared as stored: a value redaction changes must not be listed twice.
    const clean = redactText(value)
    const objects = this.#s.objects
    if (clean !== '' && !objects.includes(clean)) objects.push(clean)
  }

  #finish (end: ExchangeEnd): void {
    if (this.#done) return
    this.#done = true
    const s = this.#s
    this.#write('request', s, end)
    this.#sinks.metrics.request(s.operation, decisionOf(s.decision), end.status ?? 0, (performance.now() - s.started) / 1000)
    if (end.end !== 'switched') this.#close()
  }

  #write (event: AuditEvent, s: TraceState, end: ExchangeEnd): boolean {
    const audit = this.#sinks.audit
    if (audit === null) return true
    const ok = audit.write(auditRecord(event, s, end, performance.now()))
    if (ok) this.#sinks.metrics.auditWritten()
    return ok
  }
}
