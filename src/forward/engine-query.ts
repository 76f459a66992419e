import http from 'node:http'
import { UpstreamProtocolError, UpstreamUnavailableError } from '../core/errors.ts'
import { parseGoJson } from '../inspect/go-json.ts'
import { isJsonObject, type JsonArray, type JsonObject, type JsonValue } from '../inspect/json-value.ts'
import type { Upstream } from './upstream.ts'

/** A named volume as the engine reports it. */
export interface EngineVolume {
  readonly driver: string
  readonly options: Readonly<Record<string, string>>
}

/** An existing container's host configuration and mounts, as the engine reports them. */
export interface EngineContainer {
  readonly id: string
  readonly name: string
  readonly hostConfig: JsonObject
  readonly mounts: JsonArray
}

/** Questions dockward asks the engine itself while inspecting a request. */
export interface EngineQuery {
  /** The volume, or null when the engine has none by that name. Throws when it cannot tell. */
  volume: (name: string) => Promise<EngineVolume | null>
  /** The container by id, id prefix or name, or null when there is none. */
  container: (idOrName: string) => Promise<EngineContainer | null>
  /** The container an exec runs in, or null when there is no such exec. */
  exec: (id: string) => Promise<{ containerId: string } | null>
}

const LOOKUP_TIMEOUT_MS = 10_000
const MAX_ANSWER_BYTES = 1024 * 1024

/**
 * Asks the engine over the pooled upstream connections. Any answer other than 200 or 404, a
 * malformed body or a timeout throws: a decision that depends on the answer must not be made
 * without it.
 *
 * @example await createEngineQuery(upstream).volume('data') // { driver: 'local', options: { o: 'bind', … } }
 */
export function createEngineQuery (upstream: Upstream): EngineQuery {
  return {
    async volume (name) {
      const answer = await getJson(upstream, `/volumes/${encodeURIComponent(name)}`)
      if (answer === null) return null
      const v = answer as { Driver?: unknown, Options?: unknown }
      const options: Record<string, string> = Object.create(null) as Record<string, string>
      if (typeof v.Options === 'object' && v.Options !== null) {
        for (const [k, val] of Object.entries(v.Options)) if (typeof val === 'string') options[k] = val
      }
      return { driver: typeof v.Driver === 'string' ? v.Driver : '', options }
    },
    async container (idOrName) {
      const raw = await getBytes(upstream, `/containers/${encodeURIComponent(idOrName)}/json`)
      if (raw === null) return null
      // dockward's own parser: numbers keep their digits, objects have no prototype.
      const c = parseEngineJson(raw, 'container')
      const hostConfig = c['HostConfig']
      const mounts = c['Mounts']
      return {
        id: typeof c['Id'] === 'string' ? c['Id'] : idOrName,
        name: typeof c['Name'] === 'string' ? c['Name'].replace(/^\//, '') : idOrName,
        hostConfig: isJsonObject(hostConfig) ? hostConfig : Object.create(null) as JsonObject,
        mounts: Array.isArray(mounts) ? mounts as JsonArray : []
      }
    },
    async exec (id) {
      const raw = await getBytes(upstream, `/exec/${encodeURIComponent(id)}/json`)
      if (raw === null) return null
      const containerId = parseEngineJson(raw, 'exec')['ContainerID']
      if (typeof containerId !== 'string' || containerId === '') throw new UpstreamProtocolError('the engine reported an exec without a container')
      return { containerId }
    }
  }
}

function parseEngineJson (raw: Buffer, what: string): JsonObject {
  let value: JsonValue
  try {
    value = parseGoJson(raw, { maxDepth: 64 })
  } catch {
    throw new UpstreamProtocolError(`the engine's ${what} description is not JSON dockward can read`)
  }
  if (!isJsonObject(value)) throw new UpstreamProtocolError(`the engine's ${what} description is not a JSON object`)
  return value
}

async function getJson (upstream: Upstream, path: string): Promise<unknown> {
  const raw = await getBytes(upstream, path)
  if (raw === null) return null
  try {
    return JSON.parse(raw.toString('utf8'))
  } catch {
    throw new UpstreamProtocolError(`the engine's answer to GET ${path} is not JSON`)
  }
}

/** The body of a 200 answer, null for 404; anything else throws. */
function getBytes (upstream: Upstream, path: string): Promise<Buffer | null> {
  return new Promise((resolve, reject) => {
    const req = http.request({ ...upstream.connect, agent: upstream.agent, method: 'GET', path, timeout: LOOKUP_TIMEOUT_MS })
    req.on('timeout', () => req.destroy(new Error(`no answer to GET ${path} within ${LOOKUP_TIMEOUT_MS} ms`)))
    req.on('error', (err) => reject(new UpstreamUnavailableError(upstream.address.url, err)))
    req.on('response', (res) => {
      const chunks: Buffer[] = []
      let size = 0
      res.on('data', (c: Buffer) => {
        size += c.length
        if (size > MAX_ANSWER_BYTES) { req.destroy(new Error(`answer to GET ${path} is too large`)); return }
        chunks.push(c)
      })
      res.on('end', () => {
        if (res.statusCode === 404) { resolve(null); return }
        if (res.statusCode !== 200) {
          reject(new UpstreamProtocolError(`dockward could not look up ${path} in the engine (status ${res.statusCode ?? 0})`))
          return
        }
        resolve(Buffer.concat(chunks))
      })
      res.on('error', (err) => reject(new UpstreamUnavailableError(upstream.address.url, err)))
    })
    req.end()
  })
}
