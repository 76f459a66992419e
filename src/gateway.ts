import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Socket } from 'node:net'
import type { Duplex } from 'node:stream'
import type { Config } from './config/config.ts'
import { RouteNotFoundError, toGatewayError, UnsupportedUpgradeError } from './core/errors.ts'
import { sendError, sendErrorOnSocket } from './core/error-response.ts'
import { forwardRequest } from './forward/forward.ts'
import { relayUpgrade } from './forward/hijack.ts'
import { rawHeader } from './forward/hop-headers.ts'
import { bodyFraming, declaresBody } from './forward/request-framing.ts'
import { execStartIsDetached } from './inspect/exec-start-body.ts'
import { readBody } from './inspect/read-body.ts'
import { createUpstream, type Upstream } from './forward/upstream.ts'
import type { RequestSink, ResumeHttp } from './listen/listeners.ts'
import { createPrefaceReader } from './route/connection-preface.ts'
import { parseRequestTarget, type RequestTarget } from './route/request-target.ts'
import { createRouteMatcher, type RouteMatch, type RouteMatcher } from './route/route-matcher.ts'
import { routeTable } from './route/route-table.ts'

/** One request as the later stages see it: what it names, on which API version. */
export interface ParsedRequest {
  readonly method: string
  readonly target: RequestTarget
  readonly route: RouteMatch
}

/**
 * The composition root: every request goes listen → route → forward (identify, inspect, decide
 * and observe slot in between as they land). Anything that fails before forwarding is answered
 * here, in the engine's error format, and never reaches the engine.
 */
export interface Gateway extends RequestSink {
  readonly upstream: Upstream
  close: () => void
}

export function createGateway (config: Config): Gateway {
  const upstream = createUpstream(config.upstream)
  const matchRoute = createRouteMatcher(routeTable)
  const legacyHijack = new WeakSet<Duplex>()

  // Responses still being written on each connection. Node hands a socket over on 'upgrade' even
  // while earlier pipelined responses are in flight; the upgrade waits for them.
  const inFlight = new WeakMap<Duplex, { count: number, idle: (() => void) | null }>()

  function request (req: IncomingMessage, res: ServerResponse): void {
    const track = inFlight.get(req.socket) ?? { count: 0, idle: null }
    track.count++
    inFlight.set(req.socket, track)
    res.once('close', () => {
      if (--track.count === 0 && track.idle !== null) {
        const idle = track.idle
        track.idle = null
        idle()
      }
    })

    let framing
    let parsed
    try {
      parsed = parseRequest(req, matchRoute)
      // The pre-Upgrade attach only works as a connection's first request (connection-preface.ts);
      // later on one, the stream that follows would be read as HTTP.
      if (parsed.route.operation === 'ContainerAttach') {
        throw new UnsupportedUpgradeError('attach needs "Connection: Upgrade" and "Upgrade: tcp", or must be the first request on its connection')
      }
      framing = bodyFraming(req.rawHeaders)
    } catch (err) {
      fail(res, err)
      return
    }
    res.sendDate = false
    if (parsed.route.operation === 'ExecStart') {
      // Without Upgrade, only a detached exec start stays HTTP (`docker exec -d`); an attached one
      // would turn a connection dockward reads as HTTP into a raw stream.
      readBody(req, config.limits.upgradeBodyLimit, config.limits.headersTimeout).then((body) => {
        if (!execStartIsDetached(body)) {
          throw new UnsupportedUpgradeError('an attached exec start needs "Connection: Upgrade" and "Upgrade: tcp", or must be the first request on its connection')
        }
        forwardRequest(req, res, upstream, framing, noop, body)
      }).catch((err: unknown) => fail(res, err))
      return
    }
    try {
      forwardRequest(req, res, upstream, framing, noop)
    } catch (err) {
      // http.request validates headers again; never let a throw here take the process down.
      fail(res, err)
    }
  }

  function upgrade (req: IncomingMessage, socket: Duplex, head: Buffer, resumeHttp: ResumeHttp): void {
    // A keep-alive timer armed after an earlier response must not fire on a hijacked stream.
    ;(socket as Socket).setTimeout?.(0)
    socket.on('error', () => socket.destroy())
    const track = inFlight.get(socket)
    if (track !== undefined && track.count > 0) {
      socket.pause()
      track.idle = () => upgradeWhenIdle(req, socket, head, resumeHttp)
      return
    }
    upgradeWhenIdle(req, socket, head, resumeHttp)
  }

  function upgradeWhenIdle (req: IncomingMessage, socket: Duplex, head: Buffer, resumeHttp: ResumeHttp): void {
    const legacy = legacyHijack.has(socket)
    legacyHijack.delete(socket)
    let protocol
    try {
      const parsed = parseRequest(req, matchRoute)
      const asked = (rawHeader(req.rawHeaders, 'upgrade') ?? '').trim().toLowerCase()
      protocol = parsed.route.upgrade
      // Only the protocol the route switches to; anything else is stripped (the request stays an
      // ordinary exchange) or, on a route that does switch, refused.
      if (protocol !== null && asked !== protocol) {
        throw new UnsupportedUpgradeError(`${parsed.route.operation} upgrades to ${JSON.stringify(protocol)} only, not ${JSON.stringify(asked)}`)
      }
    } catch (err) {
      sendErrorOnSocket(socket, toGatewayError(err))
      return
    }
    const limits = config.limits
    try {
      relayUpgrade({ req, socket, head, protocol, legacy, bodyLimit: limits.upgradeBodyLimit, bodyTimeout: limits.headersTimeout, resumeHttp }, upstream, noop)
    } catch (err) {
      sendErrorOnSocket(socket, toGatewayError(err))
    }
  }

  const preface = createPrefaceReader({
    matchRoute,
    maxHeaderSize: config.limits.maxHeaderSize,
    headersTimeout: config.limits.headersTimeout,
    onLegacyHijack: (socket: Socket) => { legacyHijack.add(socket) },
    reject: sendErrorOnSocket
  })

  return { request, upgrade, preface, upstream, close: upstream.close }
}

/** Route step: checks the target and names the operation; throws a GatewayError otherwise. */
export function parseRequest (req: IncomingMessage, matchRoute: RouteMatcher): ParsedRequest {
  const target = parseRequestTarget(req.url ?? '')
  const route = matchRoute(req.method ?? '', target.path)
  if (route === null) throw new RouteNotFoundError()
  return { method: req.method!, target, route }
}

function fail (res: ServerResponse, err: unknown): void {
  // The body was not read: close after answering rather than parse an unknown rest as a request.
  if (declaresBody(res.req.rawHeaders)) res.shouldKeepAlive = false
  sendError(res, toGatewayError(err))
}

function noop (): void {}
