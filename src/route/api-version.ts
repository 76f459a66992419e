import { InvalidApiVersionError } from '../core/errors.ts'

/**
 * The oldest API version dockward forwards. Engines still accept versions down to 1.12 (20.10) and
 * 1.24 (25+), and the old ones read bodies where new ones do not: measured on 20.10, a `/v1.23/`
 * container start applies the HostConfig in its body (Privileged, Binds). Every request below this
 * version is refused instead of inspected by a second set of rules.
 */
export const MIN_API_VERSION = '1.24'
const MIN_MAJOR = 1
const MIN_MINOR = 24

/**
 * Refuses a `/vX.Y` prefix older than MIN_API_VERSION, in the engine's own words so the docker
 * CLI prints a familiar line. No prefix means the engine's current version, which is newer.
 *
 * @example checkApiVersion('1.20') // throws: client version 1.20 is too old. Minimum supported API version is 1.24, …
 */
export function checkApiVersion (version: string | null): void {
  if (version === null) return
  const dot = version.indexOf('.')
  const major = Number(version.slice(0, dot))
  const minor = Number(version.slice(dot + 1))
  if (major > MIN_MAJOR || (major === MIN_MAJOR && minor >= MIN_MINOR)) return
  // moby api/server/middleware/version.go
  throw new InvalidApiVersionError(`client version ${version} is too old. Minimum supported API version is ${MIN_API_VERSION}, please upgrade your client to a newer version`)
}
