import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ConfigError } from '../../src/core/errors.ts'
import { createPolicyStore, type ReloadResult } from '../../src/decide/policy-store.ts'

const policyText = (name: string): string => `policy: ${name}\nversion: 1\nrules:\n  - id: allow-${name}\n    allow: true\n`

function tempPolicy (text: string): { dir: string, file: string, [Symbol.dispose]: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'dw-policy-store-'))
  const file = join(dir, 'policy.yaml')
  writeFileSync(file, text)
  return { dir, file, [Symbol.dispose]: () => rmSync(dir, { recursive: true, force: true }) }
}

/** Resolves with the next onReload result, or rejects after `ms`. */
function nextReload (results: ReloadResult[], ms = 3000): Promise<ReloadResult> {
  const seen = results.length
  return new Promise((resolve, reject) => {
    const started = Date.now()
    const poll = setInterval(() => {
      if (results.length > seen) { clearInterval(poll); resolve(results[seen]!) }
      else if (Date.now() - started > ms) { clearInterval(poll); reject(new Error('no reload reported')) }
    }, 5)
  })
}

test('the first load throws a ConfigError with the position', () => {
  using t = tempPolicy('policy: p\nversion: 1\nrules:\n  - id: a\n    deny:\n')
  assert.throws(() => createPolicyStore(t.file), (err: unknown) => err instanceof ConfigError && /policy\.yaml:5:5: rules\[0\]\.deny: a deny rule needs a reason/.test(err.message))
  assert.throws(() => createPolicyStore(join(t.dir, 'missing.yaml')), (err: unknown) => err instanceof ConfigError && /cannot read policy file \(ENOENT\)/.test(err.message))
})

test('reload swaps the policy; a failing reload keeps the old one', () => {
  using t = tempPolicy(policyText('one'))
  const results: ReloadResult[] = []
  const store = createPolicyStore(t.file, { onReload: (r) => results.push(r) })
  const first = store.current()
  assert.equal(first.name, 'one')

  const same = store.reload()
  assert.deepEqual(same, { ok: true, digest: first.digest, changed: false })

  writeFileSync(t.file, policyText('two'))
  const two = store.reload()
  assert.equal(two.ok && two.changed, true)
  assert.equal(store.current().name, 'two')

  writeFileSync(t.file, 'policy: three\nversion: 1\nrules:\n  - id: x\n    allw: true\n')
  const bad = store.reload()
  assert.equal(bad.ok, false)
  assert.ok(!bad.ok && /policy\.yaml:5:5: rules\[0\]\.allw: unknown key/.test(bad.error.message))
  assert.equal(store.current().name, 'two', 'the old policy stays in force')

  rmSync(t.file)
  const gone = store.reload()
  assert.ok(!gone.ok && /ENOENT/.test(gone.error.message))
  assert.equal(store.current().name, 'two')
  assert.equal(results.length, 4, 'every reload is reported')
})

test('shipped names load from the package', () => {
  const store = createPolicyStore('read-only')
  assert.equal(store.current().name, 'read-only')
  assert.equal(store.reload().ok, true)
})

test('watch: an in-place write and an editor-style rename both reload; failures keep the old policy', async () => {
  using t = tempPolicy(policyText('one'))
  const results: ReloadResult[] = []
  const store = createPolicyStore(t.file, { onReload: (r) => results.push(r), debounceMs: 30 })
  const stop = store.watch()
  try {
    // In place.
    let next = nextReload(results)
    writeFileSync(t.file, policyText('two'))
    let r = await next
    assert.equal(r.ok && r.changed, true)
    assert.equal(store.current().name, 'two')

    // Write a temporary file and rename it over the policy (vim, VS Code, atomic writers).
    next = nextReload(results)
    writeFileSync(join(t.dir, '.policy.yaml.swp'), policyText('three'))
    renameSync(join(t.dir, '.policy.yaml.swp'), t.file)
    r = await next
    assert.equal(r.ok, true)
    assert.equal(store.current().name, 'three')

    // A broken save is reported once and the policy in force stays.
    next = nextReload(results)
    writeFileSync(t.file, 'policy: four\nversion: 3\nrules: []\n')
    r = await next
    assert.ok(!r.ok && /policy\.yaml:2:10: version: unsupported/.test(r.error.message))
    assert.equal(store.current().name, 'three')

    // Unrelated files in the directory and rewrites of the same bytes are silent.
    const count = results.length
    writeFileSync(join(t.dir, 'other.txt'), 'x')
    writeFileSync(t.file, 'policy: four\nversion: 3\nrules: []\n')
    await new Promise((resolve) => setTimeout(resolve, 200))
    assert.equal(results.length, count)

    // Deleted: reported once (after a second look), the policy in force stays.
    next = nextReload(results)
    rmSync(t.file)
    r = await next
    assert.ok(!r.ok && /ENOENT/.test(r.error.message))
    assert.equal(store.current().name, 'three')

    // Fixed again.
    next = nextReload(results)
    writeFileSync(t.file, policyText('five'))
    r = await next
    assert.equal(r.ok, true)
    assert.equal(store.current().name, 'five')
  } finally {
    stop()
  }
  // Stopped: further changes are not picked up.
  writeFileSync(t.file, policyText('six'))
  await new Promise((resolve) => setTimeout(resolve, 150))
  assert.equal(store.current().name, 'five')
})
