import type { JsonObject } from '../json-value.ts'
import { cleanHostPath } from '../host-path.ts'
import { asObject, asString, asStringMap, field } from './body.ts'
import type { EngineLookup } from './engine-lookup.ts'
import type { FactSheet } from './fact-sheet.ts'

/**
 * Mounts and volumes: what of the host a `Binds` entry, a `Mounts` entry or a volume's driver
 * options reach. Parsing follows moby's Linux mount parser (volume/mounts/linux_parser.go) and
 * the local volume driver (volume/local/local_unix.go).
 */

/**
 * Records what local-driver volume options do on the host: with `bind` or `rbind` among the
 * comma-separated `o` options, `device` is a host path bind-mounted into the volume; otherwise a
 * `type` is a filesystem mount (`tmpfs`, `nfs`, `ext4`, …). Option tokens are compared
 * trimmed and in any case, which can only over-report.
 *
 * @example recordLocalVolumeOptions(sheet, { type: 'none', o: 'bind', device: '/etc' }) // hostPaths += '/etc'
 */
export function recordLocalVolumeOptions (sheet: FactSheet, options: Readonly<Record<string, string>>): void {
  const o = Object.hasOwn(options, 'o') ? options['o']! : ''
  const device = Object.hasOwn(options, 'device') ? options['device']! : ''
  const type = Object.hasOwn(options, 'type') ? options['type']! : ''
  const binds = o.split(',').some((t) => {
    const token = t.trim().toLowerCase()
    return token === 'bind' || token === 'rbind'
  })
  if (binds) {
    if (device !== '') sheet.add('hostPaths', cleanHostPath(device))
    return
  }
  if (type !== '') sheet.add('volumeMounts', type)
}

function isLocalDriver (driver: string): boolean {
  return driver === '' || driver === 'local'
}

/**
 * A named volume the request mounts: its name, and, when it already exists, its driver (another
 * driver than local is a plugin the volume reaches through) or, for the local driver, what its
 * options reach on the host.
 */
async function recordNamedVolume (sheet: FactSheet, name: string, lookup: EngineLookup): Promise<void> {
  sheet.add('namedVolumes', name)
  const existing = await lookup.volume(name)
  if (existing === null) return
  if (isLocalDriver(existing.driver)) recordLocalVolumeOptions(sheet, existing.options)
  else sheet.add('volumeDrivers', existing.driver)
}

/**
 * One `HostConfig.Binds` entry, `src:dst[:mode]`. A source starting with `/` is a host path; any
 * other source names a volume. A lone `dst` is an anonymous volume (its `/…` is a container
 * path, not a host one). Entries the engine would refuse (four or more parts) still report their
 * first part, which can only over-report.
 *
 * @example await recordBind(sheet, '/var/run/docker.sock:/sock', offlineLookup) // hostPaths += '/var/run/docker.sock'
 */
export async function recordBind (sheet: FactSheet, spec: string, lookup: EngineLookup): Promise<void> {
  const parts = spec.split(':')
  if (parts.length < 2) return
  const source = parts[0]!
  if (source === '') return
  if (source.startsWith('/')) sheet.add('hostPaths', cleanHostPath(source))
  else await recordNamedVolume(sheet, source, lookup)
}

/**
 * One `Mounts` entry (container `HostConfig.Mounts` or service `ContainerSpec.Mounts`):
 * - `bind` and `npipe`: the source is on the host;
 * - `volume`: a named volume (looked up), and `VolumeOptions.DriverConfig`, whose driver is
 *   named and whose options, for the local driver, are read like a volume's own: the engine
 *   creates a missing volume with them, so they count whether or not the volume exists;
 * - `cluster`: a swarm cluster volume, by name;
 * - `tmpfs` and `image` reach nothing on the host.
 *
 * @example await recordMount(sheet, mountObject, 'HostConfig.Mounts[0]', offlineLookup)
 */
export async function recordMount (sheet: FactSheet, mount: JsonObject, path: string, lookup: EngineLookup): Promise<void> {
  const type = asString(field(mount, 'Type'), `${path}.Type`)
  const source = asString(field(mount, 'Source'), `${path}.Source`)
  switch (type) {
    case 'bind':
    case 'npipe':
      if (source !== '') sheet.add('hostPaths', cleanHostPath(source))
      break
    case 'volume': {
      if (source !== '') await recordNamedVolume(sheet, source, lookup)
      const volumeOptions = asObject(field(mount, 'VolumeOptions'), `${path}.VolumeOptions`)
      const driverConfig = asObject(field(volumeOptions, 'DriverConfig'), `${path}.VolumeOptions.DriverConfig`)
      const driver = asString(field(driverConfig, 'Name'), `${path}.VolumeOptions.DriverConfig.Name`)
      const options = asStringMap(field(driverConfig, 'Options'), `${path}.VolumeOptions.DriverConfig.Options`)
      if (driver !== '') sheet.add('volumeDrivers', driver)
      if (isLocalDriver(driver)) recordLocalVolumeOptions(sheet, Object.fromEntries(options))
      break
    }
    case 'cluster':
      if (source !== '') sheet.add('namedVolumes', source)
      break
  }
}

/**
 * One mount point of an existing container (`GET /containers/{id}/json` `.Mounts`, moby
 * api/types/container MountPoint): a `bind` (or `npipe`) is its host `Source`; a `volume` is
 * looked up by its `Name` like any named volume (its `Source` is the volume's own directory under
 * the engine's data root, not a path anyone chose); `tmpfs`, `image` and `cluster` reach no host
 * path. A mount point without a `Type` (written by an old engine) is read as a volume when it has
 * a `Name` and as a bind otherwise, which can only over-report.
 *
 * @example await recordMountPoint(sheet, { Type: 'bind', Source: '/var/log', Destination: '/logs' }, 'Mounts[0]', lookup) // hostPaths += '/var/log'
 */
export async function recordMountPoint (sheet: FactSheet, mount: JsonObject, path: string, lookup: EngineLookup): Promise<void> {
  const type = asString(field(mount, 'Type'), `${path}.Type`)
  const name = asString(field(mount, 'Name'), `${path}.Name`)
  const source = asString(field(mount, 'Source'), `${path}.Source`)
  if (type === 'volume' || (type === '' && name !== '')) {
    if (name !== '') await recordNamedVolume(sheet, name, lookup)
  } else if (type === 'bind' || type === 'npipe' || type === '') {
    if (source !== '') sheet.add('hostPaths', cleanHostPath(source))
  }
}
