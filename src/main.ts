#!/usr/bin/env node
import { readFileSync } from 'node:fs'
import { parseServeArgs, SERVE_USAGE } from './cli/serve-args.ts'
import { readConfigFile } from './config/config-file.ts'
import { resolveConfig } from './config/config.ts'
import { ConfigError } from './core/errors.ts'
import { createGateway } from './gateway.ts'
import { startListener, type Listener } from './listen/listeners.ts'

const USAGE = `Usage: dockward <command>

Commands:
  serve       Run the gateway (dockward serve --help)
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
  const config = resolveConfig(file, args.flags, process.env)
  const gateway = createGateway(config)
  const listeners: Listener[] = []
  try {
    for (const address of config.listen) listeners.push(await startListener(address, config.limits, gateway))
  } catch (err) {
    await Promise.all(listeners.map((l) => l.close()))
    throw err
  }
  for (const l of listeners) log(`listening on ${l.address.kind === 'unix' ? l.address.url : `tcp://${l.bound}`}`)
  log(`forwarding to ${config.upstream.url}`)

  let stopping = false
  const stop = (signal: string): void => {
    if (stopping) return
    stopping = true
    log(`${signal}: shutting down`)
    Promise.all(listeners.map((l) => l.close())).finally(() => {
      gateway.close()
      process.exit(0)
    })
  }
  process.on('SIGTERM', () => stop('SIGTERM'))
  process.on('SIGINT', () => stop('SIGINT'))
}

function log (message: string): void {
  process.stderr.write(`dockward: ${message}\n`)
}

async function main (argv: readonly string[]): Promise<void> {
  const [command, ...rest] = argv
  switch (command) {
    case 'serve': return await serve(rest)
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
