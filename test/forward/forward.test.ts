// The relay of ordinary answers (forward.ts) against a stand-in engine that writes exact bytes:
// a chunked answer whose head went out alone must reach the client whole and in order, whether
// its pieces and last chunk arrive in one read or the last chunk comes later. Run under Node 24
// (npm run test:lts), these caught two ways a corked response goes wrong from Node 21 on: end()
// overtook the corked pieces (nodejs/node#50167), and a write() of more than 16 KiB reported
// backpressure that no 'drain' ever followed, so a download stalled.
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import http from 'node:http'
import net from 'node:net'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startDockward, type RunningDockward } from '../support/dockward.ts'

let dir: string
let engine: net.Server
let dw: RunningDockward

const HEAD = 'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n'
const chunk = (b: Buffer): Buffer => Buffer.concat([Buffer.from(`${b.length.toString(16)}\r\n`), b, Buffer.from('\r\n')])
const piece = (n: number, fill: string): Buffer => Buffer.alloc(n, fill)
// path → the pieces written in one go after the head (which goes alone, 100 ms before); the last
// chunk goes with them, or 100 ms later for the paths in LATE_END.
const ANSWERS: Record<string, Buffer[]> = {
  '/v1.41/events': [piece(40, 'a')],
  '/v1.41/containers/json': [piece(4096, 'b'), piece(4096, 'c'), piece(100, 'd')],
  '/v1.41/containers/c1/logs': [piece(40_000, 'e'), piece(40_000, 'f'), piece(40_000, 'g')],
  '/v1.41/system/df': [piece(40_000, 'h'), piece(40_000, 'i')],
  '/v1.41/images/get': [piece(20_000, 'j')]
}
const LATE_END = new Set(['/v1.41/system/df', '/v1.41/images/get'])

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'dw-forward-'))
  const socket = join(dir, 'engine.sock')
  engine = net.createServer((conn) => {
    let buffered = ''
    conn.on('data', (b: Buffer) => {
      buffered += b.toString('latin1')
      const end = buffered.indexOf('\r\n\r\n')
      if (end === -1) return
      const path = /^GET (\S+)/.exec(buffered)![1]!.split('?')[0]!
      buffered = buffered.slice(end + 4)
      conn.write(HEAD)
      const pieces = (ANSWERS[path] ?? []).map(chunk)
      if (LATE_END.has(path)) {
        setTimeout(() => conn.write(Buffer.concat(pieces)), 100)
        setTimeout(() => conn.write('0\r\n\r\n'), 200)
      } else {
        setTimeout(() => conn.write(Buffer.concat([...pieces, Buffer.from('0\r\n\r\n')])), 100)
      }
    })
  })
  await new Promise<void>((resolve) => engine.listen(socket, resolve))
  dw = await startDockward({
    upstream: `unix://${socket}`,
    config: (socketPath) => `listen:\n  - unix://${socketPath}\npolicy: admin\naudit:\n  destination: none\n`
  })
})

after(async () => {
  await dw?.stop()
  await new Promise<void>((resolve) => engine.close(() => resolve()))
  rmSync(dir, { recursive: true, force: true })
})

function get (path: string): Promise<{ status: number, body: Buffer }> {
  return new Promise((resolve, reject) => {
    http.get({ socketPath: dw.socketPath, path, agent: false }, (res) => {
      const parts: Buffer[] = []
      res.on('data', (b: Buffer) => parts.push(b))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(parts) }))
      res.on('error', reject)
    }).on('error', reject)
  })
}

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex')

for (const [path, pieces] of Object.entries(ANSWERS)) {
  const total = pieces.reduce((n, p) => n + p.length, 0)
  const end = LATE_END.has(path) ? 'its last chunk later' : 'its last chunk with them'
  test(`a chunked answer of ${pieces.length} piece(s), ${total} bytes, after its head, ${end}: whole and in order (${path})`, { timeout: 10_000 }, async () => {
    const r = await get(path)
    assert.equal(r.status, 200)
    assert.equal(r.body.length, total)
    assert.equal(sha(r.body), sha(Buffer.concat(pieces)))
  })
}
