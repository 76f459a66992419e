import { createHash, timingSafeEqual } from 'node:crypto'
import fs from 'node:fs'
import http from 'node:http'
import https from 'node:https'
import Fastify, { type FastifyReply, type FastifyRequest } from 'fastify'
import type { Registry } from 'prom-client'
import { ConfigError } from '../core/errors.ts'
import { AMBIGUOUS, bearerToken } from '../identify/authenticator.ts'
import { browserGuard } from '../listen/browser-guard.ts'
import { secureContextOptions } from '../listen/tls-settings.ts'
import { bindUnixSocket } from '../listen/unix-socket.ts'
import type { AdminConfig } from './admin-settings.ts'

/** One readiness check's verdict; `detail` says why not (or what is in force). */
export interface CheckResult {
  readonly ok: boolean
  readonly detail?: string
}

/** What a reload did, for the `POST /reload` answer. */
export interface ReloadReport {
  /** False when the policy (or anything else) failed to load; what was in force stays. */
  readonly ok: boolean
  readonly message: string
  readonly policy: { readonly name: string, readonly digest: string, readonly changed: boolean }
}

/** What the admin API reads from the running gateway. */
export interface AdminSources {
  readonly metrics: Registry
  /** Readiness checks, by name: engine, policy, audit. */
  readonly checks: Readonly<Record<string, () => Promise<CheckResult> | CheckResult>>
  /** The policy in force. */
  readonly policy: () => { readonly name: string, readonly digest: string, readonly source: string }
  /** Does what SIGHUP does: policy, authenticators' keys, TLS files, the audit file. */
  readonly reload: () => ReloadReport
  readonly log: (message: string) => void
}

export interface AdminServer {
  /** `host:port` or the socket path. */
  readonly bound: string
  /** Re-reads the token file (on reload). Throws a ConfigError, keeping the old token, when it cannot. */
  reloadToken: () => void
  /**
   * Re-reads the TLS certificate, key and client CA of a tls:// admin listener (on reload): new
   * connections get them. Throws a ConfigError, keeping the ones in force, when they cannot be read.
   */
  reloadTls: () => void
  close: () => Promise<void>
}

const MIN_TOKEN_LENGTH = 16

/**
 * The admin API, on a listener of its own (never a proxied one's address: admin-settings.ts):
 *
 * - `GET /healthz`: 200 while the process serves.
 * - `GET /readyz`: 200 when every check passes (engine answers `/_ping`, a policy is loaded, the
 *   audit log can be written), else 503 with the engine's error format plus each check.
 * - `GET /metrics`: Prometheus text format.
 * - `GET /policy`: the policy in force, its source and SHA-256.
 * - `POST /reload`: what SIGHUP does; needs `Authorization: Bearer <admin token>`, always.
 *
 * Off loopback (`protectReads`), `/metrics` and `/policy` need the token too; the probes stay open.
 *
 * @example const admin = await startAdminServer(config.admin, { metrics: m.registry, checks, policy, reload, log })
 */
export async function startAdminServer (config: AdminConfig, sources: AdminSources): Promise<AdminServer> {
  let tokenDigest: Buffer | null = config.tokenSha256 === null ? null : Buffer.from(config.tokenSha256, 'hex')
  const reloadToken = (): void => {
    if (config.tokenFile !== null) tokenDigest = readTokenFile(config.tokenFile)
  }
  reloadToken()

  const address = config.address
  const tlsSettings = address.kind === 'tcp' ? address.tls : undefined
  let tlsServer: https.Server | null = null
  const app = Fastify({
    logger: false,
    bodyLimit: 1024,
    // dockward's own server: HTTP or HTTPS with the listener's files (client certificates, when
    // a client CA is set, are required in the handshake).
    serverFactory: (handler) => {
      if (tlsSettings === undefined) return http.createServer(handler)
      const requireCerts = tlsSettings.clientCa !== undefined
      tlsServer = https.createServer({ ...secureContextOptions(tlsSettings), requestCert: requireCerts, rejectUnauthorized: requireCerts }, handler)
      return tlsServer
    }
  })
  const reloadTls = (): void => {
    if (tlsServer !== null && tlsSettings !== undefined) tlsServer.setSecureContext(secureContextOptions(tlsSettings))
  }
  // A web page must not read /metrics or /policy (a fetch, or a name rebound to 127.0.0.1): the
  // same guard as the proxied TCP listeners. Prometheus, kubelet probes and curl send no Origin.
  const guard = browserGuard(address)
  if (guard !== null) {
    app.addHook('onRequest', async (req, reply) => {
      const refused = guard(req.raw)
      if (refused !== null) await reply.code(refused.status).send({ message: refused.message })
    })
  }
  // Bodies are never read: /reload takes none, and nothing else accepts POST.
  app.removeAllContentTypeParsers()
  app.addContentTypeParser('*', (_req, _payload, done) => done(null))

  /** Whether the request carries the admin token: constant time on SHA-256 digests. */
  const hasToken = (req: FastifyRequest): boolean => {
    if (tokenDigest === null) return false
    const token = bearerToken(req.raw)
    const presented = typeof token === 'string' && token !== '' ? createHash('sha256').update(token).digest() : null
    // Compared even when absent (against a digest of nothing) so time says nothing.
    const equal = timingSafeEqual(presented ?? Buffer.alloc(32), tokenDigest)
    return presented !== null && token !== AMBIGUOUS && equal
  }
  /** Bearer check; answers 401/403 itself and returns false. */
  const authorized = (req: FastifyRequest, reply: FastifyReply): boolean => {
    if (tokenDigest === null) {
      void reply.code(403).send({ message: 'dockward: the admin API has no token (admin.tokenSha256 or admin.tokenFile), so this endpoint is disabled' })
      return false
    }
    if (hasToken(req)) return true
    void reply.code(401).header('WWW-Authenticate', 'Bearer').send({ message: 'authentication required' })
    return false
  }
  const readAllowed = (req: FastifyRequest, reply: FastifyReply): boolean => !config.protectReads || authorized(req, reply)

  app.get('/healthz', async () => ({ status: 'ok' }))

  app.get('/readyz', async (req, reply) => {
    const names = Object.keys(sources.checks)
    const results = await Promise.all(names.map(async (name) => {
      try {
        return await sources.checks[name]!()
      } catch (err) {
        return { ok: false, detail: (err as Error).message }
      }
    }))
    const checks: Record<string, CheckResult> = {}
    // Off loopback the probe stays open, but what is in force (policy digest, upstream address)
    // is for token holders, as on /policy.
    const details = !config.protectReads || hasToken(req)
    names.forEach((name, i) => { checks[name] = details ? results[i]! : { ok: results[i]!.ok } })
    const failed = names.filter((n) => !checks[n]!.ok)
    if (failed.length === 0) return { status: 'ready', checks }
    const why = failed.map((n) => `${n}${checks[n]!.detail === undefined ? '' : ` (${checks[n]!.detail!})`}`).join(', ')
    return await reply.code(503).send({ message: `dockward is not ready: ${why}`, status: 'not ready', checks })
  })

  app.get('/metrics', async (req, reply) => {
    if (!readAllowed(req, reply)) return reply
    return await reply.type(sources.metrics.contentType).send(await sources.metrics.metrics())
  })

  app.get('/policy', async (req, reply) => {
    if (!readAllowed(req, reply)) return reply
    return sources.policy()
  })

  app.post('/reload', async (req, reply) => {
    if (!authorized(req, reply)) return reply
    const report = sources.reload()
    sources.log(`reload through the admin API: ${report.message}`)
    return await reply.code(report.ok ? 200 : 422).send(report)
  })

  app.setNotFoundHandler(async (_req, reply) => await reply.code(404).send({ message: 'page not found' }))
  app.setErrorHandler(async (err: { statusCode?: number, message: string }, _req, reply) => {
    const status = typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500
    if (status === 500) sources.log(`admin API: ${err.message}`)
    return await reply.code(status).send({ message: status === 500 ? 'dockward could not process the request' : err.message })
  })

  let bound: string
  if (address.kind === 'unix') {
    await bindUnixSocket(address, () => listenOrExplain(() => app.listen({ path: address.path }), address.url), () => app.close())
    bound = address.path
  } else {
    await listenOrExplain(() => app.listen({ host: address.host, port: address.port }), address.url)
    const a = app.server.address()
    bound = typeof a === 'object' && a !== null ? `${a.address.includes(':') ? `[${a.address}]` : a.address}:${a.port}` : String(a)
  }

  return {
    bound,
    reloadToken,
    reloadTls,
    close: async () => {
      await app.close()
      if (address.kind === 'unix') fs.rmSync(address.path, { force: true })
    }
  }
}

async function listenOrExplain (listen: () => Promise<unknown>, url: string): Promise<void> {
  try {
    await listen()
  } catch (err) {
    throw new ConfigError(`cannot listen on ${url} (admin): ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`)
  }
}

/** The SHA-256 of the token in `file` (surrounding whitespace dropped), or a ConfigError. */
function readTokenFile (file: string): Buffer {
  let token: string
  try {
    token = fs.readFileSync(file, 'utf8').trim()
  } catch (err) {
    throw new ConfigError(`admin.tokenFile: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`)
  }
  if (token.length < MIN_TOKEN_LENGTH || /\s/.test(token)) {
    throw new ConfigError(`admin.tokenFile: ${file} must hold one token of at least ${MIN_TOKEN_LENGTH} characters without spaces`)
  }
  return createHash('sha256').update(token).digest()
}
