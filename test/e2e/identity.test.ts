import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import https from 'node:https'
import net from 'node:net'
import { spawnSync } from 'node:child_process'
import { chmodSync, chownSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { exportJWK, exportSPKI, generateKeyPair, SignJWT, type JWTPayload } from 'jose'
import { engineRequest, requireEngine, type TestEngine } from '../support/engine.ts'
import { startDockward, type RunningDockward } from '../support/dockward.ts'
import { rawExchange } from '../support/raw-client.ts'
import { DOCKER_CLIS, cliMissing, docker, firstCli, uniqueName, type DockerCli } from '../support/cli.ts'
import { makeTestPki, type CertFiles, type TestPki } from '../support/certs.ts'
import { hashToken } from '../../src/identify/static-token.ts'

// Authenticated access with the real docker CLIs against the real engine: mTLS as
// `docker --tlsverify` does it, a JWT and a static token sent from config.json HttpHeaders, and a
// per-tenant socket. One policy denies exec to the `ci` group, so the same request is decided
// differently by identity. Every rejected credential is a 401, and nothing reaches the engine.

const engine = requireEngine('identity')

const POLICY = `policy: identity-test
version: 1
rules:
  - id: deny-ci-exec
    deny: CI jobs may not exec into containers
    match:
      operations: [exec]
      identity: { groups: [ci] }
  - id: deny-privileged
    deny: no privileged containers
    match:
      facts: { privileged: true }
  - id: allow-rest
    allow: true
`
const ISSUER = 'https://issuer.dockward.test'
const AUDIENCE = 'dockward'
const STATIC_TOKEN = 'dwt_static-token-for-the-identity-e2e-test-0001'

if (engine === null) {
  test('identity', { skip: 'no engine' }, () => {})
} else {
  suite(engine)
}

function suite (eng: TestEngine): void {
  describe('authenticated access through dockward', () => {
    let dw: RunningDockward
    let pki: TestPki
    let dir: string
    let sign: (claims: JWTPayload, header?: { kid?: string, alg?: string }, expires?: string) => Promise<string>
    let publicPem: string
    const created: string[] = []

    before(async () => {
      pki = makeTestPki()
      dir = mkdtempSync(join(tmpdir(), 'dw-identity-'))
      // Other users may pass through (not list) the folder, to reach the socket given to `daemon`.
      chmodSync(dir, 0o711)
      const { privateKey, publicKey } = await generateKeyPair('RS256')
      publicPem = await exportSPKI(publicKey)
      const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' }
      writeFileSync(join(dir, 'jwks.json'), JSON.stringify({ keys: [jwk] }))
      writeFileSync(join(dir, 'policy.yaml'), POLICY)
      sign = async (claims, header = {}, expires = '10m') => await new SignJWT(claims)
        .setProtectedHeader({ alg: 'RS256', kid: header.kid ?? 'k1' })
        .setIssuer(ISSUER).setAudience(AUDIENCE).setIssuedAt().setExpirationTime(expires)
        .sign(privateKey)
      dw = await startDockward({
        upstream: eng.dockerHost,
        config: (socketPath) => `
listen:
  - url: unix://${socketPath}
    identity: { name: ci-7, tenant: team-a, groups: [ci] }
  - url: unix://${join(dir, 'daemon.sock')}
    mode: "0600"
    owner: daemon
    identity: { name: ci-8, tenant: team-a, groups: [ci] }
  - url: tls://127.0.0.1:0
    tls: { cert: ${pki.server.cert}, key: ${pki.server.key}, clientCa: ${pki.ca.cert} }
    authentication: [mtls, jwt, token]
authentication:
  mtls: { name: cn, tenantFrom: o, groupsFrom: ou }
  jwt:
    jwksFile: ${join(dir, 'jwks.json')}
    issuer: ${ISSUER}
    audience: ${AUDIENCE}
    algorithms: [RS256]
    claims: { name: sub, tenant: tenant, groups: groups }
  tokens:
    - { name: bot, groups: [ops], sha256: ${hashToken(STATIC_TOKEN)} }
policy: ${join(dir, 'policy.yaml')}
`
      })
    })
    after(async () => {
      for (const name of created) await engineRequest(eng, 'DELETE', `/containers/${name}?force=1`)
      await dw.stop()
      pki.cleanup()
      rmSync(dir, { recursive: true, force: true })
    })

    const tlsHost = (): string => `tcp://127.0.0.1:${dw.tlsPort!}`
    /** A DOCKER_CONFIG folder whose config.json sends this Authorization header on every request. */
    const dockerConfig = (authorization: string): string => {
      const d = mkdtempSync(join(dir, 'docker-config-'))
      writeFileSync(join(d, 'config.json'), JSON.stringify({ HttpHeaders: { Authorization: authorization } }))
      return d
    }
    const viaCert = (client: CertFiles): Record<string, string> => ({ DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: pki.dockerCertPath(client) })
    const viaHeader = (authorization: string): Record<string, string> => {
      // Server verified against the CA; no client certificate.
      const certs = mkdtempSync(join(dir, 'ca-only-'))
      writeFileSync(join(certs, 'ca.pem'), readFileSync(pki.ca.cert))
      return { DOCKER_TLS: '1', DOCKER_CERT_PATH: certs, DOCKER_CONFIG: dockerConfig(authorization) }
    }

    async function everyday (cli: DockerCli, host: string, env: Record<string, string>, execAllowed: boolean): Promise<void> {
      const ps = await docker(cli, host, ['ps', '--format', '{{.ID}}'], { timeoutMs: 30_000, env })
      assert.equal(ps.code, 0, ps.stderr)
      const piped = await docker(cli, host, ['run', '--rm', '-i', eng.image, 'cat'], { timeoutMs: 60_000, env, input: 'through-dockward\n' })
      assert.equal(piped.code, 0, piped.stderr)
      assert.equal(piped.stdout, 'through-dockward\n')
      const name = uniqueName('dw-id')
      created.push(name)
      const runD = await docker(cli, host, ['run', '-d', '--name', name, eng.image, 'sh', '-c', 'echo line-one; sleep 30'], { timeoutMs: 60_000, env })
      assert.equal(runD.code, 0, runD.stderr)
      const exec = await docker(cli, host, ['exec', '-i', name, 'cat'], { timeoutMs: 30_000, env, input: 'exec-input\n' })
      if (execAllowed) {
        assert.equal(exec.code, 0, exec.stderr)
        assert.equal(exec.stdout, 'exec-input\n')
      } else {
        assert.notEqual(exec.code, 0)
        assert.match(exec.stderr, /dockward: deny-ci-exec: CI jobs may not exec/)
      }
      // logs -f follows until the container is gone.
      const logs = docker(cli, host, ['logs', '-f', name], { timeoutMs: 60_000, env })
      await new Promise((r) => setTimeout(r, 1000))
      await engineRequest(eng, 'DELETE', `/containers/${name}?force=1`)
      const l = await logs
      assert.match(l.stdout, /line-one/)
    }

    for (const cli of DOCKER_CLIS) {
      const missing = cliMissing(cli)
      describe(`docker ${cli.name}`, { skip: missing ?? false }, () => {
        test('mTLS like docker --tlsverify (alice, OU dev/ops): ps, run -i, exec -i, logs -f', async () => {
          await everyday(cli, tlsHost(), viaCert(pki.alice), true)
        })
        test('a JWT in config.json HttpHeaders (groups ci): exec is denied by identity', async () => {
          const token = await sign({ sub: 'ci-runner', tenant: 'team-b', groups: ['ci'] })
          await everyday(cli, tlsHost(), viaHeader(`Bearer ${token}`), false)
        })
        test('a static token in config.json HttpHeaders', async () => {
          await everyday(cli, tlsHost(), viaHeader(`Bearer ${STATIC_TOKEN}`), true)
        })
        test('a per-tenant socket (ci-7, groups ci)', async () => {
          await everyday(cli, dw.dockerHost, {}, false)
        })
      })
    }

    test('a socket given to one user (owner: daemon, mode 0600): that user\'s docker CLI gets through, another user\'s is refused by the kernel', async (t) => {
      const cli = firstCli()
      if (process.getuid?.() !== 0 || !existsSync('/usr/bin/setpriv') || cli === null) {
        t.skip('SKIPPED: needs root, setpriv and a docker CLI to run the CLI as other users')
        return
      }
      const socket = join(dir, 'daemon.sock')
      assert.equal(statSync(socket).uid, 1, 'Debian\'s daemon user is uid 1')
      const asUser = (uid: number): ReturnType<typeof spawnSync> => {
        const config = mkdtempSync(join(dir, 'docker-config-'))
        chownSync(config, uid, uid)
        return spawnSync('/usr/bin/setpriv', [`--reuid=${uid}`, `--regid=${uid}`, '--clear-groups', cli.path, '-H', `unix://${socket}`, 'version', '--format', '{{.Server.APIVersion}}'], {
          env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: config, DOCKER_CONFIG: config },
          encoding: 'utf8',
          timeout: 30_000
        })
      }
      const owner = asUser(1)
      assert.equal(owner.status, 0, String(owner.stderr))
      assert.match(String(owner.stdout), /^1\.\d+\n$/)
      const other = asUser(65534)
      assert.notEqual(other.status, 0)
      assert.match(String(other.stderr), /permission denied/)
    })

    /** A raw HTTPS request to the TLS listener; the request would create a container. */
    function attempt (name: string, options: { client?: CertFiles, authorization?: string }): Promise<{ status: number, body: string }> {
      return new Promise((resolve, reject) => {
        const body = JSON.stringify({ Image: eng.image, Cmd: ['true'] })
        const headers: Record<string, string | number> = { 'Content-Type': 'application/json', 'Content-Length': body.length }
        if (options.authorization !== undefined) headers['Authorization'] = options.authorization
        const req = https.request({
          host: '127.0.0.1',
          port: dw.tlsPort!,
          method: 'POST',
          path: `/v1.41/containers/create?name=${name}`,
          headers,
          ca: readFileSync(pki.ca.cert),
          ...(options.client === undefined ? {} : { cert: readFileSync(options.client.cert), key: readFileSync(options.client.key) }),
          agent: false
        }, (res) => {
          let text = ''
          res.setEncoding('utf8')
          res.on('data', (s: string) => { text += s })
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }))
        })
        req.on('error', reject)
        req.end(body)
      })
    }

    test('rejected credentials are 401 in the engine\'s format, and nothing reaches the engine', async () => {
      const hs256 = await new SignJWT({ sub: 'mallory' }).setProtectedHeader({ alg: 'HS256', kid: 'k1' })
        .setIssuer(ISSUER).setAudience(AUDIENCE).setIssuedAt().setExpirationTime('10m').sign(new TextEncoder().encode(publicPem))
      const b64 = (o: object): string => Buffer.from(JSON.stringify(o)).toString('base64url')
      const valid = await sign({ sub: 'ok', tenant: 't', groups: [] })
      const [h, , s] = valid.split('.')
      const cases: Array<[string, { client?: CertFiles, authorization?: string }]> = [
        ['no credential at all', {}],
        ['a certificate from another CA', { client: pki.otherClient }],
        ['an expired certificate', { client: pki.expiredClient }],
        ['an expired token', { authorization: `Bearer ${await sign({ sub: 'x', tenant: 't', groups: [] }, {}, '-1h')}` }],
        ['a token not valid yet', { authorization: `Bearer ${await new SignJWT({ sub: 'x', tenant: 't', groups: [] }).setProtectedHeader({ alg: 'RS256', kid: 'k1' }).setIssuer(ISSUER).setAudience(AUDIENCE).setNotBefore('1h').setExpirationTime('2h').sign((await generateKeyPair('RS256')).privateKey)}` }],
        ['a token for another audience', { authorization: `Bearer ${await new SignJWT({ sub: 'x', tenant: 't', groups: [] }).setProtectedHeader({ alg: 'RS256', kid: 'k1' }).setIssuer(ISSUER).setAudience('someone-else').setExpirationTime('10m').sign((await generateKeyPair('RS256')).privateKey)}` }],
        ['alg none', { authorization: `Bearer ${b64({ alg: 'none', kid: 'k1' })}.${b64({ sub: 'x', iss: ISSUER, aud: AUDIENCE, exp: Math.floor(Date.now() / 1000) + 600 })}.` }],
        ['HS256 signed with the public key', { authorization: `Bearer ${hs256}` }],
        ['an unknown kid', { authorization: `Bearer ${await sign({ sub: 'x', tenant: 't', groups: [] }, { kid: 'k2' })}` }],
        ['a tampered payload', { authorization: `Bearer ${h!}.${b64({ sub: 'admin', tenant: 't', groups: ['ops'], iss: ISSUER, aud: AUDIENCE, exp: Math.floor(Date.now() / 1000) + 600 })}.${s!}` }],
        ['a static token one character off', { authorization: `Bearer ${STATIC_TOKEN.slice(0, -1)}2` }],
        ['a crit header that tries to forge a log line', { authorization: `Bearer ${b64({ alg: 'RS256', kid: 'k1', crit: ['a\nforged: line'] })}.${b64({ sub: 'x' })}.AAAA` }],
        ['Basic credentials, which no method takes', { authorization: 'Basic YWxpY2U6cHc=' }]
      ]
      for (const [label, options] of cases) {
        const name = uniqueName('dw-unauth')
        const r = await attempt(name, options)
        assert.equal(r.status, 401, `${label}: ${r.status} ${r.body}`)
        assert.deepEqual(JSON.parse(r.body), { message: 'authentication required' }, label)
        assert.equal((await engineRequest(eng, 'GET', `/containers/${name}/json`)).status, 404, `${label}: the engine created the container`)
      }
      // The reasons went to dockward's log, not to the client, one line per message.
      assert.match(dw.stderr(), /authentication failed on tls:\/\/127\.0\.0\.1:0 \(jwt\): /)
      for (const line of dw.stderr().split('\n').filter((l) => l !== '')) assert.match(line, /^dockward: /, `a log line was forged: ${line}`)
      // The same request with a good certificate goes through.
      const ok = uniqueName('dw-auth-ok')
      created.push(ok)
      assert.equal((await attempt(ok, { client: pki.bob })).status, 201)
    })
  })

  describe('rate limits', () => {
    const through = (dw: RunningDockward): TestEngine => ({ socketPath: dw.socketPath, dockerHost: dw.dockerHost, tcp: null, image: eng.image })

    test('requests past the burst get 429 in the engine\'s format', async () => {
      const dw = await startDockward({
        upstream: eng.dockerHost,
        config: (socketPath) => `listen:\n  - url: unix://${socketPath}\n    identity: { name: busy-job }\nrateLimits: { requestsPerSecond: 1, burst: 3 }\npolicy: admin\n`
      })
      try {
        const replies = []
        for (let i = 0; i < 5; i++) replies.push(await engineRequest(through(dw), 'GET', '/_ping'))
        assert.deepEqual(replies.slice(0, 3).map((r) => r.status), [200, 200, 200])
        const limited = replies.slice(3).find((r) => r.status === 429)
        assert.ok(limited !== undefined, replies.map((r) => r.status).join(','))
        assert.deepEqual(limited.json, { message: 'dockward: rate limit for busy-job exceeded' })
      } finally {
        await dw.stop()
      }
    })

    test('a second concurrent hijacked stream gets 429; the first keeps working', async () => {
      const dw = await startDockward({
        upstream: eng.dockerHost,
        config: (socketPath) => `listen:\n  - url: unix://${socketPath}\n    identity: { name: stream-job }\nrateLimits: { concurrentHijacks: 1 }\npolicy: admin\n`
      })
      const name = uniqueName('dw-rl')
      try {
        assert.equal((await engineRequest(eng, 'POST', `/containers/create?name=${name}`, { Image: eng.image, Cmd: ['sh', '-c', 'while true; do echo tick; sleep 0.2; done'] })).status, 201)
        assert.equal((await engineRequest(eng, 'POST', `/containers/${name}/start`)).status, 204)
        const attach = `POST /containers/${name}/attach?stream=1&stdout=1 HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n`
        const first = rawExchange(dw.socketPath, attach, 3000, 3000)
        await new Promise((r) => setTimeout(r, 500))
        const second = await rawExchange(dw.socketPath, attach, 500, 2000)
        assert.match(second, /^HTTP\/1\.1 429 /)
        const one = await first
        assert.match(one, /^HTTP\/1\.1 101 /)
        assert.match(one, /tick/)
        // Clients that leave before the engine answers must not keep their slot.
        // Leaving at various moments: before the request is read, while it is admitted (the
        // container is looked up in the engine), while the engine answers.
        for (const ms of [0, 1, 2, 3, 4, 5, 6, 8, 10, 12, 15, 20, 30]) {
          await new Promise<void>((resolve) => {
            const s = net.connect(dw.socketPath, () => { s.write(attach); setTimeout(() => { s.destroy(); resolve() }, ms) })
          })
        }
        await new Promise((r) => setTimeout(r, 500))
        const again = await rawExchange(dw.socketPath, attach, 1000, 1500)
        assert.match(again, /^HTTP\/1\.1 101 /, 'an aborted attach kept its stream slot')
      } finally {
        await engineRequest(eng, 'DELETE', `/containers/${name}?force=1`)
        await dw.stop()
      }
    })
  })
}
