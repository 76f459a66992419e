import http from 'node:http'
import { UpstreamProtocolError, UpstreamUnavailableError } from '../core/errors.ts'
import type { Upstream } from './upstream.ts'

/** A named volume as the engine reports it. */
export interface EngineVolume {
  readonly driver: string
  readonly options: Readonly<Record<string, string>>
}

/** Questions dockward asks the engine itself while inspecting a request. */
export interface EngineQuery {
  /** The volume, or null when the engine has none by that name. Throws when it cannot tell. */
  volume: (name: string) => Promise<EngineVolume | null>
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
    }
  }
}

function getJson (upstream: Upstream, path: string): Promise<unknown> {
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
        try {
          resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')))
        } catch {
          reject(new UpstreamProtocolError(`the engine's answer to GET ${path} is not JSON`))
        }
      })
      res.on('error', (err) => reject(new UpstreamUnavailableError(upstream.address.url, err)))
    })
    req.end()
  })
}
