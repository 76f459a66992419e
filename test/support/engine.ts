import http from 'node:http'
import type { IncomingHttpHeaders, RequestOptions } from 'node:http'

export interface TestEngine { socketPath: string | null, dockerHost: string, tcp: string | null, image: string }

export interface EngineResponse { status: number, headers: IncomingHttpHeaders, body: Buffer, json: any }

const DEFAULT_IMAGE = 'dockward-test/busybox:latest'
const SKIP_LINE = 'SKIPPED: no Docker engine available (set up by scripts/engine.sh); engine tests not run'

/** Engine from env vars set by the test runner (DOCKWARD_TEST_DOCKER_HOST etc.), or null when none. */
export function testEngine (): TestEngine | null {
  const dockerHost = process.env['DOCKWARD_TEST_DOCKER_HOST']?.trim()
  if (dockerHost === undefined || dockerHost === '') return null
  const socketPath = dockerHost.startsWith('unix://') ? dockerHost.slice('unix://'.length) : null
  // A tcp engine is itself the plain-HTTP baseline when no separate listener was named.
  const tcp = nonEmpty(process.env['DOCKWARD_TEST_ENGINE_TCP']) ??
    (dockerHost.startsWith('tcp://') ? dockerHost : null)
  const image = nonEmpty(process.env['DOCKWARD_TEST_IMAGE']) ?? DEFAULT_IMAGE
  return { socketPath, dockerHost, tcp, image }
}

/** Call at the top of an engine test file: returns the engine, or when none is available: under CI=true throws (failure), otherwise prints one loud line 'SKIPPED: no Docker engine available (set up by scripts/engine.sh); engine tests not run' and returns null so the file can skip its tests. */
export function requireEngine (suite: string): TestEngine | null {
  const engine = testEngine()
  if (engine !== null) return engine
  // In CI a missing engine means broken setup, and silently skipping would hide it.
  if (process.env['CI'] === 'true') {
    throw new Error(`${suite}: no Docker engine available under CI=true; run scripts/engine.sh up DIR and export DIR/env`)
  }
  console.log(`${SKIP_LINE} [${suite}]`)
  return null
}

/** Minimal request to the engine directly (not through the proxy): http over unix socket or tcp, returns status, headers, body Buffer, parsed JSON if content-type json. */
export function engineRequest (engine: TestEngine, method: string, path: string, body?: unknown): Promise<EngineResponse> {
  const payload = encodeBody(body)
  const headers: Record<string, string | number> = {}
  if (payload !== null) {
    headers['content-type'] = payload.type
    headers['content-length'] = payload.data.length
  }
  // agent: false so no pooled keep-alive socket outlives the test and holds the event loop.
  const options: RequestOptions = { method, path, headers, agent: false, ...target(engine) }
  return new Promise((resolve, reject) => {
    const req = http.request(options, res => {
      const chunks: Buffer[] = []
      res.on('data', (chunk: Buffer) => chunks.push(chunk))
      res.on('error', reject)
      res.on('end', () => {
        const data = Buffer.concat(chunks)
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: data, json: parseJson(res.headers['content-type'], data) })
      })
    })
    req.on('error', reject)
    req.end(payload?.data)
  })
}

function target (engine: TestEngine): RequestOptions {
  if (engine.socketPath !== null) return { socketPath: engine.socketPath }
  const url = new URL(engine.dockerHost.replace(/^tcp:\/\//, 'http://'))
  if (url.protocol !== 'http:') throw new Error(`unsupported docker host: ${engine.dockerHost}`)
  return { host: url.hostname.replace(/^\[|\]$/g, ''), port: Number(url.port || 2375) }
}

function encodeBody (body: unknown): { type: string, data: Buffer } | null {
  if (body === undefined) return null
  // Raw bytes (tar archives, stdin) go as-is; anything else is an API object.
  if (Buffer.isBuffer(body)) return { type: 'application/octet-stream', data: body }
  if (body instanceof Uint8Array) return { type: 'application/octet-stream', data: Buffer.from(body) }
  if (typeof body === 'string') return { type: 'text/plain', data: Buffer.from(body) }
  return { type: 'application/json', data: Buffer.from(JSON.stringify(body)) }
}

function parseJson (contentType: string | undefined, data: Buffer): any {
  if (contentType === undefined || !/\bjson\b/i.test(contentType) || data.length === 0) return undefined
  const text = data.toString('utf8')
  try {
    return JSON.parse(text)
  } catch {
    // Streaming endpoints (pull, build, stats) send newline-delimited JSON under a json
    // content type: hand those back as an array of messages.
    try {
      return text.split('\n').filter(line => line.trim() !== '').map(line => JSON.parse(line))
    } catch {
      return undefined
    }
  }
}

function nonEmpty (value: string | undefined): string | null {
  const v = value?.trim()
  return v === undefined || v === '' ? null : v
}
