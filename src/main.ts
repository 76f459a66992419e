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
import { startListener, type Listener } from './listen/listeners.ts'

const USAGE = `Usage: dockward <command>

Commands:
  serve       Run the gateway (dockward serve --help)
  policy      Check, explain and test policies (dockward policy --help)
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
  const gateway = createGateway({ config, policy, log })
  const listeners: Listener[] = []
  try {
    for (const address of config.listen) listeners.push(await startListener(address, config.limits, gateway.sinkFor(address.url)))
  } catch (err) {
    await Promise.all(listeners.map((l) => l.close()))
    throw err
  }
  for (const l of listeners) log(`listening on ${l.address.kind === 'unix' ? l.address.url : `tcp://${l.bound}`}`)
  log(`policy ${config.policy} (sha256 ${policy.current().digest})`)
  const stopWatching = policy.watch()
  process.on('SIGHUP', () => { policy.reload() })
  log(`forwarding to ${config.upstream.url}`)

  let stopping = false
  const stop = (signal: string): void => {
    if (stopping) return
    stopping = true
    log(`${signal}: shutting down`)
    stopWatching()
    Promise.all(listeners.map((l) => l.close())).finally(() => {
      gateway.close()
      process.exit(0)
    })
  }
  process.on('SIGTERM', () => stop('SIGTERM'))
  process.on('SIGINT', () => stop('SIGINT'))
}

function looksLikePath (ref: string): boolean {
  return ref.includes('/') || ref.endsWith('.yaml') || ref.endsWith('.yml')
}

function log (message: string): void {
  process.stderr.write(`dockward: ${message}\n`)
}

async function main (argv: readonly string[]): Promise<void> {
  const [command, ...rest] = argv
  switch (command) {
    case 'serve': return await serve(rest)
    case 'policy':
      process.exitCode = await runPolicyCommand(rest, { stdout: process.stdout, stderr: process.stderr })
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
