import { test } from 'node:test'
import assert from 'node:assert/strict'
import { ConfigError } from '../../../src/core/errors.ts'
import { DEFAULT_OPA_MAX_MEMORY, normalizeEntrypoint, parseOpaSettings, resolveOpaSettings } from '../../../src/decide/opa/opa-settings.ts'

const fails = (fn: () => unknown, message: RegExp): void => {
  assert.throws(fn, (err: unknown) => err instanceof ConfigError && message.test(err.message))
}

test('parses the opa section and applies defaults', () => {
  const input = parseOpaSettings({ bundle: 'a.tar.gz', entrypoint: 'data.dockward.authz.decision', maxMemory: 2 ** 20 }, 'opa')
  assert.deepEqual(resolveOpaSettings(input, 'opa'), { source: { kind: 'bundle', file: 'a.tar.gz' }, entrypoint: 'dockward/authz/decision', maxMemory: 2 ** 20 })
  assert.deepEqual(resolveOpaSettings({ wasm: 'p.wasm' }, 'opa'), { source: { kind: 'wasm', file: 'p.wasm', data: null }, entrypoint: 'docker/authz/allow', maxMemory: DEFAULT_OPA_MAX_MEMORY })
})

test('refuses what would be ignored or ambiguous', () => {
  fails(() => parseOpaSettings({ bundel: 'x' }, 'opa'), /^opa\.bundel: unknown setting/)
  fails(() => parseOpaSettings({ bundle: '' }, 'opa'), /opa\.bundle: expected a non-empty string/)
  fails(() => parseOpaSettings({ maxMemory: 1000 }, 'opa'), /opa\.maxMemory: expected a number of bytes/)
  fails(() => parseOpaSettings('x', 'opa'), /opa: expected a mapping/)
  fails(() => resolveOpaSettings({}, 'opa'), /set exactly one of bundle/)
  fails(() => resolveOpaSettings({ bundle: 'a', wasm: 'b' }, 'opa'), /set exactly one of bundle/)
  fails(() => resolveOpaSettings({ bundle: 'a', data: 'd.json' }, 'opa'), /opa\.data: a bundle carries its own data\.json/)
})

test('entrypoints in every form opa-docker-authz accepts', () => {
  assert.equal(normalizeEntrypoint('docker/authz/allow', 'e'), 'docker/authz/allow')
  assert.equal(normalizeEntrypoint('data.docker.authz.allow', 'e'), 'docker/authz/allow')
  assert.equal(normalizeEntrypoint('/docker/authz/allow', 'e'), 'docker/authz/allow')
  fails(() => normalizeEntrypoint('docker//allow', 'opa.entrypoint'), /opa\.entrypoint: "docker\/\/allow" is not an entrypoint/)
  fails(() => normalizeEntrypoint('a b', 'e'), /not an entrypoint/)
  fails(() => normalizeEntrypoint('', 'e'), /not an entrypoint/)
})
