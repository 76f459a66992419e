import { test } from 'node:test'
import assert from 'node:assert/strict'
import { ConfigError } from '../../../src/core/errors.ts'
import type { OpaBundle } from '../../../src/decide/opa/opa-bundle.ts'
import { createOpaEngine, OPA_ERROR_RULE } from '../../../src/decide/opa/opa-engine.ts'
import type { PolicyInput } from '../../../src/decide/policy-input.ts'
import { anonymousIdentity } from '../../../src/identify/identity.ts'
import { JsonNumber } from '../../../src/inspect/json-value.ts'
import { assembleWat, opaTestModule, opaTestWat } from '../../support/opa-test-module.ts'

const MiB = 1024 * 1024

function bundle (wasm: Uint8Array, data: Record<string, unknown> = {}): OpaBundle {
  return { label: 'test.wasm', wasm: Buffer.from(wasm), data, digest: 'd1', revision: null }
}

function input (more: Partial<PolicyInput> = {}): PolicyInput {
  return { identity: anonymousIdentity, operation: 'ContainerCreate', method: 'POST', path: '/containers/create', version: '1.41', params: {}, query: {}, body: { Image: 'busybox' }, facts: { privileged: false }, listener: 'unix:///t.sock', ...more }
}

const fails = (fn: () => unknown, message: RegExp): void => {
  assert.throws(fn, (err: unknown) => err instanceof ConfigError && message.test(err.message), String(message))
}

for (const minor of [1, 2] as const) {
  test(`ABI 1.${minor}: entrypoints, results and details`, async () => {
    const wasm = await opaTestModule({ minor })
    const errors: string[] = []
    const engine = createOpaEngine(bundle(wasm, { who: 'ops' }), { entrypoint: 'dockward/authz', maxMemory: 64 * MiB, onError: (m) => errors.push(m) })
    assert.equal(engine.abiVersion, `1.${minor}`)
    assert.deepEqual(engine.entrypoints, ['docker/authz/allow', 'dockward/authz', 'dockward/data'])
    assert.deepEqual(engine.decide(input()), {
      allow: true,
      wouldDeny: false,
      ruleId: 'wat-allow',
      reason: 'allowed by the WAT module',
      trail: [{ ruleId: 'wat-allow', action: 'allow', mode: 'enforce', reason: 'allowed by the WAT module' }],
      policyDigest: 'd1',
      details: { module: 'wat' }
    })
    const denied = engine.decide(input({ body: { HostConfig: { Privileged: true } } }))
    assert.equal(denied.ruleId, 'wat-privileged')
    assert.equal(denied.reason, 'privileged containers are denied by the WAT module (data: {"who":"ops"})')

    // A trap, then the same engine decides the next request normally (a fresh instance).
    const trapped = engine.decide(input({ query: { name: ['opa-trap'] } }))
    assert.equal(trapped.allow, false)
    assert.equal(trapped.ruleId, OPA_ERROR_RULE)
    assert.deepEqual(trapped.details, { error: 'wasm trap: unreachable' })
    assert.match(errors[0]!, /^OPA policy test\.wasm \(dockward\/authz\) failed on ContainerCreate POST \/containers\/create, denied: wasm trap: unreachable$/)
    assert.equal(engine.decide(input()).allow, true)

    const data = createOpaEngine(bundle(wasm, { who: 'ops' }), { entrypoint: 'dockward/data', maxMemory: 64 * MiB })
    assert.equal(data.decide(input()).reason, '{"who":"ops"}')
  })
}

test('numbers reach the policy with the digits the client sent', async () => {
  const engine = createOpaEngine(bundle(await opaTestModule({ minor: 2 })), { entrypoint: 'dockward/authz', maxMemory: 64 * MiB })
  const d = engine.decide(input({ query: { name: ['opa-echo'] }, body: { HostConfig: { Memory: new JsonNumber('9223372036854775807') } } }))
  assert.match(d.reason, /"Body":\{"HostConfig":\{"Memory":9223372036854775807\}\}/)
})

test('memory is capped by maxMemory: a larger input denies, a small one after it is decided', async () => {
  const errors: string[] = []
  const engine = createOpaEngine(bundle(await opaTestModule({ minor: 2 })), { entrypoint: 'dockward/authz', maxMemory: MiB, onError: (m) => errors.push(m) })
  const d = engine.decide(input({ body: { Cmd: ['x'.repeat(2 * MiB)] } }))
  assert.equal(d.ruleId, OPA_ERROR_RULE)
  assert.match(errors[0]!, /RangeError/)
  assert.equal(engine.decide(input()).allow, true)
})

test('load problems are ConfigErrors: not wasm, not OPA, wrong ABI, missing entrypoint', async () => {
  const base = { entrypoint: 'dockward/authz', maxMemory: 64 * MiB }
  fails(() => createOpaEngine(bundle(Buffer.from([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 9])), base), /^test\.wasm: policy\.wasm is not a valid WebAssembly module \(CompileError/)
  const wat = opaTestWat({ minor: 2 })
  const notOpa = bundle(await assembleWat('(module (func (export "f")))'))
  const abi2 = bundle(await assembleWat(wat.replace('(global (export "opa_wasm_abi_version") i32 (i32.const 1))', '(global (export "opa_wasm_abi_version") i32 (i32.const 2))')))
  const noEval = bundle(await assembleWat(wat.replace('(export "opa_eval")', '')))
  const ownMemory = bundle(await assembleWat(wat.replace('(import "env" "memory" (memory 2))', '').replace('(global $heap', '(memory 2) (global $heap')))
  const v11 = bundle(await opaTestModule({ minor: 1 }))
  fails(() => createOpaEngine(notOpa, base), /not an OPA policy module: it lacks opa_wasm_abi_version, .*opa_heap_ptr_set/)
  fails(() => createOpaEngine(abi2, base), /could not be loaded \(unsupported ABI version 2\)/)
  fails(() => createOpaEngine(noEval, base), /declares OPA wasm ABI 1\.2 but lacks opa_eval/)
  fails(() => createOpaEngine(ownMemory, base), /does not import env\.memory/)
  fails(() => createOpaEngine(v11, { ...base, entrypoint: 'docker/authz/deny' }),
    /entrypoint "docker\/authz\/deny" is not in this policy \(it has docker\/authz\/allow, dockward\/authz, dockward\/data\); build with "opa build -t wasm -e docker\/authz\/deny"/)
})
