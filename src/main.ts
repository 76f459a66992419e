#!/usr/bin/env node
import { readFileSync } from 'node:fs'
import { constants as osConstants } from 'node:os'
import { format } from 'node:util'
import { dirname, isAbsolute, resolve } from 'node:path'
import { parseServeArgs, SERVE_USAGE } from './cli/serve-args.ts'
import { readConfigFile } from './config/config-file.ts'
import { resolveConfig } from './config/config.ts'
import { ConfigError } from './core/errors.ts'
import { runPolicyCommand } from './cli/policy-command.ts'
import { createPolicySetup } from './decide/policy-setup.ts'
import { createGateway } from './gateway.ts'
import type { ListenerAuth } from './identify/authenticate.ts'
import type { Authenticator } from './identify/authenticator.ts'
import { createFixedIdentityAuthenticator } from './identify/fixed-identity.ts'
import { createJwtAuthenticator } from './identify/jwt-authenticator.ts'
import { createMtlsAuthenticator } from './identify/mtls-authenticator.ts'
import { createRateLimiter } from './identify/rate-limiter.ts'
import { createTokenAuthenticator, tokenCommand } from './identify/static-token.ts'
import { parseMtlsSettings } from './identify/mtls-authenticator.ts'
import type { Config, ListenerConfig } from './config/config.ts'
import type { AuthMethod } from './identify/identity.ts'
import { operatorsWarning } from './tenancy/tenancy-settings.ts'
import { startListener, type Listener } from './listen/listeners.ts'
import { startAdminServer, type AdminServer, type ReloadReport } from './admin/admin-server.ts'
import { pingEngine } from './forward/engine-ping.ts'
import { createAuditSink, type AuditSink } from './observe/audit-sink.ts'
import { createMetrics, type GatewayMetrics } from './observe/metrics.ts'
import { createRequestObserver } from './observe/request-trace.ts'

const USAGE = `Usage: dockward <command>

Commands:
  serve       Run the gateway (dockward serve --help)
  policy      Check, explain and test policies (dockward policy --help)
  token       Make a static API token and its config entry (dockward token new --help)
  version     Print the version

Options:
  --version   Print the version
`

function version (): string {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }
  return pkg.version
}

async function serve (argv: readonly string[]): Promise<void> {
  const args = parseServeArgs(argv)
  if (args === 'help') {
    process.stdout.write(SERVE_USAGE)
    return
  }
  // stdout carries the audit records. The only console output left is a Rego policy's print()
  // (the opa-wasm SDK sends it to console.log): it goes to the operational log, one escaped line,
  // so it can never forge or split an audit record.
  for (const method of ['log', 'info', 'warn', 'error', 'debug'] as const) {
    console[method] = (...values: unknown[]) => { log(`console: ${format(...values)}`) }
  }
  const file = args.configFile === undefined ? {} : readConfigFile(args.configFile)
  // A policy file named in a config file is found beside that file, wherever dockward runs from.
  if (args.configFile !== undefined && file.policy !== undefined && looksLikePath(file.policy) && !isAbsolute(file.policy)) {
    file.policy = resolve(dirname(args.configFile), file.policy)
  }
  const config = resolveConfig(file, args.flags, process.env)
  let gatewayUpstream: ReturnType<typeof createGateway>['upstream'] | null = null
  let audit: AuditSink | null = null
  const metrics = createMetrics({
    engineUp: async () => gatewayUpstream !== null && (await pingEngine(gatewayUpstream, ENGINE_PROBE_MS)).ok,
    auditHealthy: config.audit.destination === null ? null : () => audit?.healthy() ?? false,
    version: version()
  })
  audit = openAuditSink(config, metrics)
  // Loads now: a policy that does not load stops start-up (exit 2), like any other bad setting.
  const policy = createPolicySetup({ engine: config.policyEngine, policy: config.policy, opa: config.opa }, log, (result) => {
    metrics.policyReload(result.ok)
    if (result.ok) metrics.policyActive(policy.current().name, policy.current().digest)
  })
  metrics.policyActive(policy.current().name, policy.current().digest)
  const authenticators = createAuthenticators(config)
  const limiter = createRateLimiter(config.rateLimits)
  const observer = createRequestObserver({ audit, failClosed: config.audit.failClosed, metrics })
  const gateway = createGateway({ config, policy, limiter, log, observer })
  gatewayUpstream = gateway.upstream
  const listeners: Listener[] = []
  try {
    for (const address of config.listen) {
      listeners.push(await startListener(address, config.limits, gateway.sinkFor(address.url, listenerAuth(address.auth, authenticators))))
    }
  } catch (err) {
    await Promise.all(listeners.map((l) => l.close()))
    throw err
  }
  for (const l of listeners) log(`listening on ${l.address.kind === 'unix' ? l.address.url : `${l.address.tls === undefined ? 'tcp' : 'tls'}://${l.bound}`}`)
  for (const line of policy.describe()) log(line)
  if (config.tenancy !== null) {
    const warning = operatorsWarning(config.tenancy, identityMethods(config.listen))
    if (warning !== null) log(`warning: ${warning}`)
  }
  log(config.audit.destination === null ? 'audit log off' : `audit log to ${config.audit.destination.kind === 'stdout' ? 'stdout' : config.audit.destination.path}${config.audit.failClosed ? ' (fail-closed)' : ''}`)
  const stopWatching = policy.watch()
  let admin: AdminServer | null = null

  /** SIGHUP and POST /reload: everything read from files is read again; what fails to load stays as it was. */
  const reloadAll = (): ReloadReport => {
    const problems: string[] = []
    const results = policy.reload()
    for (const r of results) if (!r.ok) problems.push(`policy: ${r.error.message}`)
    for (const a of authenticators.values()) a.reload?.()
    // Certificates and CAs: new connections get the new ones, open ones keep theirs.
    for (const l of listeners) {
      try {
        l.reload?.()
      } catch (err) {
        problems.push(`TLS on ${l.address.url}: ${(err as Error).message}`)
        log(`TLS reload failed on ${l.address.url}, keeping the certificates in force: ${(err as Error).message}`)
      }
    }
    // logrotate moved the audit file: open the path again.
    audit?.reopen()
    try {
      admin?.reloadToken()
    } catch (err) {
      problems.push((err as Error).message)
      log(`admin token reload failed, keeping the token in force: ${(err as Error).message}`)
    }
    try {
      admin?.reloadTls()
    } catch (err) {
      problems.push(`TLS on the admin API: ${(err as Error).message}`)
      log(`admin API TLS reload failed, keeping the certificates in force: ${(err as Error).message}`)
    }
    const current = policy.current()
    return {
      ok: problems.length === 0,
      message: problems.length === 0 ? `reloaded; policy ${current.name} (sha256 ${current.digest})` : `reload incomplete, keeping what was in force for: ${problems.join('; ')}`,
      policy: { name: current.name, digest: current.digest, changed: results.some((r) => r.ok && r.changed) }
    }
  }
  process.on('SIGHUP', () => { reloadAll() })

  if (config.admin !== null) {
    try {
      admin = await startAdminServer(config.admin, {
        metrics: metrics.registry,
        checks: {
          engine: async () => {
            const r = await pingEngine(gateway.upstream, ENGINE_PROBE_MS)
            return r.ok ? { ok: true } : { ok: false, detail: `cannot reach ${config.upstream.url}: ${r.error}` }
          },
          policy: () => ({ ok: true, detail: `${policy.current().name} (sha256 ${policy.current().digest})` }),
          audit: () => audit === null
            ? { ok: true, detail: 'off' }
            : audit.healthy() ? { ok: true } : { ok: false, detail: 'the audit log cannot be written' }
        },
        policy: () => ({ name: policy.current().name, digest: policy.current().digest, source: policy.describe().join('; ') }),
        reload: reloadAll,
        log
      })
    } catch (err) {
      await Promise.all(listeners.map((l) => l.close()))
      throw err
    }
    log(`admin API on ${config.admin.address.kind === 'unix' ? config.admin.address.url : `${config.admin.address.tls === undefined ? 'tcp' : 'tls'}://${admin.bound}`}`)
  }
  log(`forwarding to ${config.upstream.url}`)

  // The first SIGTERM or SIGINT drains: no new connections, idle ones closed, answers and streams
  // in flight get limits.shutdownTimeout to end, the rest is cut. A second signal ends it at once.
  let stopping = false
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) {
      log(`${signal} again: exiting now`)
      audit?.close()
      process.exit(128 + (osConstants.signals[signal] ?? 0))
    }
    stopping = true
    const grace = config.limits.shutdownTimeout
    log(`${signal}: shutting down; requests and streams in flight have ${grace} ms to end`)
    stopWatching()
    for (const a of authenticators.values()) a.close?.()
    Promise.all([Promise.all(listeners.map((l) => l.close(grace))), admin?.close()]).then(async ([cut]) => {
      const n = cut.reduce((a, b) => a + b, 0)
      if (n > 0) log(`closed ${n} connection(s) still open at the deadline`)
      // The cut exchanges and streams write their records as their sockets' close events run:
      // the log closes after them (bounded, should one never end).
      let timer: NodeJS.Timeout | undefined
      const recorded = await Promise.race([
        observer.idle().then(() => true),
        new Promise<boolean>((resolve) => { timer = setTimeout(() => resolve(false), FINAL_RECORDS_MS) })
      ])
      clearTimeout(timer)
      if (!recorded) log(`some exchanges had not written their audit record ${FINAL_RECORDS_MS} ms after the connections closed`)
    }).finally(() => {
      gateway.close()
      audit?.close()
      log('stopped')
      process.exit(0)
    })
  }
  process.on('SIGTERM', () => stop('SIGTERM'))
  process.on('SIGINT', () => stop('SIGINT'))
}

/** The ways callers can be identified on these listeners. */
function identityMethods (listen: readonly ListenerConfig[]): Set<AuthMethod> {
  const methods = new Set<AuthMethod>()
  for (const { auth } of listen) {
    if (auth.identity !== null) methods.add('socket')
    for (const m of auth.methods) methods.add(m)
    if (auth.anonymous && auth.identity === null) methods.add('anonymous')
  }
  return methods
}

/** How long shutdown waits, after the last connection closed, for the exchanges' last audit records. */
const FINAL_RECORDS_MS = 2000

/** One authenticator per configured method, shared by the listeners that use it. */
function createAuthenticators (config: Config): Map<string, Authenticator> {
  const out = new Map<string, Authenticator>()
  const auth = config.authentication
  const used = new Set(config.listen.flatMap((l) => l.auth.methods))
  if (used.has('mtls')) out.set('mtls', createMtlsAuthenticator(auth.mtls ?? parseMtlsSettings(undefined, 'authentication.mtls')))
  if (used.has('jwt') && auth.jwt !== undefined) {
    out.set('jwt', createJwtAuthenticator({ ...auth.jwt, onError: (err) => log(`JWKS reload failed, keeping the keys in force: ${err.message}`) }))
  }
  if (used.has('token')) out.set('token', createTokenAuthenticator(auth.tokens ?? []))
  return out
}

function listenerAuth (auth: Config['listen'][number]['auth'], authenticators: Map<string, Authenticator>): ListenerAuth {
  if (auth.identity !== null) return { authenticators: [createFixedIdentityAuthenticator(auth.identity)], allowAnonymous: false }
  return { authenticators: auth.methods.map((m) => authenticators.get(m)!), allowAnonymous: auth.anonymous }
}

const ENGINE_PROBE_MS = 2000

/** The audit sink of `config`, or null when audit is off; a file that cannot be opened stops start-up. */
function openAuditSink (config: Config, metrics: GatewayMetrics): AuditSink | null {
  const destination = config.audit.destination
  if (destination === null) return null
  // Failures go to the operational log once per outage, not once per record.
  let failing = false
  try {
    return createAuditSink({
      destination,
      failClosed: config.audit.failClosed,
      onError: (err) => {
        metrics.auditError()
        if (failing) return
        failing = true
        log(`audit log cannot be written: ${(err as NodeJS.ErrnoException).code ?? err.message}${config.audit.failClosed ? '; refusing requests until it can (fail-closed)' : '; records are lost until it can'}`)
      },
      onRecovered: (lost) => {
        failing = false
        metrics.auditLost(lost)
        log(`audit log writable again; ${lost} record(s) lost meanwhile`)
      }
    })
  } catch (err) {
    throw new ConfigError(`audit.destination: cannot open ${destination.kind === 'file' ? destination.path : 'stdout'}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`)
  }
}

function looksLikePath (ref: string): boolean {
  return ref.includes('/') || ref.endsWith('.yaml') || ref.endsWith('.yml')
}

function log (message: string): void {
  // Messages quote what clients sent (token headers, certificate names): one message, one line.
  // eslint-disable-next-line no-control-regex
  const line = message.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
  process.stderr.write(`dockward: ${line}\n`)
}

async function main (argv: readonly string[]): Promise<void> {
  const [command, ...rest] = argv
  switch (command) {
    case 'serve': return await serve(rest)
    case 'policy':
      process.exitCode = await runPolicyCommand(rest, { stdout: process.stdout, stderr: process.stderr })
      return
    case 'token':
      process.exitCode = tokenCommand(rest, { stdout: process.stdout, stderr: process.stderr })
      return
    case 'version': case '--version': case '-v':
      process.stdout.write(`dockward ${version()}\n`)
      return
    case undefined: case 'help': case '--help': case '-h':
      process.stdout.write(USAGE)
      return
    default:
      throw new ConfigError(`unknown command ${JSON.stringify(command)}\n\n${USAGE}`)
  }
}

main(process.argv.slice(2)).catch((err: unknown) => {
  if (err instanceof ConfigError) {
    process.stderr.write(`dockward: ${err.message}\n`)
    process.exit(2)
  }
  process.stderr.write(`dockward: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`)
  process.exit(1)
})
