import type { Socket } from 'node:net'
import { HeadersTimeoutError, HttpVersionNotSupportedError, type GatewayError } from '../core/errors.ts'
import { parseRequestTarget } from './request-target.ts'
import type { RouteMatcher } from './route-matcher.ts'

export interface PrefaceOptions {
  readonly matchRoute: RouteMatcher
  readonly maxHeaderSize: number
  readonly headersTimeout: number
  /** The connection opens with a pre-Upgrade attach or exec start (see below). */
  readonly onLegacyHijack: (socket: Socket) => void
  readonly reject: (socket: Socket, err: GatewayError) => void
}

const LEGACY_OPERATIONS = new Set(['ContainerAttach', 'ExecStart'])
const UPGRADE_HEADERS = Buffer.from('Connection: Upgrade\r\nUpgrade: tcp\r\n', 'latin1')
const CRLFCRLF = Buffer.from('\r\n\r\n')

/**
 * Reads the first request of a connection before Node's HTTP parser sees it, for two reasons:
 *
 * - HTTP/2 with prior knowledge opens with `PRI * HTTP/2.0`; it is refused with a clear answer.
 * - The old form of attach and exec start carries no Upgrade headers, yet the engine hijacks the
 *   connection (moby api/server/router/container/exec.go writes `200 OK` and a raw stream). Node
 *   would parse the stdin that follows as HTTP. Such a request gets `Connection: Upgrade` and
 *   `Upgrade: tcp` added so Node hands over the socket, and the hijack relay answers it in the old
 *   form. Docker clients dial a new connection for every hijack, so the first request is the place.
 *
 * Everything else is passed through untouched, usually from the first chunk.
 */
export function createPrefaceReader (options: PrefaceOptions) {
  return function readPreface (socket: Socket, first: Buffer, proceed: (bytes: Buffer) => void): void {
    let buf = first
    let timer: NodeJS.Timeout | null = null

    const step = (): boolean => {
      if (buf.length >= 3 && buf.toString('latin1', 0, 3) === 'PRI') {
        options.reject(socket, new HttpVersionNotSupportedError('dockward speaks HTTP/1.1 only; HTTP/2 with prior knowledge is not supported'))
        return true
      }
      const lineEnd = buf.indexOf('\r\n')
      if (lineEnd === -1) return buf.length > options.maxHeaderSize ? pass() : false
      const line = /^POST (\S+) HTTP\/1\.[01]$/.exec(buf.toString('latin1', 0, lineEnd))
      if (line === null || !isLegacyCandidate(line[1]!)) return pass()
      const headerEnd = buf.indexOf(CRLFCRLF)
      if (headerEnd === -1) return buf.length > options.maxHeaderSize ? pass() : false
      const hasUpgrade = buf.toString('latin1', lineEnd, headerEnd).split('\r\n').some((h) => /^upgrade\s*:/i.test(h))
      if (hasUpgrade) return pass()
      options.onLegacyHijack(socket)
      buf = Buffer.concat([buf.subarray(0, lineEnd + 2), UPGRADE_HEADERS, buf.subarray(lineEnd + 2)])
      return pass()
    }
    const pass = (): true => {
      if (timer !== null) {
        clearTimeout(timer)
        socket.removeListener('data', onData)
        socket.pause()
      }
      proceed(buf)
      return true
    }
    const onData = (chunk: Buffer): void => {
      buf = Buffer.concat([buf, chunk])
      step()
    }

    if (step()) return
    // The request line or headers are split across packets: wait, within the header timeout.
    timer = setTimeout(() => {
      socket.removeListener('data', onData)
      options.reject(socket, new HeadersTimeoutError())
    }, options.headersTimeout)
    socket.on('data', onData)
    socket.once('close', () => { if (timer !== null) clearTimeout(timer) })
    socket.resume()
  }

  function isLegacyCandidate (target: string): boolean {
    try {
      const match = options.matchRoute('POST', parseRequestTarget(target).path)
      return match !== null && LEGACY_OPERATIONS.has(match.operation)
    } catch {
      // A bad target gets its proper answer from the request handler.
      return false
    }
  }
}
