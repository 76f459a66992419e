import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash, X509Certificate } from 'node:crypto'
import { copyFileSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import http from 'node:http'
import https from 'node:https'
import type tls from 'node:tls'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { resolveAdmin, type AdminInput } from '../../src/admin/admin-settings.ts'
import { startAdminServer, type AdminSources, type CheckResult } from '../../src/admin/admin-server.ts'
import { parseUpstreamUrl } from '../../src/forward/upstream.ts'
import { createMetrics } from '../../src/observe/metrics.ts'
import { parseTlsSettings } from '../../src/listen/tls-settings.ts'
import { makeTestPki } from '../support/certs.ts'

const TOKEN = 'admin-token-for-the-admin-server-test'
const upstream = parseUpstreamUrl('unix:///nonexistent/docker.sock')

interface Answer { status: number, headers: http.IncomingHttpHeaders, body: string, json: any }

function ask (target: { port: number } | { socketPath: string }, method: string, path: string, headers: Record<string, string> = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request({ ...('port' in target ? { host: '127.0.0.1', port: target.port } : target), method, path, headers, agent: false }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (c: string) => { body += c })
      res.on('end', () => {
        let json: any
        try { json = JSON.parse(body) } catch {}
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body, json })
      })
    })
    req.on('error', reject)
    req.end()
  })
}

async function start (t: { after: (fn: () => Promise<void> | void) => void }, input: AdminInput, over: Partial<AdminSources> = {}) {
  const engine: { result: CheckResult } = { result: { ok: true } }
  const reloads: number[] = []
  const sources: AdminSources = {
    metrics: createMetrics({ engineUp: async () => true, auditHealthy: null, version: '0.0.0' }).registry,
    checks: { engine: () => engine.result, policy: () => ({ ok: true }) },
    policy: () => ({ name: 'default', digest: 'abc', source: 'default' }),
    reload: () => { reloads.push(1); return { ok: true, message: 'reloaded', policy: { name: 'default', digest: 'abc', changed: false } } },
    log: () => {},
    ...over
  }
  const server = await startAdminServer(resolveAdmin(input, [], upstream)!, sources)
  t.after(() => server.close())
  const port = Number(server.bound.split(':').pop())
  return { server, port, engine, reloads }
}

const bearer = (token: string): Record<string, string> => ({ Authorization: `Bearer ${token}` })
const sha = (s: string): string => createHash('sha256').update(s).digest('hex')

test('healthz, metrics and policy answer; unknown paths are 404 in the engine format', async (t) => {
  const { port } = await start(t, { listen: 'tcp://127.0.0.1:0' })
  assert.deepEqual((await ask({ port }, 'GET', '/healthz')).json, { status: 'ok' })
  const m = await ask({ port }, 'GET', '/metrics')
  assert.equal(m.status, 200)
  assert.match(m.headers['content-type'] ?? '', /^text\/plain; version=0\.0\.4/)
  assert.match(m.body, /dockward_build_info\{version="0\.0\.0"\} 1/)
  assert.deepEqual((await ask({ port }, 'GET', '/policy')).json, { name: 'default', digest: 'abc', source: 'default' })
  const missing = await ask({ port }, 'GET', '/nope')
  assert.equal(missing.status, 404)
  assert.deepEqual(missing.json, { message: 'page not found' })
})

test('readyz: 200 when every check passes, else 503 naming the failed check', async (t) => {
  const { port, engine } = await start(t, { listen: 'tcp://127.0.0.1:0' })
  const ok = await ask({ port }, 'GET', '/readyz')
  assert.equal(ok.status, 200)
  assert.equal(ok.json.status, 'ready')
  engine.result = { ok: false, detail: 'cannot reach unix:///x: ENOENT' }
  const bad = await ask({ port }, 'GET', '/readyz')
  assert.equal(bad.status, 503)
  assert.match(bad.json.message, /^dockward is not ready: engine \(cannot reach unix:\/\/\/x: ENOENT\)$/)
  assert.equal(bad.json.checks.engine.ok, false)
  assert.equal(bad.json.checks.policy.ok, true)
})

test('reload: never without the token; 401 for a wrong or missing one, 403 when no token is configured', async (t) => {
  const none = await start(t, { listen: 'tcp://127.0.0.1:0' })
  const disabled = await ask({ port: none.port }, 'POST', '/reload', bearer(TOKEN))
  assert.equal(disabled.status, 403)
  assert.match(disabled.json.message, /has no token/)
  assert.equal(none.reloads.length, 0)

  const withHash = await start(t, { listen: 'tcp://127.0.0.1:0', tokenSha256: sha(TOKEN) })
  for (const headers of [{}, bearer('wrong-token-of-some-length'), bearer(''), { Authorization: `Basic ${TOKEN}` }]) {
    const r = await ask({ port: withHash.port }, 'POST', '/reload', headers)
    assert.equal(r.status, 401, JSON.stringify(headers))
    assert.equal(r.headers['www-authenticate'], 'Bearer')
  }
  assert.equal(withHash.reloads.length, 0)
  const ok = await ask({ port: withHash.port }, 'POST', '/reload', bearer(TOKEN))
  assert.equal(ok.status, 200)
  assert.equal(ok.json.ok, true)
  assert.equal(withHash.reloads.length, 1)
  // GET is not a reload.
  assert.equal((await ask({ port: withHash.port }, 'GET', '/reload', bearer(TOKEN))).status, 404)
})

test('a failed reload is 422 with what stayed in force', async (t) => {
  const { port } = await start(t, { listen: 'tcp://127.0.0.1:0', tokenSha256: sha(TOKEN) }, {
    reload: () => ({ ok: false, message: 'reload incomplete, keeping what was in force for: policy: bad rule', policy: { name: 'default', digest: 'abc', changed: false } })
  })
  const r = await ask({ port }, 'POST', '/reload', bearer(TOKEN))
  assert.equal(r.status, 422)
  assert.match(r.json.message, /policy: bad rule/)
})

test('a token file is read at start and again by reloadToken()', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'dw-admin-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  const file = join(dir, 'token')
  writeFileSync(file, `${TOKEN}\n`)
  const { server, port } = await start(t, { listen: 'tcp://127.0.0.1:0', tokenFile: file })
  assert.equal((await ask({ port }, 'POST', '/reload', bearer(TOKEN))).status, 200)
  writeFileSync(file, 'a-new-token-after-rotation')
  server.reloadToken()
  assert.equal((await ask({ port }, 'POST', '/reload', bearer(TOKEN))).status, 401)
  assert.equal((await ask({ port }, 'POST', '/reload', bearer('a-new-token-after-rotation'))).status, 200)
  writeFileSync(file, 'short')
  assert.throws(() => server.reloadToken(), /at least 16 characters/)
  assert.equal((await ask({ port }, 'POST', '/reload', bearer('a-new-token-after-rotation'))).status, 200)
})

test('protected reads (off loopback with a token) need the token; the probes do not', async (t) => {
  // Loopback here, with protectReads as resolveAdmin sets it for a tls:// address off loopback.
  const config = { ...resolveAdmin({ listen: 'tcp://127.0.0.1:0', tokenSha256: sha(TOKEN) }, [], upstream)!, protectReads: true }
  const server = await startAdminServer(config, {
    metrics: createMetrics({ engineUp: async () => true, auditHealthy: null, version: '0.0.0' }).registry,
    checks: { policy: () => ({ ok: true, detail: 'default (sha256 abc)' }) },
    policy: () => ({ name: 'p', digest: 'd', source: 's' }),
    reload: () => ({ ok: true, message: '', policy: { name: 'p', digest: 'd', changed: false } }),
    log: () => {}
  })
  t.after(() => server.close())
  const port = Number(server.bound.split(':').pop())
  // The probe answers everyone, but what is in force only token holders.
  assert.doesNotMatch((await ask({ port }, 'GET', '/readyz')).body, /sha256/)
  assert.match((await ask({ port }, 'GET', '/readyz', bearer(TOKEN))).body, /sha256 abc/)
  // Web pages are refused, a rebound name too, as on the proxied listeners.
  assert.equal((await ask({ port }, 'GET', '/readyz', { origin: 'http://evil.example' })).status, 403)
  assert.equal((await ask({ port }, 'GET', '/metrics', { host: 'evil.example', ...bearer(TOKEN) })).status, 403)
  assert.equal((await ask({ port }, 'GET', '/metrics')).status, 401)
  assert.equal((await ask({ port }, 'GET', '/policy')).status, 401)
  assert.equal((await ask({ port }, 'GET', '/metrics', bearer(TOKEN))).status, 200)
  assert.equal((await ask({ port }, 'GET', '/healthz')).status, 200)
  assert.equal((await ask({ port }, 'GET', '/readyz')).status, 200)
})

test('a unix socket gets its mode', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'dw-admin-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  const path = join(dir, 'admin.sock')
  await start(t, { listen: `unix://${path}?mode=0600` })
  assert.equal(statSync(path).mode & 0o777, 0o600)
  assert.equal((await ask({ socketPath: path }, 'GET', '/healthz')).status, 200)
})

test('a tls:// admin listener takes a renewed certificate on reloadTls(), and keeps it when the files are wrong', async (t) => {
  const pki = makeTestPki()
  t.after(pki.cleanup)
  const dir = mkdtempSync(join(tmpdir(), 'dw-admin-tls-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  const files = { cert: join(dir, 'server.pem'), key: join(dir, 'server-key.pem') }
  copyFileSync(pki.server.cert, files.cert)
  copyFileSync(pki.server.key, files.key)
  const { server, port } = await start(t, { listen: 'tls://127.0.0.1:0', tls: parseTlsSettings({ ...files, clientCa: pki.ca.cert }, 'admin.tls') })
  const served = (): Promise<{ fingerprint: string, status: number }> => new Promise((resolve, reject) => {
    const req = https.request({ host: '127.0.0.1', port, path: '/healthz', agent: false, ca: readFileSync(pki.ca.cert), cert: readFileSync(pki.alice.cert), key: readFileSync(pki.alice.key) }, (res) => {
      const fingerprint = (res.socket as tls.TLSSocket).getPeerX509Certificate()!.fingerprint256
      res.resume()
      res.on('end', () => resolve({ fingerprint, status: res.statusCode ?? 0 }))
    })
    req.on('error', reject)
    req.end()
  })
  const fingerprint = (path: string): string => new X509Certificate(readFileSync(path)).fingerprint256
  assert.deepEqual(await served(), { fingerprint: fingerprint(pki.server.cert), status: 200 })

  const renewed = pki.issue('admin-renewed', { cn: '127.0.0.1', eku: 'serverAuth', san: ['IP:127.0.0.1'] })
  copyFileSync(renewed.cert, files.cert)
  copyFileSync(renewed.key, files.key)
  server.reloadTls()
  assert.deepEqual(await served(), { fingerprint: fingerprint(renewed.cert), status: 200 })

  copyFileSync(pki.alice.key, files.key)
  assert.throws(() => server.reloadTls(), /does not belong to the certificate/)
  assert.deepEqual(await served(), { fingerprint: fingerprint(renewed.cert), status: 200 })
})
