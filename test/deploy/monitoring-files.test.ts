import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { parse } from 'yaml'
import { createMetrics } from '../../src/observe/metrics.ts'

// The Grafana dashboard and the alert rules name metrics by hand; these tests keep them in step
// with what dockward exports.

const root = new URL('../../deploy/', import.meta.url)

async function exported (): Promise<Set<string>> {
  const m = createMetrics({ engineUp: async () => true, auditHealthy: () => true, version: '0.0.0' })
  const names = new Set<string>()
  for (const metric of await m.registry.getMetricsAsJSON()) names.add(metric.name)
  return names
}

/** Metric names an expression uses (histogram series mapped to their histogram). */
function usedNames (expr: string): string[] {
  return [...expr.matchAll(/\b((?:dockward|process|nodejs)_[a-z0-9_]+)/g)].map((m) => m[1]!.replace(/_(bucket|sum|count)$/, ''))
}

test('every alert rule is complete and uses exported metrics', async () => {
  const names = await exported()
  const doc = parse(readFileSync(new URL('prometheus/dockward-alerts.yaml', root), 'utf8')) as { groups: Array<{ name: string, rules: any[] }> }
  const alerts = doc.groups.flatMap((g) => g.rules)
  for (const wanted of ['DockwardEngineUnreachable', 'DockwardDenySpike', 'DockwardAuditSinkFailing']) {
    assert.ok(alerts.some((r) => r.alert === wanted), wanted)
  }
  for (const rule of alerts) {
    assert.equal(typeof rule.expr, 'string', rule.alert)
    assert.ok(['critical', 'warning'].includes(rule.labels?.severity), rule.alert)
    assert.equal(typeof rule.annotations?.summary, 'string', rule.alert)
    for (const name of usedNames(rule.expr)) assert.ok(names.has(name), `${rule.alert} uses ${name}, which dockward does not export`)
  }
})

test('every dashboard panel queries exported metrics', async () => {
  const names = await exported()
  const dash = JSON.parse(readFileSync(new URL('grafana/dockward-dashboard.json', root), 'utf8')) as { uid: string, panels: any[] }
  assert.equal(dash.uid, 'dockward')
  const exprs = dash.panels.flatMap((p) => (p.targets ?? []).map((t: { expr: string }) => t.expr))
  assert.ok(exprs.length > 10)
  for (const expr of exprs) {
    const used = usedNames(expr)
    assert.ok(used.length > 0, expr)
    for (const name of used) assert.ok(names.has(name), `dashboard uses ${name}, which dockward does not export`)
  }
})
