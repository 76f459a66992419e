import http from 'node:http'
import type { Upstream } from './upstream.ts'

/** The engine's answer to `/_ping`: reachable, or why not. */
export type PingResult = { readonly ok: true } | { readonly ok: false, readonly error: string }

/**
 * Asks the engine `GET /_ping` on a connection of its own (a probe must not wait behind pooled
 * streams), within `timeoutMs`. `OK` with 200 is up; anything else says why not.
 *
 * @example await pingEngine(upstream, 2000) // { ok: true }
 */
export function pingEngine (upstream: Upstream, timeoutMs: number): Promise<PingResult> {
  return new Promise((resolve) => {
    const req = http.request({ ...upstream.connect, agent: false, method: 'GET', path: '/_ping', timeout: timeoutMs })
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)))
    req.on('error', (err: NodeJS.ErrnoException) => resolve({ ok: false, error: err.code ?? err.message }))
    req.on('response', (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (c: string) => { if (body.length < 64) body += c })
      res.on('end', () => resolve(res.statusCode === 200 ? { ok: true } : { ok: false, error: `status ${res.statusCode ?? 0}: ${body.slice(0, 64)}` }))
      res.on('error', (err) => resolve({ ok: false, error: err.message }))
    })
    req.end()
  })
}
