import { NameLocks } from '../core/name-locks.ts'
import { isJsonObject, type JsonObject, type JsonValue } from './json-value.ts'

/**
 * Named volumes and the engine's copy-up. When a container is created with a named volume that is
 * empty, the engine copies the image's files at the mount path into it, at create time and in the
 * host's mount namespace, following symlinks in the volume and keeping modes (setuid included).
 * Another container that has the same volume mounted can plant a symlink there during the copy, and
 * the rest of the image is then written as root wherever it points on the host. dockward lets a
 * create copy only while no other create through it can mount the volume (CopyGuard), and sends
 * `nocopy` for a volume some container already mounts.
 */

/**
 * Holds container creates until the engine has answered them. The engine copies the image's
 * files into empty volumes at create, named ones and the anonymous ones of the image's `VOLUME`s,
 * whose random names can be listed while the copy runs. So a create that mounts a named volume
 * first waits for every create already in flight, then holds its named volumes (no other create
 * through dockward may mount them), and a volume some container already mounts is sent with
 * `nocopy`, since it could be written to during the copy.
 *
 * @example
 * const guard = new CopyGuard(engine.volumeInUse)
 * const held = await guard.hold(createBody) // forward held.body ?? createBody, then held.release()
 */
export class CopyGuard {
  readonly #volumeInUse: (name: string) => Promise<boolean>
  readonly #names = new NameLocks()
  // Creates the engine has not answered yet; each settles when its hold is released.
  readonly #inFlight = new Set<Promise<void>>()

  constructor (volumeInUse: (name: string) => Promise<boolean>) {
    this.#volumeInUse = volumeInUse
  }

  /** Holds one create; `body` is what to send instead when a mount had to lose its copy. */
  async hold (body: JsonValue | undefined): Promise<{ release: () => void, body: JsonObject | undefined }> {
    const earlier = [...this.#inFlight]
    let settle!: () => void
    const mine = new Promise<void>((resolve) => { settle = resolve })
    this.#inFlight.add(mine)
    const ended = (): void => { this.#inFlight.delete(mine); settle() }
    const mounts = namedVolumeMounts(body)
    if (mounts.length === 0) return { release: ended, body: undefined }
    let names: (() => void) | null = null
    const release = (): void => { names?.(); ended() }
    try {
      // Creates that came later wait for this one in turn, so no two wait for each other.
      await Promise.all(earlier)
      names = await this.#names.acquire(mounts.map((m) => m.name))
      const shared = new Set<string>()
      for (const m of mounts) if (m.copies && await this.#volumeInUse(m.name)) shared.add(m.name)
      return { release, body: shared.size === 0 ? undefined : withoutCopy(body as JsonObject, shared) }
    } catch (err) {
      release()
      throw err
    }
  }
}

/** A named volume a create body mounts, and whether any of its mounts lets the engine copy into it. */
interface VolumeMount { readonly name: string, readonly copies: boolean }

/**
 * The named volumes a container create body mounts, each once, with whether any of its mounts
 * asks for the copy (a `Binds` entry without the `nocopy` option, a `Mounts` volume without
 * `VolumeOptions.NoCopy: true`). Bodies are canonical: keys are the engine's field names.
 *
 * @example namedVolumeMounts({ HostConfig: { Binds: ['data:/d', 'cache:/c:ro,nocopy'] } }) // [{ name: 'data', copies: true }, { name: 'cache', copies: false }]
 */
export function namedVolumeMounts (body: JsonValue | undefined): VolumeMount[] {
  const hc = isJsonObject(body) && isJsonObject(body['HostConfig']) ? body['HostConfig'] : null
  if (hc === null) return []
  const found = new Map<string, boolean>()
  const add = (name: string, copies: boolean): void => { found.set(name, (found.get(name) ?? false) || copies) }
  for (const bind of Array.isArray(hc['Binds']) ? hc['Binds'] : []) {
    if (typeof bind !== 'string') continue
    const parts = bind.split(':')
    const source = parts[0] ?? ''
    if (parts.length < 2 || source === '' || source.startsWith('/')) continue
    add(source, !bindOptions(parts).includes('nocopy'))
  }
  for (const mount of Array.isArray(hc['Mounts']) ? hc['Mounts'] : []) {
    if (!isJsonObject(mount) || mount['Type'] !== 'volume' || typeof mount['Source'] !== 'string' || mount['Source'] === '') continue
    const options = mount['VolumeOptions']
    add(mount['Source'], !(isJsonObject(options) && options['NoCopy'] === true))
  }
  return [...found].map(([name, copies]) => ({ name, copies }))
}

/**
 * The body with every mount of the named volumes `names` set to `nocopy`.
 *
 * @example withoutCopy({ HostConfig: { Binds: ['data:/d:ro'] } }, new Set(['data'])) // { HostConfig: { Binds: ['data:/d:ro,nocopy'] } }
 */
export function withoutCopy (body: JsonObject, names: ReadonlySet<string>): JsonObject {
  const hc = body['HostConfig'] as JsonObject
  const out: Record<string, JsonValue> = Object.create(null) as Record<string, JsonValue>
  for (const key of Object.keys(hc)) out[key] = hc[key]!
  if (Array.isArray(hc['Binds'])) {
    out['Binds'] = hc['Binds'].map((bind) => {
      if (typeof bind !== 'string') return bind
      const parts = bind.split(':')
      if (parts.length < 2 || !names.has(parts[0]!) || bindOptions(parts).includes('nocopy')) return bind
      // `src:dst` or `src:dst:opts`: the engine reads the options as one comma-separated list
      // (an empty one, `src:dst:`, as none).
      if (parts.length === 2) return `${bind}:nocopy`
      return parts.length === 3 && parts[2] === '' ? `${bind}nocopy` : `${bind},nocopy`
    })
  }
  if (Array.isArray(hc['Mounts'])) {
    out['Mounts'] = hc['Mounts'].map((mount) => {
      if (!isJsonObject(mount) || mount['Type'] !== 'volume' || typeof mount['Source'] !== 'string' || !names.has(mount['Source'])) return mount
      const options = isJsonObject(mount['VolumeOptions']) ? mount['VolumeOptions'] : Object.create(null) as JsonObject
      return { ...mount, VolumeOptions: { ...options, NoCopy: true } }
    })
  }
  const copy: Record<string, JsonValue> = Object.create(null) as Record<string, JsonValue>
  for (const key of Object.keys(body)) copy[key] = key === 'HostConfig' ? out : body[key]!
  return copy
}

/** A bind's options: the third part (`ro,nocopy`), or none. */
function bindOptions (parts: readonly string[]): string[] {
  return parts.length >= 3 ? parts[2]!.split(',') : []
}
