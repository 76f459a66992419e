import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createMetrics } from '../../src/observe/metrics.ts'
import { metricSamples as samples } from '../support/metrics-text.ts'

function make (engine = true, audit: boolean | null = true) {
  return createMetrics({ engineUp: async () => engine, auditHealthy: audit === null ? null : () => audit, version: '9.9.9' })
}

test('requests are counted by operation, decision and status; unrouted ones as unknown', async () => {
  const m = make()
  m.request('ContainerCreate', 'allow', 201, 0.01)
  m.request('ContainerCreate', 'allow', 201, 0.02)
  m.request('ContainerCreate', 'deny', 403, 0.001)
  m.request(null, 'none', 404, 0.0001)
  const s = samples(await m.registry.metrics())
  assert.equal(s.get('dockward_requests_total{operation="ContainerCreate",decision="allow",status="201"}'), 2)
  assert.equal(s.get('dockward_requests_total{operation="ContainerCreate",decision="deny",status="403"}'), 1)
  assert.equal(s.get('dockward_requests_total{operation="unknown",decision="none",status="404"}'), 1)
  assert.equal(s.get('dockward_request_duration_seconds_count{operation="ContainerCreate"}'), 3)
})

test('the hijack gauge goes up and down, bytes are counted per direction', async () => {
  const m = make()
  m.streamOpened('tcp')
  m.streamOpened('tcp')
  let s = samples(await m.registry.metrics())
  assert.equal(s.get('dockward_hijacked_streams_active{protocol="tcp"}'), 2)
  m.streamClosed('tcp', 10, 20)
  m.streamClosed('tcp', 1, 2)
  s = samples(await m.registry.metrics())
  assert.equal(s.get('dockward_hijacked_streams_active{protocol="tcp"}'), 0)
  assert.equal(s.get('dockward_hijacked_stream_bytes_total{direction="from_client"}'), 11)
  assert.equal(s.get('dockward_hijacked_stream_bytes_total{direction="to_client"}'), 22)
})

test('engine and audit availability are read at scrape time', async () => {
  let s = samples(await make(false, false).registry.metrics())
  assert.equal(s.get('dockward_engine_up'), 0)
  assert.equal(s.get('dockward_audit_sink_up'), 0)
  s = samples(await make(true, true).registry.metrics())
  assert.equal(s.get('dockward_engine_up'), 1)
  assert.equal(s.get('dockward_audit_sink_up'), 1)
  s = samples(await make(true, null).registry.metrics())
  assert.equal(s.has('dockward_audit_sink_up'), false)
})

test('the policy info gauge holds one series, the one in force', async () => {
  const m = make()
  m.policyActive('default', 'aaa')
  m.policyActive('default', 'bbb')
  m.policyReload(true)
  m.policyReload(false)
  const s = samples(await m.registry.metrics())
  assert.equal(s.get('dockward_policy_info{policy="default",digest="bbb"}'), 1)
  assert.equal(s.has('dockward_policy_info{policy="default",digest="aaa"}'), false)
  assert.equal(s.get('dockward_policy_reloads_total{result="ok"}'), 1)
  assert.equal(s.get('dockward_policy_reloads_total{result="error"}'), 1)
})

test('authentication failures, upstream errors, audit counters, process metrics, build info', async () => {
  const m = make()
  m.authFailure('token')
  m.upstreamError('DW_ERR_UPSTREAM_UNAVAILABLE')
  m.auditWritten()
  m.auditError()
  m.auditLost(3)
  m.decided(0.00002)
  const s = samples(await m.registry.metrics())
  assert.equal(s.get('dockward_authentication_failures_total{method="token"}'), 1)
  assert.equal(s.get('dockward_upstream_errors_total{code="DW_ERR_UPSTREAM_UNAVAILABLE"}'), 1)
  assert.equal(s.get('dockward_audit_records_total'), 1)
  assert.equal(s.get('dockward_audit_sink_errors_total'), 1)
  assert.equal(s.get('dockward_audit_records_lost_total'), 3)
  assert.equal(s.get('dockward_policy_decision_duration_seconds_count'), 1)
  assert.equal(s.get('dockward_build_info{version="9.9.9"}'), 1)
  assert.ok(s.has('process_cpu_user_seconds_total'))
  assert.ok([...s.keys()].some((k) => k.startsWith('nodejs_heap_size_total_bytes')))
})
