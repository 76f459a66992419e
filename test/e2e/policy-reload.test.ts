import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import http from 'node:http'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { engineRequest, requireEngine, type TestEngine } from '../support/engine.ts'
import { startDockward, type RunningDockward } from '../support/dockward.ts'
import { uniqueName } from '../support/cli.ts'

// Policy reload in a running dockward: a file change and SIGHUP swap the policy for the next
// request, a broken file keeps the old one, and a stream opened before the reload goes on.

const engine = requireEngine('policy-reload')

const policy = (listAllowed: boolean): string => `policy: reload-test
version: 1
rules:
  - id: ${listAllowed ? 'allow-lists' : 'deny-lists'}
    ${listAllowed ? 'allow: true' : 'deny: lists are closed today'}
    match:
      operations: [ContainerList]
  - id: allow-rest
    allow: true
`

function status (socketPath: string, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    http.get({ socketPath, path, agent: false }, (res) => { res.resume(); res.on('end', () => resolve(res.statusCode ?? 0)) }).on('error', reject)
  })
}

async function until (what: string, check: () => Promise<boolean>, ms = 5000): Promise<void> {
  const end = Date.now() + ms
  while (Date.now() < end) {
    if (await check()) return
    await new Promise((r) => setTimeout(r, 50))
  }
  throw new Error(`timed out waiting for ${what}`)
}

if (engine === null) {
  test('policy reload', { skip: 'no engine' }, () => {})
} else {
  suite(engine)
}

function suite (eng: TestEngine): void {
  describe('policy reload in a running dockward', () => {
    let dw: RunningDockward
    let dir: string
    let file: string

    before(async () => {
      dir = mkdtempSync(join(tmpdir(), 'dw-reload-'))
      file = join(dir, 'policy.yaml')
      writeFileSync(file, policy(false))
      dw = await startDockward({ upstream: eng.dockerHost, extraArgs: ['--policy', file] })
    })
    after(async () => {
      await dw.stop()
      rmSync(dir, { recursive: true, force: true })
    })

    test('a file change applies to the next request; an open event stream is not affected', async () => {
      assert.equal(await status(dw.socketPath, '/containers/json'), 403)
      // An event stream opened under the old policy.
      const events: string[] = []
      const stream = http.get({ socketPath: dw.socketPath, path: '/events', agent: false })
      const response = await new Promise<http.IncomingMessage>((resolve) => stream.on('response', resolve))
      assert.equal(response.statusCode, 200)
      response.setEncoding('utf8')
      response.on('data', (s: string) => events.push(s))

      writeFileSync(file, policy(true))
      await until('the new policy', async () => await status(dw.socketPath, '/containers/json') === 200)
      assert.match(dw.stderr(), /policy reloaded/)

      const name = uniqueName('dw-reload')
      assert.equal((await engineRequest(eng, 'POST', `/containers/create?name=${name}`, { Image: eng.image, Cmd: ['true'] })).status, 201)
      await engineRequest(eng, 'DELETE', `/containers/${name}`)
      await until('the event on the old stream', async () => events.join('').includes(name))
      response.destroy()
    })

    test('a broken file keeps the policy in force, and says why', async () => {
      writeFileSync(file, 'policy: broken\nversion: 1\nrules:\n  - id: x\n    alow: true\n')
      await until('the failure report', async () => /policy reload failed.*alow/.test(dw.stderr()))
      assert.equal(await status(dw.socketPath, '/containers/json'), 200)
    })

    test('SIGHUP reloads', async () => {
      writeFileSync(file, policy(false))
      await until('the watcher', async () => await status(dw.socketPath, '/containers/json') === 403)
      const before = (dw.stderr().match(/policy reloaded/g) ?? []).length
      process.kill(dw.pid, 'SIGHUP')
      await until('the SIGHUP reload', async () => (dw.stderr().match(/policy reloaded/g) ?? []).length > before)
      assert.equal(await status(dw.socketPath, '/containers/json'), 403)
    })
  })
}

if (engine !== null) {
  describe('an audit-only policy in a running dockward', () => {
    let dw: RunningDockward
    let dir: string
    before(async () => {
      dir = mkdtempSync(join(tmpdir(), 'dw-audit-'))
      const file = join(dir, 'audit.yaml')
      writeFileSync(file, `policy: audit
version: 1
rules:
  - id: deny-lists-audited
    deny: lists would be closed
    mode: audit-only
    match:
      operations: [ContainerList]
  - id: allow-rest
    allow: true
`)
      dw = await startDockward({ upstream: engine.dockerHost, extraArgs: ['--policy', file] })
    })
    after(async () => {
      await dw.stop()
      rmSync(dir, { recursive: true, force: true })
    })

    test('a would-deny request is let through and logged with its rule', async () => {
      assert.equal(await status(dw.socketPath, '/containers/json'), 200)
      await until('the would-deny line', async () => /audit-only: would deny ContainerList GET \/containers\/json \(deny-lists-audited: lists would be closed\)/.test(dw.stderr()))
      assert.equal(await status(dw.socketPath, '/_ping'), 200)
    })
  })
}
