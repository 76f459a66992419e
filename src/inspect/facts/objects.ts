import type { JsonObject } from '../json-value.ts'
import type { RequestFacts } from '../request-facts.ts'
import { asObject, asString, asStringMap, field } from './body.ts'
import { recordEndpointSysctls } from './container.ts'
import { FactSheet } from './fact-sheet.ts'
import { recordLocalVolumeOptions } from './volumes.ts'

/**
 * Facts of the operations that create engine objects other than containers: volumes, networks,
 * network attachments, swarm secrets and configs.
 */

/**
 * VolumeCreate: the driver (`local` when none is named: the engine's default) and, for the local
 * driver, what its options reach on the host (a bound `device`, or a filesystem `type`).
 *
 * @example volumeCreateFacts({ DriverOpts: { type: 'none', o: 'bind', device: '/etc' } }) // { volumeDrivers: ['local'], hostPaths: ['/etc'], volumeMounts: [] }
 */
export function volumeCreateFacts (body: JsonObject | undefined): RequestFacts {
  const sheet = new FactSheet().lists('volumeDrivers', 'hostPaths', 'volumeMounts')
  const driver = asString(field(body, 'Driver'), 'Driver')
  const options = asStringMap(field(body, 'DriverOpts'), 'DriverOpts')
  sheet.add('volumeDrivers', driver === '' ? 'local' : driver)
  if (driver === '' || driver === 'local') recordLocalVolumeOptions(sheet, Object.fromEntries(options))
  return sheet.facts
}

/**
 * NetworkCreate: the driver (`bridge` when none is named: the engine's default) and its options
 * as `name=value`, sorted.
 *
 * @example networkCreateFacts({ Driver: 'macvlan', Options: { parent: 'eth0' } }) // { networkDriver: 'macvlan', networkOptions: ['parent=eth0'] }
 */
export function networkCreateFacts (body: JsonObject | undefined): RequestFacts {
  const driver = asString(field(body, 'Driver'), 'Driver')
  const options = asStringMap(field(body, 'Options'), 'Options').map(([k, v]) => `${k}=${v}`).sort()
  return { networkDriver: driver === '' ? 'bridge' : driver, networkOptions: options }
}

/**
 * NetworkConnect: the per-interface sysctls the endpoint's driver options set. Nothing else in an
 * endpoint config reaches the host, and the engine refuses to connect a container to the host
 * network (runconfig ErrConflictHostNetwork).
 *
 * @example networkConnectFacts({ Container: 'c1', EndpointConfig: null }) // { sysctls: [] }
 */
export function networkConnectFacts (body: JsonObject | undefined): RequestFacts {
  const sheet = new FactSheet().lists('sysctls')
  recordEndpointSysctls(sheet, asObject(field(body, 'EndpointConfig'), 'EndpointConfig'), 'EndpointConfig')
  return sheet.facts
}

/**
 * SecretCreate and ConfigCreate: the secret driver plugin (`Driver.Name`, secrets only) and the
 * templating driver (`Templating.Name`), '' when none.
 *
 * @example secretCreateFacts({ Name: 's', Driver: { Name: 'vault' } }) // { secretDriver: 'vault', templatingDriver: '' }
 */
export function secretCreateFacts (body: JsonObject | undefined): RequestFacts {
  const driver = asObject(field(body, 'Driver'), 'Driver')
  const templating = asObject(field(body, 'Templating'), 'Templating')
  return {
    secretDriver: asString(field(driver, 'Name'), 'Driver.Name'),
    templatingDriver: asString(field(templating, 'Name'), 'Templating.Name')
  }
}
