import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ConfigError } from '../../../src/core/errors.ts'
import { resolveOpaSettings } from '../../../src/decide/opa/opa-settings.ts'
import { createOpaStore } from '../../../src/decide/opa/opa-store.ts'
import type { PolicyInput } from '../../../src/decide/policy-input.ts'
import type { ReloadResult } from '../../../src/decide/reloading-store.ts'
import { anonymousIdentity } from '../../../src/identify/identity.ts'
import { opaTestBundle, opaTestModule } from '../../support/opa-test-module.ts'

const input: PolicyInput = { identity: anonymousIdentity, operation: 'ContainerList', method: 'GET', path: '/containers/json', version: null, params: {}, query: {}, body: undefined, facts: {}, listener: 'unix:///t.sock' }

test('reload swaps the bundle; a broken one or one without the entrypoint keeps the policy in force', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'dw-opa-store-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  const file = join(dir, 'b.tar.gz')
  writeFileSync(file, await opaTestBundle({ minor: 2 }))
  const results: ReloadResult[] = []
  const store = createOpaStore(resolveOpaSettings({ bundle: file, entrypoint: 'dockward/authz' }, 'opa'), { onReload: (r) => results.push(r) })
  assert.equal(store.current().decide(input).ruleId, 'wat-allow')

  writeFileSync(file, await opaTestBundle({ minor: 1, locked: true }))
  assert.equal(store.reload().ok, true)
  assert.equal(store.current().decide(input).ruleId, 'wat-locked')
  assert.equal(store.current().abiVersion, '1.1')

  writeFileSync(file, Buffer.from('garbage'))
  const broken = store.reload()
  assert.ok(!broken.ok && /b\.tar\.gz: not a readable OPA bundle/.test(broken.error.message))
  assert.equal(store.current().decide(input).ruleId, 'wat-locked')

  rmSync(file)
  const gone = store.reload()
  assert.ok(!gone.ok && /cannot read OPA policy file \(ENOENT\)/.test(gone.error.message))
  assert.equal(store.current().decide(input).ruleId, 'wat-locked')
  assert.equal(results.length, 3)
})

test('a wasm and its data file are reloaded together; the first load throws', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'dw-opa-store-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  const wasm = join(dir, 'policy.wasm')
  const data = join(dir, 'data.json')
  writeFileSync(wasm, await opaTestModule({ minor: 2 }))
  writeFileSync(data, '{"v":1}')
  const store = createOpaStore(resolveOpaSettings({ wasm, data, entrypoint: 'dockward/data' }, 'opa'))
  assert.equal(store.current().decide(input).reason, '{"v":1}')
  writeFileSync(data, '{"v":2}')
  store.reload()
  assert.equal(store.current().decide(input).reason, '{"v":2}')
  assert.throws(() => createOpaStore(resolveOpaSettings({ wasm, data, entrypoint: 'nope' }, 'opa')), (err: unknown) => err instanceof ConfigError && /entrypoint "nope" is not in this policy/.test(err.message))
})
