import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { groupByOperation, operationRefNames, operationsByGroup, resolveOperationRef } from '../../src/decide/operation-groups.ts'
import { routeTable } from '../../src/route/route-table.ts'

test('every route-table operation and alias has exactly one group', () => {
  for (const route of routeTable) {
    assert.ok(groupByOperation.has(route.operation), `${route.operation} has no group`)
    for (const alias of route.aliases ?? []) {
      assert.deepEqual(resolveOperationRef(alias), [route.operation], `alias ${alias}`)
    }
  }
})

test('the table names no operation the route table lacks', () => {
  const known = new Set(routeTable.map((r) => r.operation))
  for (const op of groupByOperation.keys()) assert.ok(known.has(op), `${op} is not in the route table`)
})

test('group, family and operation names cannot collide', () => {
  for (const op of groupByOperation.keys()) assert.match(op, /^[A-Z]/)
  for (const group of operationsByGroup.keys()) assert.match(group, /^[a-z]+(\.[a-z]+)?$/)
  const names = operationRefNames()
  assert.equal(new Set(names).size, names.length, 'a name stands for two things')
})

test('groups, families and operations resolve', () => {
  assert.deepEqual(resolveOperationRef('ContainerCreate'), ['ContainerCreate'])
  assert.deepEqual(resolveOperationRef('containers.files'), ['ContainerArchive', 'ContainerArchiveInfo', 'PutContainerArchive', 'ContainerExport'])
  assert.deepEqual(resolveOperationRef('exec'), ['ContainerExec', 'ExecStart', 'ExecResize', 'ExecInspect'])
  const containers = resolveOperationRef('containers')
  assert.ok(containers !== null)
  assert.equal(containers.length, routeTable.filter((r) => r.operation.startsWith('Container') && r.operation !== 'ContainerExec').length + 1)
  assert.equal(resolveOperationRef('containerz'), null)
  assert.equal(resolveOperationRef('containercreate'), null)
})

test('read groups hold nothing that copies file contents, logs or changes state', () => {
  const readGroups = [...operationsByGroup.keys()].filter((g) => g.endsWith('.read'))
  const forbidden = ['ContainerArchive', 'ContainerArchiveInfo', 'PutContainerArchive', 'ContainerExport', 'ImageGet', 'ImageGetAll', 'ContainerLogs', 'ServiceLogs', 'TaskLogs', 'SwarmInspect', 'SwarmUnlockkey']
  for (const g of readGroups) {
    for (const op of operationsByGroup.get(g)!) {
      assert.ok(!forbidden.includes(op), `${op} in ${g}`)
      const route = routeTable.find((r) => r.operation === op)!
      assert.ok(route.method === 'GET' || route.method === 'HEAD' || op === 'ContainerWait', `${op} in ${g} is ${route.method}`)
    }
  }
})

test('the groups table in policies/README.md lists every group with its operations', () => {
  const readme = readFileSync(new URL('../../policies/README.md', import.meta.url), 'utf8')
  for (const [group, ops] of operationsByGroup) {
    const row = readme.split('\n').find((l) => l.startsWith(`| \`${group}\` |`))
    assert.ok(row !== undefined, `no README row for ${group}`)
    for (const op of ops) assert.ok(row.includes(op), `README row of ${group} lacks ${op}`)
  }
})
