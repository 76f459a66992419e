import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { ConfigError } from '../../../src/core/errors.ts'
import { opaBundleFromFiles, opaSourceFiles } from '../../../src/decide/opa/opa-bundle.ts'
import { tarGz, type TarEntry } from '../../support/tar.ts'

// The smallest valid module header: magic and version 1.
const WASM = Buffer.from([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00])
const bundle = (entries: TarEntry[]): Buffer => tarGz(entries)
const load = (bytes: Buffer) => opaBundleFromFiles({ kind: 'bundle', file: 'b.tar.gz' }, [bytes])
const fails = (fn: () => unknown, message: RegExp): void => {
  assert.throws(fn, (err: unknown) => err instanceof ConfigError && message.test(err.message))
}

test('a bundle: its module, data merged by directory, manifest revision, digest of the file', () => {
  const bytes = bundle([
    { name: '/policy.wasm', data: WASM },
    { name: '/data.json', data: '{"teams":{"a":1}}' },
    { name: '/teams/data.json', data: '{"b":2}' },
    { name: '/registries/allowed/data.yaml', data: 'list: [docker.io]\n' },
    { name: '/authz.rego', data: 'package docker.authz' },
    { name: '/.manifest', data: '{"revision":"r7","roots":[""]}' }
  ])
  const b = load(bytes)
  assert.deepEqual(b.wasm, WASM)
  assert.deepEqual(b.data, { teams: { a: 1, b: 2 }, registries: { allowed: { list: ['docker.io'] } } })
  assert.equal(b.revision, 'r7')
  assert.equal(b.digest, createHash('sha256').update(bytes).digest('hex'))
})

test('bundle problems are ConfigErrors naming the file', () => {
  fails(() => load(Buffer.from('x')), /^b\.tar\.gz: not a readable OPA bundle: not a gzip file/)
  fails(() => load(bundle([{ name: 'data.json', data: '{}' }])), /exactly one \.wasm module.*this one has none/)
  fails(() => load(bundle([{ name: 'a.wasm', data: WASM }, { name: 'b.wasm', data: WASM }])), /this one has a\.wasm, b\.wasm/)
  fails(() => load(bundle([{ name: 'policy.wasm', data: 'package x' }])), /b\.tar\.gz: policy\.wasm: not a WebAssembly module/)
  fails(() => load(bundle([{ name: 'policy.wasm', data: WASM }, { name: 'patch.json', data: '{}' }])), /delta bundles/)
  fails(() => load(bundle([{ name: 'policy.wasm', data: WASM }, { name: 'data.json', data: '[1]' }])), /data\.json: data must be a JSON object/)
  fails(() => load(bundle([{ name: 'policy.wasm', data: WASM }, { name: 'data.json', data: '{' }])), /data\.json: invalid JSON/)
  fails(() => load(bundle([{ name: 'policy.wasm', data: WASM }, { name: 'data.json', data: '{"a":{"b":1}}' }, { name: 'a/data.json', data: '{"b":2}' }])), /data key a\.b is also set/)
  fails(() => load(bundle([{ name: 'policy.wasm', data: WASM }, { name: 'data.json', data: '{"a":5}' }, { name: 'a/data.json', data: '{"b":2}' }])), /data path a conflicts/)
  fails(() => load(bundle([{ name: 'policy.wasm', data: WASM }, { name: '.manifest', data: '{"revision":3}' }])), /revision must be a string/)
})

test('a data key named __proto__ is data', () => {
  const b = load(bundle([{ name: 'policy.wasm', data: WASM }, { name: 'data.json', data: '{"__proto__":{"x":1}}' }]))
  assert.deepEqual(Object.keys(b.data), ['__proto__'])
  assert.equal(Object.getPrototypeOf(b.data), Object.prototype)
})

test('a bare wasm with optional JSON or YAML data', () => {
  assert.deepEqual(opaSourceFiles({ kind: 'wasm', file: 'p.wasm', data: null }), ['p.wasm'])
  assert.deepEqual(opaSourceFiles({ kind: 'wasm', file: 'p.wasm', data: 'd.json' }), ['p.wasm', 'd.json'])
  const bare = opaBundleFromFiles({ kind: 'wasm', file: 'p.wasm', data: null }, [WASM])
  assert.deepEqual(bare.data, {})
  assert.equal(bare.revision, null)
  assert.deepEqual(opaBundleFromFiles({ kind: 'wasm', file: 'p.wasm', data: 'd.yaml' }, [WASM, Buffer.from('a: 1\n')]).data, { a: 1 })
  fails(() => opaBundleFromFiles({ kind: 'wasm', file: 'p.wasm', data: 'd.yaml' }, [WASM, Buffer.from('a: 1\na: 2\n')]), /d\.yaml: invalid YAML data/)
  fails(() => opaBundleFromFiles({ kind: 'wasm', file: 'p.rego', data: null }, [Buffer.from('package docker.authz\n')]), /p\.rego: not a WebAssembly module/)
})
