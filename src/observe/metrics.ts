import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client'
import type { AuditDecision } from './audit-record.ts'

/** Questions the metrics ask at scrape time. */
export interface MetricsProbes {
  /** Whether the engine answers `/_ping` now. */
  readonly engineUp: () => Promise<boolean>
  /** Whether the audit sink can be written; null when audit is off (no series then). */
  readonly auditHealthy: (() => boolean) | null
  readonly version: string
}

/** The instrument set. Label values are bounded: operation names, decisions, status codes, methods. */
export interface GatewayMetrics {
  readonly registry: Registry
  /** One finished request (its `request` audit record). A null operation matched no route. */
  request: (operation: string | null, decision: AuditDecision, status: number, seconds: number) => void
  /** Inspection and policy decision of one request (body read, facts, engine lookups, decide()). */
  decided: (seconds: number) => void
  streamOpened: (protocol: string) => void
  streamClosed: (protocol: string, bytesFromClient: number, bytesToClient: number) => void
  /** The engine could not be reached or answered in a way dockward would not relay. */
  upstreamError: (code: string) => void
  authFailure: (method: string) => void
  /** A policy is in force (start-up or reload). */
  policyActive: (name: string, digest: string) => void
  policyReload: (ok: boolean) => void
  auditWritten: () => void
  auditError: () => void
  auditLost: (count: number) => void
}

const UNKNOWN_OPERATION = 'unknown'

/**
 * A prom-client registry of its own (nothing global, so tests and embedders can hold several)
 * with dockward's instruments and Node's process metrics. Paths, ids and identities are never
 * labels: a label value an attacker controls would grow the series set without bound.
 *
 * @example
 * const metrics = createMetrics({ engineUp: () => ping(upstream), auditHealthy: () => sink.healthy(), version: '0.1.0' })
 * metrics.request('ContainerCreate', 'allow', 201, 0.012)
 * await metrics.registry.metrics() // Prometheus text format
 */
export function createMetrics (probes: MetricsProbes): GatewayMetrics {
  const registry = new Registry()
  collectDefaultMetrics({ register: registry })
  const registers = [registry]

  new Gauge({ name: 'dockward_build_info', help: 'dockward version (always 1)', labelNames: ['version'], registers }).set({ version: probes.version }, 1)

  const requests = new Counter({
    name: 'dockward_requests_total',
    help: 'Requests by Engine API operation, decision (allow, deny, would-deny, none: refused before the policy decided) and HTTP status',
    labelNames: ['operation', 'decision', 'status'],
    registers
  })
  const duration = new Histogram({
    name: 'dockward_request_duration_seconds',
    help: 'Time from a request\'s arrival to the end of its response (to the protocol switch for hijacks), by operation',
    labelNames: ['operation'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
    registers
  })
  const decision = new Histogram({
    name: 'dockward_policy_decision_duration_seconds',
    help: 'Inspection and policy decision per decided request: body read, facts, engine lookups and the policy',
    buckets: [0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05, 0.1, 0.5, 1],
    registers
  })
  const streams = new Gauge({ name: 'dockward_hijacked_streams_active', help: 'Hijacked streams open now (attach, exec, BuildKit session and grpc), by protocol', labelNames: ['protocol'], registers })
  const streamBytes = new Counter({
    name: 'dockward_hijacked_stream_bytes_total',
    help: 'Bytes relayed on hijacked streams, counted when a stream closes, by direction (from_client, to_client)',
    labelNames: ['direction'],
    registers
  })
  const upstreamErrors = new Counter({ name: 'dockward_upstream_errors_total', help: 'Exchanges that failed on the engine\'s side, by error code', labelNames: ['code'], registers })
  new Gauge({
    name: 'dockward_engine_up',
    help: 'Whether the engine answered /_ping at scrape time (1) or not (0)',
    registers,
    async collect () { this.set((await probes.engineUp()) ? 1 : 0) }
  })
  const authFailures = new Counter({ name: 'dockward_authentication_failures_total', help: 'Rejected credentials and missing ones where required, by method (mtls, jwt, token, none)', labelNames: ['method'], registers })
  const policyInfo = new Gauge({ name: 'dockward_policy_info', help: 'The policy in force (always 1; one series)', labelNames: ['policy', 'digest'], registers })
  const reloads = new Counter({ name: 'dockward_policy_reloads_total', help: 'Policy reloads by result (ok, error: the policy in force stayed)', labelNames: ['result'], registers })
  const auditRecords = new Counter({ name: 'dockward_audit_records_total', help: 'Audit records handed to the sink', registers })
  const auditErrors = new Counter({ name: 'dockward_audit_sink_errors_total', help: 'Failed audit writes and reopens', registers })
  const auditLost = new Counter({ name: 'dockward_audit_records_lost_total', help: 'Audit records that could not be written (counted when the sink recovers)', registers })
  const auditHealthy = probes.auditHealthy
  if (auditHealthy !== null) {
    new Gauge({
      name: 'dockward_audit_sink_up',
      help: 'Whether the audit sink can be written (1) or not (0); absent when audit is off',
      registers,
      collect () { this.set(auditHealthy() ? 1 : 0) }
    })
  }
  for (const result of ['ok', 'error']) reloads.inc({ result }, 0)
  auditErrors.inc(0)

  return {
    registry,
    request (operation, verdict, status, seconds) {
      const op = operation ?? UNKNOWN_OPERATION
      requests.inc({ operation: op, decision: verdict, status: String(status) })
      duration.observe({ operation: op }, seconds)
    },
    decided: (seconds) => decision.observe(seconds),
    streamOpened: (protocol) => streams.inc({ protocol }),
    streamClosed (protocol, fromClient, toClient) {
      streams.dec({ protocol })
      streamBytes.inc({ direction: 'from_client' }, fromClient)
      streamBytes.inc({ direction: 'to_client' }, toClient)
    },
    upstreamError: (code) => upstreamErrors.inc({ code }),
    authFailure: (method) => authFailures.inc({ method }),
    policyActive (name, digest) {
      // One series: the old policy's goes when a new one takes over.
      policyInfo.reset()
      policyInfo.set({ policy: name, digest }, 1)
    },
    policyReload: (ok) => reloads.inc({ result: ok ? 'ok' : 'error' }),
    auditWritten: () => auditRecords.inc(),
    auditError: () => auditErrors.inc(),
    auditLost: (count) => auditLost.inc(count)
  }
}
