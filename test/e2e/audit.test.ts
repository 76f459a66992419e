import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs'
import http from 'node:http'
import net from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { engineRequest, requireEngine, type TestEngine } from '../support/engine.ts'
import { startDockward, type RunningDockward } from '../support/dockward.ts'
import {
  docker, firstCli, inspectContainer, readUntil, removeContainer, removeImage, runContainer, spawnDocker, uniqueName, type DockerCli
} from '../support/cli.ts'
import { labelValues, metricSamples } from '../support/metrics-text.ts'
import { rawExchange, statusCodes } from '../support/raw-client.ts'
import { hashToken } from '../../src/identify/static-token.ts'

// Audit log and metrics after real docker CLI sessions through dockward: a run, an exec -i, a
// denied privileged run, a failed authentication, a pull with registry credentials and a build
// with a build argument. Each record's fields are checked, and no planted secret (env value,
// registry password, build argument value, bearer token) may appear anywhere in the file.
// Then fail-closed: with the audit file made unwritable, requests get 503 and the engine
// receives nothing; once it is writable again, traffic resumes.

const engine = requireEngine('audit')
const cli = firstCli()

const TOKEN = `dwt_${randomBytes(16).toString('hex')}`
const SECRETS = {
  env: `env-secret-${randomBytes(8).toString('hex')}`,
  registry: `registry-password-${randomBytes(8).toString('hex')}`,
  buildArg: `build-arg-secret-${randomBytes(8).toString('hex')}`,
  badToken: `dwt_wrong-${randomBytes(8).toString('hex')}`
}

if (engine === null || cli === null) {
  test('audit log and metrics', { skip: engine === null ? 'no engine' : 'SKIPPED: no docker CLI' }, () => {})
} else {
  suite(engine, cli)
}

type AuditLine = Record<string, any>

function readAudit (file: string): AuditLine[] {
  return readFileSync(file, 'utf8').split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as AuditLine)
}

/**
 * The records once `done` holds for them (or after `timeoutMs`, for the assertions to explain):
 * a request's record is written when its response has ended, which may be just after the CLI
 * has read what it needed and exited, and records are written at the end of a loop turn.
 */
async function waitAudit (file: string, done: (records: AuditLine[]) => boolean, timeoutMs = 5000): Promise<AuditLine[]> {
  const deadline = Date.now() + timeoutMs
  let records = readAudit(file)
  while (!done(records) && Date.now() < deadline) {
    await sleep(50)
    records = readAudit(file)
  }
  return records
}

function scrape (port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path: '/metrics', agent: false }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (c: string) => { body += c })
      res.on('end', () => resolve(body))
    }).on('error', reject)
  })
}

/** The common fields every record has, checked for type and shape. */
function assertShape (r: AuditLine): void {
  assert.equal(r.v, 1)
  assert.match(r.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/)
  assert.match(r.id, /^[0-9a-f-]{36}$/)
  assert.ok(['request', 'stream-end', 'admitted'].includes(r.event), r.event)
  assert.equal(typeof r.identity.method, 'string')
  assert.equal(typeof r.listener, 'string')
  assert.equal(typeof r.method, 'string')
  assert.ok(!String(r.path).includes('?'), 'paths never carry the query')
  assert.ok(Array.isArray(r.objects))
  assert.ok(['allow', 'deny', 'would-deny', 'none'].includes(r.decision))
  assert.equal(typeof r.durationMs, 'number')
  assert.equal(typeof r.bytesIn, 'number')
  assert.equal(typeof r.bytesOut, 'number')
}

function suite (eng: TestEngine, cli: DockerCli): void {
  describe('audit log and metrics after docker CLI sessions', () => {
    let dw: RunningDockward
    let dir: string
    let auditFile: string
    const containers: string[] = []
    const images: string[] = []

    before(async () => {
      dir = mkdtempSync(join(tmpdir(), 'dw-audit-e2e-'))
      auditFile = join(dir, 'audit.jsonl')
      dw = await startDockward({
        upstream: eng.dockerHost,
        config: (socketPath) => `
listen:
  - unix://${socketPath}
  - url: tcp://127.0.0.1:0
    authentication: [token]
authentication:
  tokens:
    - { name: bot, tenant: team-a, groups: [ops], sha256: ${hashToken(TOKEN)} }
audit:
  destination: ${auditFile}
admin:
  listen: tcp://127.0.0.1:0
`
      })
      assert.ok(dw.adminPort !== null, dw.stderr())
    })
    after(async () => {
      for (const c of containers) await removeContainer(eng, c)
      for (const i of images) await removeImage(eng, i)
      await dw.stop()
      rmSync(dir, { recursive: true, force: true })
    })

    const configDir = (config: object): string => {
      const d = mkdtempSync(join(dir, 'docker-config-'))
      writeFileSync(join(d, 'config.json'), JSON.stringify(config))
      return d
    }

    test('a run: create (with its name and the created id), attach stream, start, wait; env values stay out', async () => {
      const name = uniqueName('dw-audit-run')
      containers.push(name)
      const r = await docker(cli, dw.dockerHost, ['run', '--rm', '--name', name, '-e', `DW_SECRET=${SECRETS.env}`, eng.image, 'sh', '-c', 'echo ${#DW_SECRET}'], { timeoutMs: 60_000 })
      assert.equal(r.code, 0, r.stderr)
      const records = await waitAudit(auditFile, (rs) => {
        const c = rs.find((x) => x.operation === 'ContainerCreate' && x.objects.includes(name))
        const id = c?.objects.find((o: string) => /^[0-9a-f]{64}$/.test(o))
        return id !== undefined && rs.some((x) => x.operation === 'ContainerWait' && x.objects.includes(id)) && rs.some((x) => x.event === 'stream-end' && x.objects.includes(id))
      })
      const create = records.find((x) => x.operation === 'ContainerCreate' && x.objects.includes(name))
      assert.ok(create !== undefined, 'a ContainerCreate record naming the container')
      assertShape(create)
      const id = create.objects.find((o: string) => /^[0-9a-f]{64}$/.test(o))
      assert.ok(id !== undefined, `the created id is among the objects: ${JSON.stringify(create.objects)}`)
      assert.equal(create.event, 'request')
      assert.deepEqual(create.identity, { name: 'anonymous', tenant: null, method: 'anonymous' })
      assert.equal(create.listener, dw.dockerHost)
      assert.equal(create.remote, null)
      assert.equal(create.method, 'POST')
      assert.equal(create.path, '/containers/create')
      assert.match(create.version, /^1\.\d+$/)
      assert.equal(create.decision, 'allow')
      assert.equal(typeof create.ruleId, 'string')
      assert.match(create.policyDigest, /^[0-9a-f]{64}$/)
      assert.equal(create.facts.privileged, false)
      assert.match(create.facts.image, /dockward-test\/busybox/)
      assert.equal(create.status, 201)
      assert.ok(create.bytesIn > 0 && create.bytesOut > 0)
      assert.equal(create.end, 'complete')
      assert.match(create.userAgent, /^Docker-Client\//)

      // Everything that happened to the container is one filter on its id.
      const forId = records.filter((x) => x.objects.includes(id))
      const ops = forId.map((x) => `${x.event}:${x.operation as string}`)
      for (const op of ['request:ContainerCreate', 'request:ContainerAttach', 'request:ContainerStart', 'request:ContainerWait', 'stream-end:ContainerAttach']) {
        assert.ok(ops.includes(op), `${op} in ${ops.join(', ')}`)
      }
      const attach = forId.find((x) => x.event === 'request' && x.operation === 'ContainerAttach')!
      const end = forId.find((x) => x.event === 'stream-end')!
      assert.equal(attach.status, 101)
      assert.equal(attach.end, 'switched')
      assert.equal(end.id, attach.id)
      assert.equal(end.protocol, 'tcp')
      assert.ok(end.bytesOut > 0, 'the output went through the stream')
      assert.ok(['complete', 'client-closed', 'upstream-closed'].includes(end.end), end.end)
    })

    test('an exec -i: the hijack gauge goes up and down, and the stream record counts both ways', async () => {
      const name = uniqueName('dw-audit-exec')
      containers.push(name)
      const id = await runContainer(eng, { name, cmd: ['sleep', '300'] })
      const before = metricSamples(await scrape(dw.adminPort!))
      assert.equal(before.get('dockward_hijacked_streams_active{protocol="tcp"}') ?? 0, 0)
      const run = spawnDocker(cli, dw.dockerHost, ['exec', '-i', name, 'cat'], { timeoutMs: 60_000, stdin: 'pipe' })
      run.child.stdin!.write('hello-through-exec\n')
      await readUntil(run, (text) => text.includes('hello-through-exec'), 30_000)
      const open = metricSamples(await scrape(dw.adminPort!))
      assert.equal(open.get('dockward_hijacked_streams_active{protocol="tcp"}'), 1)
      run.child.stdin!.end()
      const exit = await run.exit
      assert.equal(exit.code, 0, exit.stderr)
      let closed = metricSamples(await scrape(dw.adminPort!))
      for (let i = 0; i < 20 && (closed.get('dockward_hijacked_streams_active{protocol="tcp"}') ?? 0) !== 0; i++) {
        await sleep(100)
        closed = metricSamples(await scrape(dw.adminPort!))
      }
      assert.equal(closed.get('dockward_hijacked_streams_active{protocol="tcp"}'), 0)
      assert.ok((closed.get('dockward_hijacked_stream_bytes_total{direction="from_client"}') ?? 0) >= 'hello-through-exec\n'.length)

      const records = await waitAudit(auditFile, (rs) => rs.some((x) => x.event === 'stream-end' && x.operation === 'ExecStart'))
      const execCreate = records.find((x) => x.operation === 'ContainerExec' && x.objects.includes(name))!
      assertShape(execCreate)
      assert.ok(execCreate.objects.includes(id), 'the container is pinned by its full id')
      const execId = execCreate.objects.find((o: string) => o !== id && o !== name && /^[0-9a-f]{64}$/.test(o))
      assert.ok(execId !== undefined, `the exec id is among the objects: ${JSON.stringify(execCreate.objects)}`)
      const start = records.find((x) => x.event === 'request' && x.operation === 'ExecStart' && x.objects.includes(execId))!
      assert.equal(start.status, 101)
      assert.ok(start.objects.includes(id), 'the exec start names the container it reaches')
      const end = records.find((x) => x.event === 'stream-end' && x.id === start.id)!
      assertShape(end)
      assert.equal(end.protocol, 'tcp')
      assert.ok(end.bytesIn >= 'hello-through-exec\n'.length, `bytes from the client: ${end.bytesIn as number}`)
      assert.ok(end.bytesOut >= 'hello-through-exec\n'.length, `bytes to the client: ${end.bytesOut as number}`)
      assert.ok(end.durationMs > 0)
    })

    test('a denied privileged run: the rule, the reason, the facts it decided on, nothing created', async () => {
      const name = uniqueName('dw-audit-priv')
      const r = await docker(cli, dw.dockerHost, ['run', '--rm', '--privileged', '--name', name, eng.image, 'true'], { timeoutMs: 30_000 })
      assert.notEqual(r.code, 0)
      assert.match(r.stderr, /deny-privileged/)
      assert.equal(await inspectContainer(eng, name), null)
      const denied = (await waitAudit(auditFile, (rs) => rs.some((x) => x.operation === 'ContainerCreate' && x.objects.includes(name)))).find((x) => x.operation === 'ContainerCreate' && x.objects.includes(name))!
      assertShape(denied)
      assert.equal(denied.decision, 'deny')
      assert.equal(denied.ruleId, 'deny-privileged')
      assert.match(denied.reason, /privileged/)
      assert.equal(denied.facts.privileged, true)
      assert.equal(denied.status, 403)
      assert.equal(denied.bytesIn, 0, 'nothing was sent to the engine')
      assert.equal(denied.error.code, 'DW_ERR_POLICY_DENIED')
      assert.equal(denied.end, 'refused')
    })

    test('a failed authentication: who tried how, 401, no decision; the token itself stays out', async () => {
      const env = { DOCKER_CONFIG: configDir({ HttpHeaders: { Authorization: `Bearer ${SECRETS.badToken}` } }) }
      const r = await docker(cli, `tcp://127.0.0.1:${dw.tcpPort!}`, ['ps'], { timeoutMs: 30_000, env })
      assert.notEqual(r.code, 0)
      assert.match(r.stderr, /authentication required/)
      const failed = (await waitAudit(auditFile, (rs) => rs.some((x) => x.error?.code === 'DW_ERR_UNAUTHENTICATED'))).filter((x) => x.error?.code === 'DW_ERR_UNAUTHENTICATED')
      assert.ok(failed.length > 0)
      for (const f of failed) {
        assertShape(f)
        assert.deepEqual(f.identity, { name: null, tenant: null, method: 'token' })
        assert.equal(f.decision, 'none')
        assert.equal(f.status, 401)
        assert.match(f.remote, /^127\.0\.0\.1:\d+$/)
        assert.equal(f.listener, 'tcp://127.0.0.1:0')
      }
      // The right token works and is named in the record.
      const ok = await docker(cli, `tcp://127.0.0.1:${dw.tcpPort!}`, ['ps'], { timeoutMs: 30_000, env: { DOCKER_CONFIG: configDir({ HttpHeaders: { Authorization: `Bearer ${TOKEN}` } }) } })
      assert.equal(ok.code, 0, ok.stderr)
      const list = (await waitAudit(auditFile, (rs) => rs.some((x) => x.operation === 'ContainerList' && x.identity.name === 'bot'))).find((x) => x.operation === 'ContainerList' && x.identity.name === 'bot')!
      assert.deepEqual(list.identity, { name: 'bot', tenant: 'team-a', method: 'token' })
      const m = metricSamples(await scrape(dw.adminPort!))
      assert.ok((m.get('dockward_authentication_failures_total{method="token"}') ?? 0) >= 1)
    })

    test('a pull with registry credentials (X-Registry-Auth): the password stays out', async () => {
      const auth = Buffer.from(`dw-user:${SECRETS.registry}`).toString('base64')
      const env = { DOCKER_CONFIG: configDir({ auths: { '127.0.0.1:5999': { auth } } }) }
      // Nothing listens there: the engine fails the pull, after the CLI sent the credentials.
      const r = await docker(cli, dw.dockerHost, ['pull', '127.0.0.1:5999/dw-audit/nothing:latest'], { timeoutMs: 60_000, env })
      assert.notEqual(r.code, 0)
      const pull = (await waitAudit(auditFile, (rs) => rs.some((x) => x.operation === 'ImageCreate'))).find((x) => x.operation === 'ImageCreate')!
      assertShape(pull)
      assert.equal(pull.facts.image, '127.0.0.1:5999/dw-audit/nothing:latest')
    })

    test('a build with a build argument: its name is a fact, its value stays out', async () => {
      const tag = `${uniqueName('dw-audit-build')}:latest`
      images.push(tag)
      const ctx = mkdtempSync(join(dir, 'ctx-'))
      writeFileSync(join(ctx, 'Dockerfile'), `FROM ${eng.image}\nARG DW_BUILD_SECRET\nLABEL dockward.test=audit\n`)
      const r = await docker(cli, dw.dockerHost, ['build', '--build-arg', `DW_BUILD_SECRET=${SECRETS.buildArg}`, '-t', tag, ctx], { timeoutMs: 120_000, env: { DOCKER_BUILDKIT: '0' } })
      assert.equal(r.code, 0, r.stderr)
      const build = (await waitAudit(auditFile, (rs) => rs.some((x) => x.operation === 'ImageBuild'))).find((x) => x.operation === 'ImageBuild')!
      assertShape(build)
      assert.deepEqual(build.facts.buildArgs, ['DW_BUILD_SECRET'])
      assert.equal(build.status, 200)
    })

    test('a browser request refused by the listener is recorded too', async () => {
      const raw = await rawExchange({ host: '127.0.0.1', port: dw.tcpPort! }, 'GET /v1.41/containers/json HTTP/1.1\r\nHost: 127.0.0.1\r\nOrigin: https://evil.example\r\n\r\n')
      assert.deepEqual(statusCodes(raw), [403])
      const r = (await waitAudit(auditFile, (rs) => rs.some((x) => x.error?.code === 'DW_ERR_CROSS_SITE_REQUEST'))).find((x) => x.error?.code === 'DW_ERR_CROSS_SITE_REQUEST')!
      assertShape(r)
      assert.equal(r.status, 403)
      assert.equal(r.decision, 'none')
      assert.equal(r.path, '/v1.41/containers/json')
    })

    test('connections refused before a request parsed are recorded: malformed HTTP, oversize headers, an HTTP/2 preface', async () => {
      const tcp = { host: '127.0.0.1', port: dw.tcpPort! }
      const cases: Array<[string, string | Buffer, number]> = [
        ['DW_ERR_MALFORMED_REQUEST', 'GET /v1.41/_ping HTTP/1.1\r\nHost: 127.0.0.1\r\nBad Header\r\n\r\n', 400],
        ['DW_ERR_HEADERS_TOO_LARGE', `GET /v1.41/_ping HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: ${'a'.repeat(1100 * 1024)}\r\n\r\n`, 431],
        ['DW_ERR_HTTP_VERSION_NOT_SUPPORTED', 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 505]
      ]
      for (const [code, bytes, status] of cases) {
        // dockward answers 431 and closes while the client is still sending the rest of its 1.1 MB
        // head: the kernel may then reset the connection, and the client loses the answer. The
        // record below still says 431.
        const raw = await rawExchange(tcp, bytes).catch((err: NodeJS.ErrnoException) => {
          if (code === 'DW_ERR_HEADERS_TOO_LARGE' && err.code === 'ECONNRESET') return null
          throw err
        })
        if (raw !== null) assert.deepEqual(statusCodes(raw), [status], code)
        const r = (await waitAudit(auditFile, (rs) => rs.some((x) => x.error?.code === code))).find((x) => x.error?.code === code)
        assert.ok(r !== undefined, `no audit record for ${code}`)
        assertShape(r)
        assert.equal(r.status, status)
        assert.equal(r.event, 'request')
        assert.equal(r.decision, 'none')
        assert.equal(r.operation, null)
        assert.match(r.listener, /^tcp:\/\/127\.0\.0\.1:/)
        assert.match(r.remote, /^127\.0\.0\.1:\d+$/)
        assert.equal(r.identity.name, null)
      }
    })

    test('a request with an Upgrade header that stays HTTP records the answer\'s bytes', async () => {
      const ua = `upgrade-bytes-${randomBytes(4).toString('hex')}`
      const raw = await rawExchange({ host: '127.0.0.1', port: dw.tcpPort! }, `GET /v1.41/version HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: ${ua}\r\nAuthorization: Bearer ${TOKEN}\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAoAAAAAIAAAAA\r\n\r\n`)
      assert.deepEqual(statusCodes(raw), [200])
      const framed = raw.length - (raw.indexOf('\r\n\r\n') + 4)
      const r = (await waitAudit(auditFile, (rs) => rs.some((x) => x.userAgent === ua))).find((x) => x.userAgent === ua)!
      assertShape(r)
      assert.equal(r.status, 200)
      assert.ok(r.bytesOut > 0 && r.bytesOut <= framed, `bytesOut ${r.bytesOut as number} of a ${framed}-byte framed body`)
    })

    test('a client that resets a hijacked stream is recorded as the side that closed it', async () => {
      const name = uniqueName('dw-audit-reset')
      containers.push(name)
      const id = await runContainer(eng, { name, cmd: ['sleep', '60'] })
      const exec = await engineRequest(eng, 'POST', `/containers/${id}/exec`, { Cmd: ['sleep', '30'], AttachStdout: true, AttachStderr: true })
      const ua = `reset-${randomBytes(4).toString('hex')}`
      const body = '{"Detach":false,"Tty":false}'
      // TCP: only a TCP socket can be reset.
      const socket = net.connect(dw.tcpPort!, '127.0.0.1')
      await new Promise((resolve) => socket.once('connect', resolve))
      socket.write(`POST /v1.41/exec/${exec.json.Id as string}/start HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${TOKEN}\r\nUser-Agent: ${ua}\r\nConnection: Upgrade\r\nUpgrade: tcp\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`)
      await new Promise((resolve) => socket.once('data', resolve))
      socket.resetAndDestroy()
      const end = (await waitAudit(auditFile, (rs) => rs.some((x) => x.userAgent === ua && x.event === 'stream-end'))).find((x) => x.userAgent === ua && x.event === 'stream-end')!
      assert.equal(end.end, 'client-closed')
    })

    test('an Expect other than 100-continue: 417 in the engine\'s format, and a record', async () => {
      const ua = `expect-${randomBytes(4).toString('hex')}`
      const raw = await rawExchange({ host: '127.0.0.1', port: dw.tcpPort! }, `GET /v1.41/containers/json HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: ${ua}\r\nExpect: foo\r\n\r\n`)
      assert.deepEqual(statusCodes(raw), [417])
      assert.match(raw, /\{"message":"unsupported Expect header: \\"foo\\""\}/)
      const r = (await waitAudit(auditFile, (rs) => rs.some((x) => x.userAgent === ua))).find((x) => x.userAgent === ua)!
      assertShape(r)
      assert.equal(r.status, 417)
      assert.equal(r.decision, 'none')
      assert.equal(r.error?.code, 'DW_ERR_EXPECTATION_FAILED')
    })

    test('a client that half-closes mid-body gets no "malformed request" record: its request has its own, one', async () => {
      const socket = net.connect(dw.tcpPort!, '127.0.0.1')
      await new Promise((resolve) => socket.once('connect', resolve))
      const from = `127.0.0.1:${socket.localPort!}`
      socket.on('data', () => {})
      socket.write(`POST /v1.41/containers/create HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${TOKEN}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"Image":`)
      socket.end()
      await new Promise((resolve) => socket.once('close', resolve))
      await waitAudit(auditFile, (rs) => rs.some((x) => x.remote === from))
      // Time for a second record, were there one.
      await sleep(500)
      const mine = readAudit(auditFile).filter((x) => x.remote === from)
      assert.equal(mine.length, 1, JSON.stringify(mine))
      assert.equal(mine[0]!.operation, 'ContainerCreate')
      assert.notEqual(mine[0]!.error?.code, 'DW_ERR_MALFORMED_REQUEST')
    })

    test('no planted secret appears anywhere in the audit file', () => {
      const text = readFileSync(auditFile, 'utf8')
      const forms = Object.values(SECRETS).flatMap((s) => [s, Buffer.from(s).toString('base64')])
      forms.push(Buffer.from(`dw-user:${SECRETS.registry}`).toString('base64'), TOKEN)
      for (const secret of forms) assert.ok(!text.includes(secret), `found ${secret} in the audit log`)
      for (const line of readAudit(auditFile)) assertShape(line)
    })

    test('metrics: counters move with requests; no label holds a path, an id or a name', async () => {
      const key = 'dockward_requests_total{operation="ContainerList",decision="allow",status="200"}'
      const before = metricSamples(await scrape(dw.adminPort!)).get(key) ?? 0
      const r = await docker(cli, dw.dockerHost, ['ps'], { timeoutMs: 30_000 })
      assert.equal(r.code, 0, r.stderr)
      const text = await scrape(dw.adminPort!)
      const m = metricSamples(text)
      assert.equal(m.get(key), before + 1)
      assert.ok((m.get('dockward_requests_total{operation="ContainerCreate",decision="deny",status="403"}') ?? 0) >= 1)
      assert.ok((m.get('dockward_requests_total{operation="ContainerCreate",decision="allow",status="201"}') ?? 0) >= 1)
      assert.equal(m.get('dockward_engine_up'), 1)
      assert.equal(m.get('dockward_audit_sink_up'), 1)
      assert.ok((m.get('dockward_audit_records_total') ?? 0) > 10)
      assert.ok((m.get('dockward_policy_decision_duration_seconds_count') ?? 0) > 0)
      const objects = new Set(readAudit(auditFile).flatMap((x) => [...x.objects, x.id]))
      for (const value of labelValues(text)) {
        assert.ok(!value.includes('/'), `label value ${value} looks like a path`)
        assert.ok(!objects.has(value), `label value ${value} is an object id or name`)
      }
    })
  })

  describe('fail-closed audit', () => {
    let dw: RunningDockward
    let dir: string
    let auditFile: string
    const containers: string[] = []

    before(async () => {
      dir = mkdtempSync(join(tmpdir(), 'dw-audit-fc-'))
      auditFile = join(dir, 'audit.jsonl')
      dw = await startDockward({
        upstream: eng.dockerHost,
        extraArgs: ['--audit-destination', auditFile, '--audit-fail-closed', '--admin-listen', 'tcp://127.0.0.1:0']
      })
    })
    after(async () => {
      for (const c of containers) await removeContainer(eng, c)
      await dw.stop()
      rmSync(dir, { recursive: true, force: true })
    })

    const readyz = (): Promise<number> => new Promise((resolve, reject) => {
      http.get({ host: '127.0.0.1', port: dw.adminPort!, path: '/readyz', agent: false }, (res) => { res.resume(); resolve(res.statusCode ?? 0) }).on('error', reject)
    })

    test('unwritable audit file: 503 and the engine receives nothing; writable again: traffic resumes', async () => {
      const first = uniqueName('dw-audit-fc')
      containers.push(first)
      const ok = await docker(cli, dw.dockerHost, ['create', '--name', first, eng.image, 'true'], { timeoutMs: 30_000 })
      assert.equal(ok.code, 0, ok.stderr)
      assert.ok(readAudit(auditFile).some((x) => x.event === 'admitted' && x.operation === 'ContainerCreate'), 'the admitted record is written before forwarding')

      // The disk is full: the path now writes to /dev/full (ENOSPC on every write).
      renameSync(auditFile, `${auditFile}.1`)
      symlinkSync('/dev/full', auditFile)
      const second = uniqueName('dw-audit-fc')
      containers.push(second)
      const refused = await docker(cli, dw.dockerHost, ['create', '--name', second, eng.image, 'true'], { timeoutMs: 30_000 })
      assert.notEqual(refused.code, 0)
      assert.match(refused.stderr, /audit log cannot be written/)
      assert.equal(await inspectContainer(eng, second), null, 'the engine received no create')
      assert.equal(await readyz(), 503)
      const rm = await docker(cli, dw.dockerHost, ['rm', '-f', first], { timeoutMs: 30_000 })
      assert.notEqual(rm.code, 0)
      assert.notEqual(await inspectContainer(eng, first), null, 'the engine received no delete')

      unlinkSync(auditFile)
      let resumed = await docker(cli, dw.dockerHost, ['create', '--name', second, eng.image, 'true'], { timeoutMs: 30_000 })
      for (let i = 0; i < 10 && resumed.code !== 0; i++) {
        await sleep(300)
        resumed = await docker(cli, dw.dockerHost, ['create', '--name', second, eng.image, 'true'], { timeoutMs: 30_000 })
      }
      assert.equal(resumed.code, 0, resumed.stderr)
      assert.notEqual(await inspectContainer(eng, second), null)
      assert.equal(await readyz(), 200)
      assert.ok(existsSync(auditFile))
      const after = await waitAudit(auditFile, (rs) => rs.some((x) => x.event === 'request' && x.operation === 'ContainerCreate' && x.objects.includes(second) && x.status === 201))
      assert.equal(after[0]!.event, 'audit-resumed')
      assert.ok(after[0]!.lostRecords > 0)
      assert.ok(after.some((x) => x.event === 'request' && x.operation === 'ContainerCreate' && x.objects.includes(second) && x.status === 201))
    })
  })
}
