import { parseArgs } from 'node:util'
import { ConfigError } from '../core/errors.ts'
import type { ConfigInput } from '../config/config.ts'

export interface ServeArgs {
  readonly configFile: string | undefined
  readonly flags: ConfigInput
}

export const SERVE_USAGE = `Usage: dockward serve [options]

Options:
  --listen URL        Address to accept clients on, repeatable: tcp://HOST:PORT or
                      unix:///PATH[?mode=0660&group=docker]. Default: tcp://127.0.0.1:2375
  --upstream URL      The engine: unix:///PATH or tcp://HOST:PORT.
                      Default: $DOCKER_HOST, else unix:///var/run/docker.sock
  --policy NAME|FILE  Policy to enforce: a shipped one (default, read-only, admin) or a
                      policy file. Default: default. SIGHUP or a change to the file reloads it.
  --config FILE       YAML config file with the same settings; flags override it
  --dangerously-allow-unauthenticated-tcp
                      Allow a non-loopback TCP listener without TLS or authentication.
                      Anyone who reaches it controls the engine and the host.
  -h, --help          Show this help
`

/** Parses `dockward serve` flags into the same shape as the config file. */
export function parseServeArgs (argv: readonly string[]): ServeArgs | 'help' {
  let parsed
  try {
    parsed = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        listen: { type: 'string', multiple: true },
        upstream: { type: 'string' },
        config: { type: 'string' },
        policy: { type: 'string' },
        'dangerously-allow-unauthenticated-tcp': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' }
      }
    })
  } catch (err) {
    throw new ConfigError(`${(err as Error).message}\n\n${SERVE_USAGE}`)
  }
  const v = parsed.values
  if (v.help === true) return 'help'
  const flags: ConfigInput = {}
  if (v.listen !== undefined) flags.listen = v.listen
  if (v.upstream !== undefined) flags.upstream = v.upstream
  if (v.policy !== undefined) flags.policy = v.policy
  if (v['dangerously-allow-unauthenticated-tcp'] === true) flags.dangerouslyAllowUnauthenticatedTcp = true
  return { configFile: v.config, flags }
}
