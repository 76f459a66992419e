import fs from 'node:fs'
import http from 'node:http'
import net from 'node:net'
import tls from 'node:tls'
import type { Duplex } from 'node:stream'
import type { Limits } from '../config/config.ts'
import type { ListenAddress } from './listen-address.ts'
import { bindUnixSocket } from './unix-socket.ts'
import { ConfigError, ExpectationFailedError, HeadersTimeoutError, HeadersTooLargeError, MalformedRequestError, type GatewayError } from '../core/errors.ts'
import { sendError, sendErrorOnSocket } from '../core/error-response.ts'
import { browserGuard } from './browser-guard.ts'
import { secureContextOptions, type TlsSettings } from './tls-settings.ts'

/** What the listeners hand every connection's requests to. */
export interface RequestSink {
  request: (req: http.IncomingMessage, res: http.ServerResponse) => void
  /**
   * Called once earlier pipelined answers on the connection are written, with the socket paused
   * (resume it to read) and its timeout off. `resumeHttp` gives the socket back to the HTTP parser
   * when the exchange did not switch protocols.
   */
  upgrade: (req: http.IncomingMessage, socket: Duplex, head: Buffer, resumeHttp: ResumeHttp) => void
  /**
   * Looks at the first bytes of a new connection before the HTTP parser does, and may rewrite them
   * (see route/connection-preface.ts). Calls `proceed` with the bytes to parse, or never when it
   * answered and closed the connection itself.
   */
  preface: (socket: net.Socket, first: Buffer, proceed: (bytes: Buffer) => void) => void
  /** A request the listener refused itself (the browser guard), for the audit log. */
  refused?: (req: http.IncomingMessage, err: GatewayError) => void
  /** A connection refused before a request on it parsed (malformed HTTP, headers too large or slow), for the audit log. */
  unparsed?: (socket: Duplex, err: GatewayError) => void
}

export type ResumeHttp = (socket: Duplex, unread: Buffer) => void

export interface Listener {
  readonly address: ListenAddress
  /** The bound port for TCP (useful with port 0) or the socket path. */
  readonly bound: string
  /**
   * Stops accepting at once and closes idle connections. Requests, streams and hijacked sessions
   * in flight get `graceMs` (0: none) to end by themselves; their connections close when they do,
   * and whatever is still open at the deadline is cut. Resolves with the number cut.
   */
  close: (graceMs?: number) => Promise<number>
  /**
   * TLS listeners: re-reads the certificate, key and client CAs for new connections; open ones go
   * on with what they were accepted with. Throws a ConfigError, keeping the files in force, when the
   * new ones do not load. A no-op for other listeners.
   */
  reload?: () => void
}

/**
 * Starts one listener. A net.Server (a tls.Server for `tls://`) accepts the connection, the sink
 * gets a look at its first (decrypted) bytes, and then it is handed to an http.Server that never
 * listens itself.
 *
 * @example const l = await startListener(parseListenUrl('tcp://127.0.0.1:2375'), DEFAULT_LIMITS, gateway.sinkFor('tcp://127.0.0.1:2375'))
 */
export async function startListener (address: ListenAddress, limits: Limits, sink: RequestSink): Promise<Listener> {
  const httpServer = http.createServer({
    // Long uploads (build contexts, image loads) must not be cut off; streams never time out.
    requestTimeout: 0,
    headersTimeout: limits.headersTimeout,
    // Node checks the header timer on this interval (30 s by default); check often enough that
    // the configured timeout is what a slow client gets.
    connectionsCheckingInterval: Math.min(30_000, Math.max(250, Math.floor(limits.headersTimeout / 4))),
    keepAliveTimeout: limits.keepAliveTimeout,
    maxHeaderSize: limits.maxHeaderSize,
    insecureHTTPParser: false,
    noDelay: true
  })
  // Node arms its header and request timers only for servers that emitted 'listening'; this one
  // never listens itself (the net.Server below does), so it is told.
  httpServer.emit('listening')
  const guard = browserGuard(address)
  // Set by close(): answers still go out, but each connection closes after its last one.
  let draining = false
  const closeAfter = (res: http.ServerResponse): void => {
    if (!res.headersSent) res.shouldKeepAlive = false
    // An answer whose head went out before the drain began said keep-alive; its connection is
    // idle once the answer is done, and closed then.
    res.once('finish', () => setImmediate(() => httpServer.closeIdleConnections()))
  }
  httpServer.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
    ;(req.socket as AnsweringSocket)[kAnswering] = res
    if (draining) closeAfter(res)
    const refused = guard?.(req) ?? null
    if (refused === null) sink.request(req, res)
    else {
      res.shouldKeepAlive = false
      sink.refused?.(req, refused)
      sendError(res, refused)
    }
  })
  // Node answers an Expect other than 100-continue with a bare 417 of its own, unrecorded; this
  // one is in the engine's format and audited. The body that may follow is not read: close.
  httpServer.on('checkExpectation', (req: http.IncomingMessage, res: http.ServerResponse) => {
    ;(req.socket as AnsweringSocket)[kAnswering] = res
    const err = new ExpectationFailedError(req.headers.expect ?? '')
    res.shouldKeepAlive = false
    sink.refused?.(req, err)
    sendError(res, err)
  })
  httpServer.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => onClientError(err, socket, sink))
  // A connection enters the HTTP parser here, first after the preface and again after an upgrade
  // the engine did not grant. 'connection' may be emitted by users to inject sockets (Node docs).
  const resume: ResumeHttp = (socket, unread) => {
    // Back from an upgrade the engine did not grant, during a drain: nothing more is asked of
    // this connection, so it closes now instead of idling until the deadline.
    if (draining && unread.length === 0) { (socket as net.Socket).destroySoon(); return }
    socket.removeListener('end', endEarly)
    // From here on Node's own timers apply; none of the ones before may fire.
    ;(socket as net.Socket).setTimeout(0)
    if (unread.length > 0) socket.unshift(unread)
    httpServer.emit('connection', socket)
    socket.resume()
  }
  httpServer.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    // A keep-alive timer armed after an earlier answer must not fire on a hijacked stream, and
    // nothing may be read off the socket before the request is admitted and relayed.
    ;(socket as net.Socket).setTimeout?.(0)
    socket.on('error', () => socket.destroy())
    socket.pause()
    const handOver = (): void => {
      const refused = guard?.(req) ?? null
      if (refused === null) sink.upgrade(req, socket, head, resume)
      else {
        sink.refused?.(req, refused)
        sendErrorOnSocket(socket, refused)
      }
    }
    // Node hands a socket over on 'upgrade' even while earlier pipelined answers are still being
    // written. Answers go out in order, so waiting for the latest waits for all of them.
    const earlier = (socket as AnsweringSocket)[kAnswering]
    if (earlier !== undefined && !earlier.writableFinished && !earlier.destroyed) earlier.once('close', handOver)
    else handOver()
  })

  // Every accepted connection, ordinary or hijacked, so that close() can end them: net.Server.close()
  // alone waits for all of them, and a `logs -f` or attach never ends by itself.
  const sockets = new Set<net.Socket>()
  // The ones clients speak HTTP on (TCP, or TLS after the handshake), counted when cut.
  const accepted = new WeakSet<net.Socket>()
  // Connections that have not sent a byte yet: nothing of theirs is in flight.
  const fresh = new Set<net.Socket>()
  let allClosed: (() => void) | null = null
  const track = (socket: net.Socket): void => {
    sockets.add(socket)
    socket.once('close', () => {
      sockets.delete(socket)
      fresh.delete(socket)
      if (sockets.size === 0) allClosed?.()
    })
  }
  // A TCP connection, or a TLS one once its handshake is done.
  const accept = (socket: net.Socket): void => {
    // A TLS handshake that was under way when the drain began.
    if (draining) { socket.destroy(); return }
    track(socket)
    accepted.add(socket)
    fresh.add(socket)
    socket.setNoDelay(true)
    // Until the HTTP parser has it: a client that sends nothing in time, or only a FIN (the
    // socket is half-open, so nothing would end dockward's side), is closed.
    socket.setTimeout(limits.headersTimeout, () => socket.destroy())
    socket.once('end', endEarly)
    socket.once('data', (first: Buffer) => {
      fresh.delete(socket)
      socket.pause()
      sink.preface(socket, first, (bytes) => resume(socket, bytes))
    })
    socket.on('error', () => socket.destroy())
    socket.resume()
  }
  // allowHalfOpen: a hijacked `docker exec -i` closes its write side first and still reads.
  const tlsSettings = address.kind === 'tcp' ? address.tls : undefined
  let server: net.Server
  let reload = (): void => {}
  if (tlsSettings === undefined) {
    server = net.createServer({ allowHalfOpen: true, pauseOnConnect: true }, accept)
  } else {
    const tlsServer = createTlsServer(tlsSettings, limits, accept, track)
    server = tlsServer
    reload = () => tlsServer.setSecureContext(secureContextOptions(tlsSettings))
  }

  if (address.kind === 'unix') {
    await bindUnixSocket(address, () => listen(server, { path: address.path }), () => server.close())
  } else {
    await listen(server, { host: address.host, port: address.port })
  }
  // Accept failures (EMFILE under a flood) must not end the process; the listener keeps going.
  server.on('error', (err) => process.emitWarning(`dockward: listener ${address.url}: ${err.message}`))
  const addr = server.address()
  const bound = typeof addr === 'string' ? addr : addr === null ? '' : `${addr.address.includes(':') ? `[${addr.address}]` : addr.address}:${addr.port}`

  return {
    address,
    bound,
    reload,
    close: async (graceMs = 0) => {
      draining = true
      // net.Server.close() stops accepting now; its callback waits for every connection.
      const closed = new Promise<void>((resolve) => server.close(() => resolve()))
      // New clients of a unix listener find no socket rather than one nobody accepts on.
      if (address.kind === 'unix') fs.rmSync(address.path, { force: true })
      for (const socket of fresh) socket.destroy()
      for (const socket of sockets) {
        const res = (socket as AnsweringSocket)[kAnswering]
        if (res !== undefined && !res.writableFinished) closeAfter(res)
      }
      // Node's server knows which of its connections sit between requests (hijacked ones have
      // left its list); those close now, the busy ones after their answer (see 'request').
      httpServer.closeIdleConnections()
      let cut = 0
      if (sockets.size > 0 && graceMs > 0) {
        let timer: NodeJS.Timeout | undefined
        await new Promise<void>((resolve) => {
          allClosed = resolve
          timer = setTimeout(resolve, graceMs)
        })
        clearTimeout(timer)
      }
      // The deadline: streams (logs -f, events, attach) and slow requests are cut. Their engine
      // side is closed by the relays when the client socket goes.
      for (const socket of sockets) {
        if (!socket.destroyed && accepted.has(socket)) cut++
        socket.destroy()
      }
      httpServer.close()
      await closed
      return cut
    }
  }
}

/**
 * The answer a connection is writing or will write next (its latest request's), kept on the socket
 * itself: the drain and a pipelined upgrade need it. A per-request entry in a listener-wide Set
 * cost more (in young-generation garbage collection) than the rest of the listener's work.
 */
const kAnswering = Symbol('dockward.answering')
interface AnsweringSocket extends Duplex { [kAnswering]?: http.ServerResponse }

function endEarly (this: Duplex): void { this.destroy() }

/**
 * The way `dockerd --tlsverify` listens. Client certificates are asked for when there is a client
 * CA, but a handshake without one (or with one that does not verify) still completes: the mTLS
 * authenticator reads the verdict from the socket, and a request no method identifies gets the
 * gateway's 401 in the engine's format instead of a handshake failure the CLI cannot explain.
 */
function createTlsServer (settings: TlsSettings, limits: Limits, accept: (socket: net.Socket) => void, track: (socket: net.Socket) => void): tls.Server {
  const server = tls.createServer({
    ...secureContextOptions(settings),
    requestCert: settings.clientCa !== undefined,
    rejectUnauthorized: false,
    allowHalfOpen: true,
    handshakeTimeout: limits.headersTimeout
  }, accept)
  // The raw connection as well, so close() also ends handshakes in progress.
  server.on('connection', (raw: net.Socket) => {
    track(raw)
    raw.setNoDelay(true)
    raw.on('error', () => raw.destroy())
  })
  // Failed and timed-out handshakes: nothing to answer, the peer speaks no TLS we accept.
  server.on('tlsClientError', (_err: Error, socket: tls.TLSSocket) => socket.destroy())
  return server
}

function listen (server: net.Server, options: net.ListenOptions): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      const where = options.path ?? `${options.host ?? ''}:${options.port ?? ''}`
      reject(new ConfigError(`cannot listen on ${where}: ${err.code ?? err.message}`))
    })
    server.listen(options, () => {
      server.removeAllListeners('error')
      resolve()
    })
  })
}

// Malformed HTTP, oversize headers, slow headers: recorded, answered in the engine's format, closed.
// A client that reset, or half-closed mid-request (HPE_INVALID_EOF_STATE, also mid-body of a request
// already forwarded, whose own record tells), left: nothing to answer or record.
function onClientError (err: NodeJS.ErrnoException, socket: Duplex, sink: RequestSink): void {
  if (err.code === 'ECONNRESET' || err.code === 'HPE_INVALID_EOF_STATE' || !socket.writable) { socket.destroy(); return }
  const refusal = err.code === 'HPE_HEADER_OVERFLOW'
    ? new HeadersTooLargeError()
    : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' || err.code === 'ERR_HTTP_HEADERS_TIMEOUT'
      ? new HeadersTimeoutError()
      : new MalformedRequestError(err.code ?? 'parse error')
  sink.unparsed?.(socket, refusal)
  // Garbage pipelined behind an answer not yet written in full: a 400 now would land inside that
  // answer, so it follows the answer, in order (or the connection goes, if the answer failed).
  const answering = (socket as AnsweringSocket)[kAnswering]
  if (answering !== undefined && !answering.writableFinished) {
    answering.once('close', () => {
      if (answering.writableFinished && socket.writable) sendErrorOnSocket(socket, refusal)
      else socket.destroy()
    })
    return
  }
  sendErrorOnSocket(socket, refusal)
}
