import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { X509Certificate } from 'node:crypto'
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import type http from 'node:http'
import https from 'node:https'
import net from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import tls from 'node:tls'
import { parseListenUrl } from '../../src/listen/listen-address.ts'
import { startListener, type Listener, type RequestSink } from '../../src/listen/listeners.ts'
import { loadSecureContextOptions, parseTlsSettings, type TlsSettings } from '../../src/listen/tls-settings.ts'
import { createMtlsAuthenticator } from '../../src/identify/mtls-authenticator.ts'
import { DEFAULT_LIMITS, type Limits } from '../../src/config/config.ts'
import { ConfigError } from '../../src/core/errors.ts'
import { makeTestPki, type CertFiles } from '../support/certs.ts'
import { cliMissing, docker, DOCKER_CLIS } from '../support/cli.ts'

// One PKI for the file: generating keys is the slow part.
const pki = makeTestPki()
process.once('exit', pki.cleanup)

const mtls = createMtlsAuthenticator({ name: 'cn', groupsFrom: 'ou' })

/**
 * A stand-in for the gateway: answers every request with what the mTLS authenticator makes of it,
 * and an upgrade by echoing what the client sent once the client has half-closed.
 */
function identitySink (prefaces: string[] = []): RequestSink {
  return {
    request: (req, res) => {
      void Promise.resolve(mtls.authenticate(req)).then((outcome) => {
        res.setHeader('content-type', 'application/json')
        res.end(JSON.stringify(outcome))
      })
    },
    upgrade: (_req, socket, head) => {
      socket.write('HTTP/1.1 101 UPGRADED\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n')
      let input = head.toString('latin1')
      socket.on('data', (c: Buffer) => { input += c.toString('latin1') })
      // The client is done writing; its output must still reach it (docker exec -i).
      socket.on('end', () => setTimeout(() => socket.end(`echo:${input}`), 50))
      socket.on('error', () => socket.destroy())
      socket.resume()
    },
    preface: (_socket, first, proceed) => {
      prefaces.push(first.toString('latin1'))
      proceed(first)
    }
  }
}

function tlsSettings (overrides: Partial<TlsSettings> = {}): TlsSettings {
  return { cert: pki.server.cert, key: pki.server.key, clientCa: pki.ca.cert, ...overrides }
}

async function startTls (t: { after: (fn: () => Promise<void>) => void }, settings: TlsSettings = tlsSettings(), sink: RequestSink = identitySink(), limits: Limits = DEFAULT_LIMITS): Promise<{ listener: Listener, port: number }> {
  const listener = await startListener(parseListenUrl('tls://127.0.0.1:0', { tls: settings }), limits, sink)
  t.after(async () => { await listener.close() })
  return { listener, port: Number(listener.bound.split(':').pop()) }
}

function connect (port: number, client?: CertFiles, extra: tls.ConnectionOptions = {}, early?: (socket: tls.TLSSocket) => void): Promise<tls.TLSSocket> {
  return new Promise((resolve, reject) => {
    const socket: tls.TLSSocket = tls.connect({
      host: '127.0.0.1',
      port,
      ca: readFileSync(pki.ca.cert),
      ...(client === undefined ? {} : { cert: readFileSync(client.cert), key: readFileSync(client.key) }),
      ...extra
    }, () => resolve(socket))
    socket.once('error', reject)
    early?.(socket)
  })
}

/** Reads one response with a Content-Length body off a raw socket. */
function readResponse (socket: net.Socket): Promise<{ head: string, body: string }> {
  return new Promise((resolve, reject) => {
    let buf = ''
    const onData = (c: Buffer): void => {
      buf += c.toString('latin1')
      const end = buf.indexOf('\r\n\r\n')
      if (end === -1) return
      const length = Number(/content-length: (\d+)/i.exec(buf.slice(0, end))?.[1] ?? 0)
      if (buf.length < end + 4 + length) return
      socket.removeListener('data', onData)
      resolve({ head: buf.slice(0, end), body: buf.slice(end + 4, end + 4 + length) })
    }
    socket.on('data', onData)
    socket.once('error', reject)
    socket.once('close', () => reject(new Error(`closed before a full response: ${JSON.stringify(buf)}`)))
  })
}

async function get (port: number, client: CertFiles | undefined, headers: Record<string, string> = {}): Promise<{ status: number, body: any }> {
  const res = await new Promise<http.IncomingMessage>((resolve, reject) => {
    https.get({
      host: '127.0.0.1',
      port,
      path: '/_ping',
      agent: false,
      headers,
      // The browser-guard test sends another Host; the certificate is checked for this name.
      servername: 'localhost',
      ca: readFileSync(pki.ca.cert),
      ...(client === undefined ? {} : { cert: readFileSync(client.cert), key: readFileSync(client.key) })
    }, resolve).on('error', reject)
  })
  const chunks: Buffer[] = []
  for await (const c of res) chunks.push(c as Buffer)
  const text = Buffer.concat(chunks).toString()
  return { status: res.statusCode!, body: res.headers['content-type'] === 'application/json' ? JSON.parse(text) : text }
}

function closed (socket: net.Socket): Promise<void> {
  return new Promise((resolve) => {
    if (socket.destroyed) resolve()
    else socket.once('close', () => resolve())
  })
}

test('tls:// listen URLs carry their settings; tcp:// and unix:// refuse them', () => {
  const settings = tlsSettings()
  assert.deepEqual(parseListenUrl('tls://0.0.0.0:2376', { tls: settings }), { kind: 'tcp', host: '0.0.0.0', port: 2376, url: 'tls://0.0.0.0:2376', tls: settings })
  assert.deepEqual(parseListenUrl('tls://[::1]:2376', { tls: settings }).kind, 'tcp')
  assert.throws(() => parseListenUrl('tls://0.0.0.0:2376'), /needs tls settings/)
  assert.throws(() => parseListenUrl('tls://0.0.0.0', { tls: settings }), /expected tls:\/\/HOST:PORT/)
  assert.throws(() => parseListenUrl('tcp://0.0.0.0:2376', { tls: settings }), /write a TLS listener as tls:\/\/HOST:PORT/)
  assert.throws(() => parseListenUrl('unix:///run/d.sock', { tls: settings }), /tls settings are for tls:\/\/ listeners/)
  // Existing callers are unchanged: no tls key on a plain TCP address.
  assert.equal('tls' in parseListenUrl('tcp://127.0.0.1:2375'), false)
})

test('tls settings: every problem names its key', () => {
  assert.deepEqual(parseTlsSettings({ cert: 'c.pem', key: 'k.pem' }, 'listen[0].tls'), { cert: 'c.pem', key: 'k.pem' })
  assert.deepEqual(parseTlsSettings({ cert: 'c.pem', key: 'k.pem', clientCa: 'ca.pem', minVersion: 'TLSv1.3' }, 'x'), { cert: 'c.pem', key: 'k.pem', clientCa: 'ca.pem', minVersion: 'TLSv1.3' })
  const cases: Array<[unknown, RegExp]> = [
    ['cert.pem', /^listen\[0\]\.tls: expected a mapping with cert, key, clientCa, minVersion$/],
    [{ key: 'k.pem' }, /^listen\[0\]\.tls\.cert: expected a file path$/],
    [{ cert: 'c.pem', key: '' }, /^listen\[0\]\.tls\.key: expected a file path$/],
    [{ cert: 'c.pem', key: 'k.pem', clientCA: 'ca.pem' }, /^listen\[0\]\.tls\.clientCA: unknown setting \(cert, key, clientCa, minVersion\)$/],
    [{ cert: 'c.pem', key: 'k.pem', clientCa: 5 }, /^listen\[0\]\.tls\.clientCa: expected a file path$/],
    [{ cert: 'c.pem', key: 'k.pem', minVersion: 'TLSv1.1' }, /^listen\[0\]\.tls\.minVersion: expected TLSv1\.2 or TLSv1\.3$/]
  ]
  for (const [raw, message] of cases) {
    assert.throws(() => parseTlsSettings(raw, 'listen[0].tls'), (err: Error) => err instanceof ConfigError && message.test(err.message), JSON.stringify(raw))
  }
})

test('tls files: unreadable, mismatched, encrypted or empty ones are clear errors', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'dw-tls-files-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  const encrypted = join(dir, 'encrypted-key.pem')
  execFileSync('openssl', ['pkey', '-in', pki.server.key, '-aes256', '-passout', 'pass:secret', '-out', encrypted])
  const empty = join(dir, 'empty.pem')
  writeFileSync(empty, 'nothing here\n')
  const cases: Array<[TlsSettings, RegExp]> = [
    [tlsSettings({ cert: join(dir, 'missing.pem') }), /^cannot read TLS certificate .*missing\.pem: ENOENT$/],
    [tlsSettings({ key: join(dir, 'missing.pem') }), /^cannot read TLS private key .*missing\.pem: ENOENT$/],
    [tlsSettings({ clientCa: join(dir, 'missing.pem') }), /^cannot read TLS client CA bundle .*missing\.pem: ENOENT$/],
    [tlsSettings({ key: pki.alice.key }), /^TLS private key .*alice-key\.pem does not belong to the certificate in .*server\.pem$/],
    [tlsSettings({ key: encrypted }), /is encrypted; dockward needs it unencrypted/],
    [tlsSettings({ cert: empty }), /^TLS certificate .*empty\.pem: no PEM certificate in the file$/],
    [tlsSettings({ key: empty }), /^TLS private key .*empty\.pem: no PEM private key in the file$/],
    [tlsSettings({ clientCa: empty }), /^TLS client CA bundle .*empty\.pem: no PEM certificate in the file$/]
  ]
  for (const [settings, message] of cases) {
    assert.throws(() => loadSecureContextOptions(settings), (err: Error) => err instanceof ConfigError && message.test(err.message), message.source)
  }
  // A bundle of two CAs is read whole.
  const bundle = join(dir, 'bundle.pem')
  writeFileSync(bundle, readFileSync(pki.otherCa.cert, 'utf8') + readFileSync(pki.ca.cert, 'utf8'))
  assert.ok(loadSecureContextOptions(tlsSettings({ clientCa: bundle })).ca)
})

test('a TLS listener identifies clients by certificate and lets the authenticator judge the rest', async (t) => {
  const prefaces: string[] = []
  const { port } = await startTls(t, tlsSettings(), identitySink(prefaces))
  assert.deepEqual(await get(port, pki.alice), {
    status: 200,
    body: { kind: 'identified', identity: { name: 'alice', tenant: null, groups: ['dev', 'ops'], method: 'mtls' } }
  })
  // The preface reader sees decrypted HTTP, as on a plain TCP listener.
  assert.match(prefaces[0]!, /^GET \/_ping HTTP\/1\.1\r\n/)
  // Without a certificate, with one of another CA, or an expired one the handshake still
  // completes, so the gateway can answer 401 in the engine's format.
  assert.deepEqual(await get(port, undefined), { status: 200, body: { kind: 'absent' } })
  const other = await get(port, pki.otherClient)
  assert.equal(other.body.kind, 'rejected')
  assert.match(other.body.reason, /"CN=mallory,O=acme" not accepted: UNABLE_TO_VERIFY_LEAF_SIGNATURE/)
  assert.match((await get(port, pki.expiredClient)).body.reason, /CERT_HAS_EXPIRED/)
  assert.match((await get(port, pki.server)).body.reason, /INVALID_PURPOSE/)
})

test('without clientCa no client certificate is asked for', async (t) => {
  const { port } = await startTls(t, { cert: pki.server.cert, key: pki.server.key })
  const socket = await connect(port, pki.alice)
  t.after(() => socket.destroy())
  // The client had a certificate to give and was not asked for it.
  socket.write('GET /_ping HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n')
  assert.equal((await readResponse(socket)).body, '{"kind":"absent"}')
})

test('the browser guard applies to TLS listeners', async (t) => {
  const { port } = await startTls(t)
  const origin = await get(port, pki.alice, { origin: 'https://evil.example' })
  assert.equal(origin.status, 403)
  assert.match(origin.body.message, /Origin header/)
  assert.equal((await get(port, pki.alice, { host: 'evil.example' })).status, 403)
})

test('TLS half-close: a client that ends its side still gets the output (docker exec -i)', async (t) => {
  const { port } = await startTls(t)
  for (const version of ['TLSv1.2', 'TLSv1.3'] as const) {
    const socket = await connect(port, pki.alice, { minVersion: version, maxVersion: version })
    assert.equal(socket.getProtocol(), version)
    const received: Buffer[] = []
    socket.on('data', (c: Buffer) => received.push(c))
    socket.write('POST /exec/x/start HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: tcp\r\nContent-Length: 0\r\n\r\n')
    await new Promise<void>((resolve) => socket.once('data', () => resolve()))
    socket.write('stdin bytes')
    // close_notify and FIN: the write side is done, reading goes on.
    socket.end()
    await closed(socket)
    const text = Buffer.concat(received).toString('latin1')
    assert.match(text, /^HTTP\/1\.1 101 UPGRADED\r\n/, version)
    assert.ok(text.endsWith('\r\n\r\necho:stdin bytes'), `${version}: ${JSON.stringify(text)}`)
  }
})

test('TLS: a silent handshake, a silent connection and a bare close are closed; close() ends them all', async (t) => {
  const limits = { ...DEFAULT_LIMITS, headersTimeout: 300 }
  const { listener, port } = await startTls(t, tlsSettings(), identitySink(), limits)
  // TCP connected, no ClientHello: the handshake timeout.
  const raw = net.connect(port, '127.0.0.1')
  raw.on('error', () => {})
  // Handshake done, no request: the first-byte timeout.
  const quiet = await connect(port, pki.alice)
  quiet.on('error', () => {})
  const started = Date.now()
  await Promise.all([closed(raw), closed(quiet)])
  assert.ok(Date.now() - started < 3000, `closed after ${Date.now() - started} ms`)
  // Handshake done, then only close_notify and FIN: closed, nothing answered.
  const bare = await connect(port, pki.alice)
  let answered = ''
  bare.on('data', (c: Buffer) => { answered += c.toString() })
  bare.end()
  await closed(bare)
  assert.equal(answered, '')

  // close() while a handshake is in progress and a keep-alive connection is open.
  const pending = net.connect(port, '127.0.0.1')
  pending.on('error', () => {})
  const pendingConnected = new Promise((resolve) => pending.once('connect', resolve))
  const open = await connect(port, pki.alice)
  open.on('error', () => {})
  open.write('GET /_ping HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n')
  await readResponse(open)
  await pendingConnected
  const closing = Date.now()
  await listener.close()
  await Promise.all([closed(pending), closed(open)])
  assert.ok(Date.now() - closing < 250, `close() took ${Date.now() - closing} ms`)
})

test('close(grace) on TLS: idle connections close at once, an answer in flight is sent, a hijacked stream is cut at the deadline', async (t) => {
  const slow: { answer: (() => void) | null } = { answer: null }
  const sink: RequestSink = {
    ...identitySink(),
    // /slow is answered only when the test says so; everything else at once.
    request: (req, res) => {
      if (req.url === '/slow') slow.answer = () => res.end('late')
      else res.end('ok')
    }
  }
  const { listener, port } = await startTls(t, tlsSettings(), sink)
  const idle = await connect(port, pki.alice)
  idle.on('error', () => {})
  idle.write('GET /_ping HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n')
  await readResponse(idle)
  const busy = await connect(port, pki.alice)
  busy.on('error', () => {})
  busy.write('GET /slow HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n')
  const hijacked = await connect(port, pki.alice)
  hijacked.on('error', () => {})
  hijacked.write('POST /exec/x/start HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n')
  await new Promise((resolve) => hijacked.once('data', resolve))
  while (slow.answer === null) await new Promise((resolve) => setTimeout(resolve, 10))

  const closing = listener.close(1500)
  await closed(idle)
  const response = readResponse(busy)
  slow.answer()
  assert.equal((await response).body, 'late')
  await closed(busy)
  assert.equal(hijacked.destroyed, false, 'the stream goes on until the deadline')
  assert.equal(await closing, 1, 'the hijacked connection was cut')
  await closed(hijacked)
})

test('close(grace) on TLS returns as soon as the last connection is gone, not at the deadline', { timeout: 10_000 }, async (t) => {
  const { listener, port } = await startTls(t)
  const idle = await connect(port, pki.alice)
  idle.on('error', () => {})
  idle.write('GET /_ping HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n')
  await readResponse(idle)
  // The test's own timeout is far below the deadline: close() must not wait for it.
  assert.equal(await listener.close(600_000), 0)
  await closed(idle)
})

test('reload() swaps the certificate for new connections; open ones go on', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'dw-tls-reload-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  const settings = tlsSettings({ cert: join(dir, 'server.pem'), key: join(dir, 'server-key.pem') })
  copyFileSync(pki.server.cert, settings.cert)
  copyFileSync(pki.server.key, settings.key)
  const { listener, port } = await startTls(t, settings)

  const fingerprint = (path: string): string => new X509Certificate(readFileSync(path)).fingerprint256
  const before = await connect(port, pki.alice)
  t.after(() => before.destroy())
  // Read at once: Node 20's client forgets the peer certificate when a TLS 1.3 session ticket arrives.
  assert.equal(before.getPeerX509Certificate()!.fingerprint256, fingerprint(pki.server.cert))
  before.write('GET /_ping HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n')
  assert.match((await readResponse(before)).body, /"name":"alice"/)
  const session = await sessionOf(port)
  const resumed = await connect(port, pki.alice, { session })
  t.after(() => resumed.destroy())
  assert.equal(resumed.isSessionReused(), true, 'resumption works before a reload')
  // A resumed session still carries the client certificate it was verified with.
  resumed.write('GET /_ping HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n')
  assert.match((await readResponse(resumed)).body, /"name":"alice"/)

  const renewed = pki.issue('server-renewed', { cn: '127.0.0.1', eku: 'serverAuth', san: ['IP:127.0.0.1', 'DNS:localhost'] })
  copyFileSync(renewed.cert, settings.cert)
  copyFileSync(renewed.key, settings.key)
  listener.reload!()

  // The open keep-alive connection is untouched and still answers.
  before.write('GET /_ping HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n')
  assert.match((await readResponse(before)).body, /"name":"alice"/)
  // A new connection gets the new certificate, and sessions from before the reload are not resumed.
  const after = await connect(port, pki.alice, { session })
  t.after(() => after.destroy())
  assert.equal(after.getPeerX509Certificate()!.fingerprint256, fingerprint(renewed.cert))
  assert.equal(after.isSessionReused(), false)
  after.write('GET /_ping HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n')
  assert.match((await readResponse(after)).body, /"name":"alice"/)

  // A reload that fails says why and keeps what is in force.
  copyFileSync(pki.alice.key, settings.key)
  assert.throws(() => listener.reload!(), /does not belong to the certificate/)
  const still = await connect(port, pki.alice)
  t.after(() => still.destroy())
  assert.equal(still.getPeerX509Certificate()!.fingerprint256, fingerprint(renewed.cert))
})

test('reload() is a no-op on plain listeners', async (t) => {
  const listener = await startListener(parseListenUrl('tcp://127.0.0.1:0'), DEFAULT_LIMITS, identitySink())
  t.after(() => listener.close())
  assert.doesNotThrow(() => listener.reload!())
})

// A TLS session the server issued to alice (TLS 1.3 sends it after the handshake).
async function sessionOf (port: number): Promise<Buffer> {
  let session: Buffer | null = null
  const socket = await connect(port, pki.alice, {}, (s) => s.on('session', (b: Buffer) => { session = b }))
  socket.write('GET /_ping HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n')
  await readResponse(socket)
  socket.destroy()
  assert.ok(session !== null, 'the server issued no session')
  return session
}

/**
 * Just enough of an engine for `docker version` and `docker exec -i`, behind the mTLS
 * authenticator: unidentified callers get the gateway's 401.
 */
function fakeEngineSink (): RequestSink {
  const json = (res: http.ServerResponse, status: number, body: unknown): void => {
    res.writeHead(status, { 'content-type': 'application/json', 'api-version': '1.47', ostype: 'linux' })
    res.end(JSON.stringify(body))
  }
  const identified = async (req: http.IncomingMessage): Promise<string | null> => {
    const outcome = await mtls.authenticate(req)
    return outcome.kind === 'identified' ? outcome.identity.name : null
  }
  return {
    request: (req, res) => {
      void identified(req).then((name) => {
        const path = (req.url ?? '').replace(/^\/v[0-9.]+/, '').replace(/\?.*$/, '')
        if (name === null) return json(res, 401, { message: 'dockward: authentication required' })
        if (path === '/_ping') {
          res.writeHead(200, { 'content-type': 'text/plain', 'api-version': '1.47', ostype: 'linux' })
          return res.end(req.method === 'HEAD' ? undefined : 'OK')
        }
        if (path === '/version') {
          return json(res, 200, {
            Version: `99.0.0-for-${name}`,
            ApiVersion: '1.47',
            MinAPIVersion: '1.24',
            Os: 'linux',
            Arch: 'amd64',
            Components: [{ Name: 'Engine', Version: `99.0.0-for-${name}`, Details: { ApiVersion: '1.47', MinAPIVersion: '1.24' } }]
          })
        }
        if (req.method === 'GET' && path === '/containers/box/json') return json(res, 200, { Id: 'box', State: { Running: true }, Config: { Tty: false } })
        if (req.method === 'POST' && path === '/containers/box/exec') return json(res, 201, { Id: 'e1' })
        if (req.method === 'GET' && path === '/exec/e1/json') return json(res, 200, { ID: 'e1', Running: false, ExitCode: 0 })
        json(res, 404, { message: 'page not found' })
      })
    },
    // exec start: stdout frames (stdcopy) of what came in, sent once stdin is closed.
    upgrade: (req, socket, head) => {
      void identified(req).then((name) => {
        if (name === null) { socket.destroy(); return }
        socket.write('HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.raw-stream\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n')
        const input: Buffer[] = [head]
        socket.on('data', (c: Buffer) => input.push(c))
        socket.resume()
        socket.on('end', () => {
          // The request body (exec start's JSON) comes first in the stream; stdin follows it.
          const stdin = Buffer.concat(input).subarray(Number(req.headers['content-length'] ?? 0))
          const out = Buffer.from(`${name} read: ${stdin.toString()}`)
          const header = Buffer.alloc(8)
          header[0] = 1
          header.writeUInt32BE(out.length, 4)
          // Later, as a real process's output would come: the connection must still be open for it.
          setTimeout(() => socket.end(Buffer.concat([header, out])), 50)
        })
        socket.on('error', () => socket.destroy())
        socket.resume()
      })
    },
    preface: (_socket, first, proceed) => proceed(first)
  }
}

for (const cli of DOCKER_CLIS) {
  const missing = cliMissing(cli)
  test(`docker ${cli.name} --tlsverify: version and exec -i through a TLS listener`, { skip: missing ?? false }, async (t) => {
    const { port } = await startTls(t, tlsSettings(), fakeEngineSink())
    const host = `tcp://127.0.0.1:${port}`
    const as = (client: CertFiles, ca?: CertFiles): { timeoutMs: number, env: Record<string, string> } => ({
      timeoutMs: 20_000,
      env: { DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: pki.dockerCertPath(client, ca) }
    })
    const version = await docker(cli, host, ['version', '--format', '{{.Server.Version}}'], as(pki.alice))
    assert.equal(version.code, 0, version.stderr)
    assert.equal(version.stdout.trim(), '99.0.0-for-alice')

    // Go's tls.Conn.CloseWrite sends close_notify and keeps TCP open; the output still arrives.
    const exec = await docker(cli, host, ['exec', '-i', 'box', 'cat'], { ...as(pki.alice), input: 'hello from stdin\n' })
    assert.equal(exec.code, 0, exec.stderr)
    assert.equal(exec.stdout, 'alice read: hello from stdin\n')

    // A client certificate of another CA: the handshake completes and the answer is a 401.
    const other = await docker(cli, host, ['version', '--format', '{{.Server.Version}}'], as(pki.otherClient))
    assert.notEqual(other.code, 0)
    assert.match(other.stderr, /dockward: authentication required/)
    // A CLI that trusts another CA refuses dockward's certificate itself.
    const distrust = await docker(cli, host, ['version', '--format', '{{.Server.Version}}'], as(pki.alice, pki.otherCa))
    assert.notEqual(distrust.code, 0)
    assert.match(distrust.stderr, /certificate signed by unknown authority/)
  })
}
