// Client faults through a running dockward in front of the real engine: clients that vanish in
// the middle of an upload, a download or a hijacked session, and a client that sends its headers
// one byte a second. dockward stays up, gives back every socket and file descriptor, and the
// engine is left as it should be.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import net from 'node:net'
import { engineRequest, requireEngine, type EngineResponse, type TestEngine } from '../support/engine.ts'
import { startDockward, type RunningDockward } from '../support/dockward.ts'
import { removeContainer, runContainer, uniqueName } from '../support/cli.ts'
import { fdCount, settledCount } from '../support/proc.ts'
import { rawExchange, statusCodes } from '../support/raw-client.ts'
import { tar } from '../support/tar.ts'

const engine = requireEngine('client-faults')

// Pooled keep-alive connections to the engine may stay open between the counts.
const POOL_SLACK = 3
const ROUNDS = 5

/**
 * Opens a connection, writes `head` and `body`, waits until `until` holds for what came back (or
 * a short while), and destroys the connection without a goodbye.
 */
function vanish (socketPath: string, head: string, body: Buffer = Buffer.alloc(0), until: (received: number, text: string) => boolean = () => false): Promise<string> {
  return new Promise((resolve) => {
    const s = net.connect(socketPath)
    let text = ''
    let received = 0
    const end = (): void => { clearTimeout(timer); s.destroy(); resolve(text.slice(0, 200)) }
    const timer = setTimeout(end, 1000)
    s.on('data', (c: Buffer) => {
      received += c.length
      if (text.length < 200) text += c.toString('latin1')
      if (until(received, text)) end()
    })
    s.on('error', () => {})
    s.write(head)
    if (body.length > 0) s.write(body)
  })
}

/** The engine's stat of a path in a container, from `HEAD /containers/{id}/archive`. */
function pathStat (r: EngineResponse): { size: number } {
  return JSON.parse(Buffer.from(String(r.headers['x-docker-container-path-stat']), 'base64').toString())
}

describe('client faults', { skip: engine === null ? 'no engine' : false }, () => {
  const eng = engine as TestEngine
  let dw: RunningDockward
  const names: string[] = []

  before(async () => {
    dw = await startDockward({
      upstream: eng.dockerHost,
      config: (socketPath) => `listen:\n  - unix://${socketPath}\nlimits:\n  headersTimeout: 1500\n`
    })
  })
  after(async () => {
    await dw?.stop()
    for (const name of names) await removeContainer(eng, name)
  })

  async function container (cmd: string[]): Promise<string> {
    const name = uniqueName('dw-faults')
    names.push(name)
    return await runContainer(eng, { name, cmd })
  }

  const ping = async (): Promise<void> => {
    assert.deepEqual(statusCodes(await rawExchange(dw.socketPath, 'GET /_ping HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')), [200])
  }

  test('an HTTP/1.0 client without Host is answered: the engine gets a Host on its HTTP/1.1 request', async () => {
    const raw = await rawExchange(dw.socketPath, 'GET /v1.41/version HTTP/1.0\r\n\r\n')
    assert.deepEqual(statusCodes(raw), [200], raw.slice(0, 200))
    assert.match(raw, /"ApiVersion"/)
  })

  test('clients that vanish mid-upload, mid-download and mid-hijack leave no socket or descriptor behind', async () => {
    // Writes now and then: a hijacked client that is gone is noticed at the next write, as on the
    // engine's own socket (an end from the client may be a half-close, `docker exec -i` sends one
    // after its stdin, so it cannot end the session by itself).
    const ticking = await container(['sh', '-c', 'while true; do echo tick; sleep 0.2; done'])
    const chatty = await container(['sh', '-c', 'head -c 4000000 /dev/zero | tr "\\0" x | fold -w 100; sleep 600'])
    const big = tar([{ name: 'big.bin', data: Buffer.alloc(8 * 1024 * 1024, 7) }])
    const partial = big.subarray(0, 1024 * 1024)
    // Warm-up, so the upstream pool and Node's lazily made handles are in the baseline.
    await ping()
    await ping()
    const baseline = fdCount(dw.pid)

    for (let round = 0; round < ROUNDS; round++) {
      // Uploads: an archive into a container, a build context, an image archive; each declares
      // 8 MiB and sends 1 MiB.
      const upload = (line: string, type: string): string =>
        `${line} HTTP/1.1\r\nHost: x\r\nContent-Type: ${type}\r\nContent-Length: ${big.length}\r\n\r\n`
      await vanish(dw.socketPath, upload(`PUT /containers/${ticking}/archive?path=/tmp`, 'application/x-tar'), partial)
      await vanish(dw.socketPath, upload(`POST /build?t=${uniqueName('dw-faults-never')}`, 'application/x-tar'), partial)
      await vanish(dw.socketPath, upload('POST /images/load?quiet=1', 'application/x-tar'), partial)
      // Downloads: a container's filesystem and its logs, left after the first 64 KiB.
      const first64k = (n: number): boolean => n >= 64 * 1024
      const exported = await vanish(dw.socketPath, `GET /containers/${ticking}/export HTTP/1.1\r\nHost: x\r\n\r\n`, undefined, first64k)
      assert.match(exported, /^HTTP\/1\.1 200 /)
      const logs = await vanish(dw.socketPath, `GET /containers/${chatty}/logs?stdout=1&follow=1 HTTP/1.1\r\nHost: x\r\n\r\n`, undefined, first64k)
      assert.match(logs, /^HTTP\/1\.1 200 /)
      // Hijacks: an attach and an exec session, left once switched.
      const switched = (_n: number, text: string): boolean => text.includes('\r\n\r\n')
      const attached = await vanish(dw.socketPath, `POST /containers/${ticking}/attach?stream=1&stdin=1&stdout=1 HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n`, undefined, switched)
      assert.match(attached, /^HTTP\/1\.1 101 /)
      const exec = await engineRequest(eng, 'POST', `/containers/${ticking}/exec`, { Cmd: ['sh', '-c', 'cat; while true; do echo tock; sleep 0.2; done'], AttachStdin: true, AttachStdout: true })
      const body = '{"Detach":false,"Tty":false}'
      const execd = await vanish(dw.socketPath, `POST /exec/${exec.json.Id as string}/start HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: tcp\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`, undefined, switched)
      assert.match(execd, /^HTTP\/1\.1 101 /)
    }

    await ping()
    const now = await settledCount(() => fdCount(dw.pid), baseline + POOL_SLACK)
    assert.ok(now <= baseline + POOL_SLACK, `descriptors: ${baseline} before ${ROUNDS} rounds of faults, ${now} after`)

    // The engine: the container is still running and usable, nothing half-uploaded was made.
    const inspected = await engineRequest(eng, 'GET', `/containers/${ticking}/json`)
    assert.equal(inspected.json.State.Running, true)
    // The engine extracts as it reads (as it would from the client directly); what it got was cut
    // short, never completed or padded by dockward.
    const cut = await engineRequest(eng, 'HEAD', `/containers/${ticking}/archive?path=/tmp/big.bin`)
    if (cut.status === 200) assert.ok(pathStat(cut).size < 8 * 1024 * 1024, 'the cut archive arrived cut')
    const images = await engineRequest(eng, 'GET', `/images/json?filters=${encodeURIComponent(JSON.stringify({ reference: ['dw-faults-never*'] }))}`)
    assert.deepEqual(images.json, [], 'no image was built from a cut context')
    // And dockward still relays an upload in full.
    const full = await rawExchange(dw.socketPath, [`PUT /containers/${ticking}/archive?path=/tmp HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-tar\r\nContent-Length: ${big.length}\r\nConnection: close\r\n\r\n`, big])
    assert.deepEqual(statusCodes(full), [200], full)
    const stat = await engineRequest(eng, 'HEAD', `/containers/${ticking}/archive?path=/tmp/big.bin`)
    assert.equal(stat.status, 200)
    assert.equal(pathStat(stat).size, 8 * 1024 * 1024)
  })

  test('a client that sends its headers or an inspected body one byte a second is answered 408 and closed by the header timeout', async () => {
    const slowPing = 'GET /_ping HTTP/1.1\r\nHost: x\r\nX-Slow: ' + 'a'.repeat(40) + '\r\n\r\n'
    const body = JSON.stringify({ Image: eng.image, Labels: { slow: 'a'.repeat(40) } })
    const create = `POST /containers/create HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`
    // Slow from the first byte (dockward's own first-request reader), slow after a request line
    // sent at once (Node's parser), and a JSON body dockward must read before deciding that
    // trickles in after complete headers.
    for (const [request, fast] of [[slowPing, 0], [slowPing, 'GET /_ping HTTP/1.1\r\n'.length], [create + body, create.length]] as const) {
      const before = fdCount(dw.pid)
      const { text, sent } = await new Promise<{ text: string, sent: number }>((resolve) => {
        const s = net.connect(dw.socketPath)
        let text = ''
        let sent = fast
        s.on('data', (c: Buffer) => { text += c.toString('latin1') })
        s.on('error', () => {})
        s.write(request.slice(0, fast))
        const timer = setInterval(() => {
          if (sent < request.length && !s.destroyed) s.write(request[sent++]!)
        }, 1000)
        s.on('close', () => { clearInterval(timer); resolve({ text, sent }) })
      })
      assert.deepEqual(statusCodes(text), [408], text)
      assert.ok(sent < request.length, `closed after ${sent} of ${request.length} bytes`)
      assert.ok(await settledCount(() => fdCount(dw.pid), before) <= before)
    }
    await ping()
  })
})
