import http from 'node:http'
import net from 'node:net'

/** An open streaming response through dockward: its head, what came so far, and how it ended. */
export interface OpenStream {
  readonly status: number
  readonly text: () => string
  /** 'end': the response completed; 'cut': the connection closed before it did. */
  readonly ended: Promise<'end' | 'cut'>
  /** When the connection closed (Date.now()). */
  readonly connectionClosed: Promise<number>
}

/**
 * Sends a request on a unix socket and resolves once the response head arrived, with the body
 * still coming: for streams (`logs -f`, `events`, `POST /wait`) that a test ends or cuts.
 *
 * @example const events = await openStream(dw.socketPath, 'GET', '/events'); assert.equal(await events.ended, 'cut')
 */
export function openStream (socketPath: string, method: string, path: string, agent: http.Agent | false = false): Promise<OpenStream> {
  return new Promise((resolve, reject) => {
    let connectionClosed: Promise<number> = new Promise(() => {})
    const req = http.request({ socketPath, method, path, agent, headers: method === 'POST' ? { 'Content-Length': '0' } : {} }, (res) => {
      let text = ''
      res.setEncoding('latin1')
      res.on('data', (s: string) => { text += s })
      const ended = new Promise<'end' | 'cut'>((done) => {
        res.on('end', () => done('end'))
        res.on('error', () => done('cut'))
        res.on('close', () => done(res.complete ? 'end' : 'cut'))
      })
      resolve({ status: res.statusCode ?? 0, text: () => text, ended, connectionClosed })
    })
    req.on('socket', (s) => { connectionClosed = new Promise((done) => s.once('close', () => done(Date.now()))) })
    req.on('error', reject)
    req.end()
  })
}

/** A hijacked attach: everything received so far (101 head and stream), and when it closed. */
export interface OpenAttach {
  readonly socket: net.Socket
  readonly received: () => string
  readonly closed: Promise<void>
}

/**
 * Attaches to a container's stdout through dockward with `Upgrade: tcp` and resolves once `until`
 * holds for what came back (default: the 101 head), or after 2.5 s.
 *
 * @example const a = await openAttach(dw.socketPath, id, (s) => s.includes('tick')); assert.match(a.received(), /^HTTP\/1\.1 101 /)
 */
export async function openAttach (socketPath: string, id: string, until: (received: string) => boolean = (s) => s.includes('\r\n\r\n')): Promise<OpenAttach> {
  const socket = net.connect(socketPath)
  let received = ''
  socket.setEncoding('latin1')
  socket.on('data', (s: string) => { received += s })
  socket.on('error', () => {})
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()))
  socket.write(`POST /containers/${id}/attach?stream=1&stdout=1 HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n`)
  for (let i = 0; i < 50 && !until(received); i++) await new Promise((resolve) => setTimeout(resolve, 50))
  return { socket, received: () => received, closed }
}
