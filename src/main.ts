#!/usr/bin/env node
import { readFileSync } from 'node:fs'
import { dirname, isAbsolute, resolve } from 'node:path'
import { parseServeArgs, SERVE_USAGE } from './cli/serve-args.ts'
import { readConfigFile } from './config/config-file.ts'
import { resolveConfig } from './config/config.ts'
import { ConfigError } from './core/errors.ts'
import { runPolicyCommand } from './cli/policy-command.ts'
import { createPolicyStore } from './decide/policy-store.ts'
import { createGateway } from './gateway.ts'
import type { ListenerAuth } from './identify/authenticate.ts'
import type { Authenticator } from './identify/authenticator.ts'
import { createFixedIdentityAuthenticator } from './identify/fixed-identity.ts'
import { createJwtAuthenticator } from './identify/jwt-authenticator.ts'
import { createMtlsAuthenticator } from './identify/mtls-authenticator.ts'
import { createRateLimiter } from './identify/rate-limiter.ts'
import { createTokenAuthenticator, tokenCommand } from './identify/static-token.ts'
import { parseMtlsSettings } from './identify/mtls-authenticator.ts'
import type { Config } from './config/config.ts'
import { startListener, type Listener } from './listen/listeners.ts'

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
  const file = args.configFile === undefined ? {} : readConfigFile(args.configFile)
  // A policy file named in a config file is found beside that file, wherever dockward runs from.
  if (args.configFile !== undefined && file.policy !== undefined && looksLikePath(file.policy) && !isAbsolute(file.policy)) {
    file.policy = resolve(dirname(args.configFile), file.policy)
  }
  const config = resolveConfig(file, args.flags, process.env)
  // Loads now: a policy that does not load stops start-up (exit 2), like any other bad setting.
  const policy = createPolicyStore(config.policy, {
    onReload: (result) => {
      if (result.ok) log(`policy reloaded: ${config.policy} (sha256 ${result.digest})`)
      else log(`policy reload failed, keeping the policy in force: ${result.error.message}`)
    }
  })
  for (const w of policy.warnings) log(`warning: ${w}`)
  const authenticators = createAuthenticators(config)
  const limiter = createRateLimiter(config.rateLimits)
  const gateway = createGateway({ config, policy, limiter, log })
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
  log(`policy ${config.policy} (sha256 ${policy.current().digest})`)
  const stopWatching = policy.watch()
  process.on('SIGHUP', () => {
    policy.reload()
    for (const a of authenticators.values()) a.reload?.()
    // Certificates and CAs: new connections get the new ones, open ones keep theirs.
    for (const l of listeners) {
      try {
        l.reload?.()
      } catch (err) {
        log(`TLS reload failed on ${l.address.url}, keeping the certificates in force: ${(err as Error).message}`)
      }
    }
  })
  log(`forwarding to ${config.upstream.url}`)

  let stopping = false
  const stop = (signal: string): void => {
    if (stopping) return
    stopping = true
    log(`${signal}: shutting down`)
    stopWatching()
    for (const a of authenticators.values()) a.close?.()
    Promise.all(listeners.map((l) => l.close())).finally(() => {
      gateway.close()
      process.exit(0)
    })
  }
  process.on('SIGTERM', () => stop('SIGTERM'))
  process.on('SIGINT', () => stop('SIGINT'))
}

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
