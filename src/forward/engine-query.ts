import { GatewayError, toGatewayError, UpstreamLookupError, UpstreamProtocolError, UpstreamTimeoutError, UpstreamUnavailableError } from '../core/errors.ts'
import { parseGoJson, serializeJson } from '../inspect/go-json.ts'
import { isJsonObject, type JsonArray, type JsonObject, type JsonValue } from '../inspect/json-value.ts'
import type { EngineExchange } from './engine-pool.ts'
import type { Upstream } from './upstream.ts'

/** A named volume as the engine reports it. */
export interface EngineVolume {
  readonly driver: string
  readonly options: Readonly<Record<string, string>>
  readonly labels: Readonly<Record<string, string>>
  /** When this volume (of this name) was created, in whole seconds since the epoch; absent when the engine did not say. */
  readonly createdSec?: number
}

/** An existing container's host configuration and mounts, as the engine reports them. */
export interface EngineContainer {
  readonly id: string
  readonly name: string
  readonly hostConfig: JsonObject
  readonly mounts: JsonArray
  /** `.Config.Labels`: the owner label among them on a multi-tenant engine. */
  readonly labels: Readonly<Record<string, string>>
}

/** A network or image as the engine reports it: its full id and labels. */
export interface EngineObject {
  readonly id: string
  readonly labels: Readonly<Record<string, string>>
}

/** Questions dockward asks the engine itself while inspecting a request. */
export interface EngineQuery {
  /** The volume, or null when the engine has none by that name. Throws when it cannot tell. */
  volume: (name: string) => Promise<EngineVolume | null>
  /** The container by id, id prefix or name, or null when there is none. */
  container: (idOrName: string) => Promise<EngineContainer | null>
  /** The container an exec runs in, or null when there is no such exec. */
  exec: (id: string) => Promise<{ containerId: string } | null>
  /** The network by id, id prefix or name, or null. */
  network: (idOrName: string) => Promise<EngineObject | null>
  /** The image by reference or id, or null. */
  image: (ref: string) => Promise<EngineObject | null>
  /** Whether any container, running or not, mounts the named volume. */
  volumeInUse: (name: string) => Promise<boolean>
  /** The JSON answer of a GET that must succeed (lists: `/containers/json?…`); anything but 200 throws. */
  list: (path: string) => Promise<unknown>
  /** Creates a volume (`POST /volumes/create`) and returns it as the engine answered: an existing volume of that name is returned as is. */
  createVolume: (spec: JsonObject) => Promise<EngineVolume & { readonly name: string }>
}

const LOOKUP_TIMEOUT_MS = 10_000
// A whole answer, list of thousands of containers included; a lookup never streams.
const LOOKUP_DEADLINE_MS = 60_000
const MAX_ANSWER_BYTES = 1024 * 1024
// A list of thousands of containers with their labels runs to megabytes.
const MAX_LIST_BYTES = 64 * 1024 * 1024

/**
 * Asks the engine over the pooled upstream connections. Any answer other than 200 or 404, a
 * malformed body or a timeout throws: a decision that depends on the answer must not be made
 * without it.
 *
 * @example await createEngineQuery(upstream).volume('data') // { driver: 'local', options: { o: 'bind', … } }
 */
export function createEngineQuery (upstream: Upstream): EngineQuery {
  const list = async (path: string): Promise<unknown> => {
    const answer = await request(upstream, 'GET', path, undefined, MAX_LIST_BYTES)
    if (answer.status !== 200) throw new UpstreamProtocolError(`dockward could not list ${path} in the engine (status ${answer.status})`)
    try {
      return JSON.parse(answer.body.toString('utf8'))
    } catch {
      throw new UpstreamProtocolError(`the engine's answer to GET ${path} is not JSON`)
    }
  }
  return {
    async volume (name) {
      const answer = await getJson(upstream, `/volumes/${encodeURIComponent(name)}`)
      if (answer === null) return null
      const v = answer as { Driver?: unknown, Options?: unknown, Labels?: unknown, CreatedAt?: unknown }
      const created = typeof v.CreatedAt === 'string' ? Date.parse(v.CreatedAt) : NaN
      return {
        driver: typeof v.Driver === 'string' ? v.Driver : '',
        options: stringMap(v.Options),
        labels: stringMap(v.Labels),
        ...(Number.isFinite(created) ? { createdSec: Math.floor(created / 1000) } : {})
      }
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
        mounts: Array.isArray(mounts) ? mounts as JsonArray : [],
        labels: stringMap((c['Config'] as { Labels?: unknown } | undefined)?.Labels)
      }
    },
    async exec (id) {
      const raw = await getBytes(upstream, `/exec/${encodeURIComponent(id)}/json`)
      if (raw === null) return null
      const containerId = parseEngineJson(raw, 'exec')['ContainerID']
      if (typeof containerId !== 'string' || containerId === '') throw new UpstreamProtocolError('the engine reported an exec without a container')
      return { containerId }
    },
    async network (idOrName) {
      const answer = await getJson(upstream, `/networks/${encodeURIComponent(idOrName)}`) as { Id?: unknown, Labels?: unknown } | null
      if (answer === null) return null
      if (typeof answer.Id !== 'string') throw new UpstreamProtocolError('the engine reported a network without an id')
      return { id: answer.Id, labels: stringMap(answer.Labels) }
    },
    async image (ref) {
      // The engine resolves a reference with or without tag, a digest, an id or an id prefix.
      const answer = await getJson(upstream, `/images/${encodeURIComponent(ref)}/json`) as { Id?: unknown, Config?: { Labels?: unknown } | null } | null
      if (answer === null) return null
      if (typeof answer.Id !== 'string') throw new UpstreamProtocolError('the engine reported an image without an id')
      return { id: answer.Id, labels: stringMap(answer.Config?.Labels) }
    },
    async volumeInUse (name) {
      const users = await list(`/containers/json?all=1&filters=${encodeURIComponent(JSON.stringify({ volume: [name] }))}`)
      if (!Array.isArray(users)) throw new UpstreamProtocolError('the engine\'s container list is not a list')
      return users.length > 0
    },
    list,
    async createVolume (spec) {
      const raw = await request(upstream, 'POST', '/volumes/create', Buffer.from(serializeJson(spec), 'utf8'))
      if (raw.status !== 201 && raw.status !== 200) throw new EngineRefusedError(raw.status, raw.body)
      const v = parseEngineJson(raw.body, 'volume')
      return { name: typeof v['Name'] === 'string' ? v['Name'] : '', driver: typeof v['Driver'] === 'string' ? v['Driver'] : '', options: stringMap(v['Options']), labels: stringMap(v['Labels']) }
    }
  }
}

/** The engine refused a request dockward made on a client's behalf; its status and message are relayed. */
export class EngineRefusedError extends Error {
  readonly status: number
  readonly body: Buffer
  constructor (status: number, body: Buffer) {
    super(`the engine answered ${status}`)
    this.status = status
    this.body = body
  }
}

/** A JSON object of strings (labels, driver options), with anything else dropped; never a prototype. */
function stringMap (value: unknown): Record<string, string> {
  const out: Record<string, string> = Object.create(null) as Record<string, string>
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    for (const [k, v] of Object.entries(value)) if (typeof v === 'string') out[k] = v
  }
  return out
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
async function getBytes (upstream: Upstream, path: string): Promise<Buffer | null> {
  const answer = await request(upstream, 'GET', path)
  if (answer.status === 404) return null
  if (answer.status !== 200) throw new UpstreamLookupError(path, answer.status)
  return answer.body
}

/**
 * One request of dockward's own to the engine, on the same pool and strict answer parser as
 * forwarded requests: an ownership decision rests on these answers. The engine has
 * LOOKUP_TIMEOUT_MS to start its answer and LOOKUP_DEADLINE_MS to finish it; the answer is capped.
 */
function request (upstream: Upstream, method: string, path: string, body?: Buffer, cap = MAX_ANSWER_BYTES): Promise<{ status: number, body: Buffer }> {
  return new Promise((resolve, reject) => {
    // HTTP/1.1 needs a Host (the engine's Go server refuses a request without one).
    const headers = ['Host', 'localhost']
    if (body !== undefined) headers.push('Content-Type', 'application/json', 'Content-Length', String(body.length))
    else if (method !== 'GET') headers.push('Content-Length', '0')
    const chunks: Buffer[] = []
    let size = 0
    let status = 0
    let settled = false
    let exchange: EngineExchange | null = null
    const settle = (err: Error | null): void => {
      if (settled) return
      settled = true
      clearTimeout(deadline)
      if (err === null) {
        resolve({ status, body: Buffer.concat(chunks, size) })
        return
      }
      exchange?.abort()
      reject(err instanceof GatewayError ? err : new UpstreamUnavailableError(upstream.address.url, err))
    }
    const deadline = setTimeout(() => settle(new UpstreamTimeoutError(LOOKUP_DEADLINE_MS)), LOOKUP_DEADLINE_MS)
    try {
      exchange = upstream.pool.request({ method, path, headers, body: body ?? null, answerTimeoutMs: LOOKUP_TIMEOUT_MS }, {
        onHead: (head) => { status = head.status },
        onBody: (piece) => {
          size += piece.length
          if (size > cap) settle(new UpstreamProtocolError(`the engine's answer to ${method} ${path} is larger than ${cap} bytes`))
          else chunks.push(piece)
          return true
        },
        onReadEnd: () => {},
        onComplete: () => settle(null),
        onError: (err) => settle(err)
      })
    } catch (err) {
      // The pool refused the request head before touching a connection: dockward's own fault.
      settle(toGatewayError(err))
    }
  })
}
