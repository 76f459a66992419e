import http from 'node:http'

/** An answer in the engine's format: the status and the `message` (or the raw text when not JSON). */
export interface EngineReply { status: number, message: string }

/**
 * One request on a unix socket (dockward's or the engine's), fresh connection: a string or Buffer
 * body goes as written (JSON by default), and the reply's `message` is read the way the docker CLI
 * reads it.
 *
 * @example await sendRequest(dw.socketPath, 'POST', '/containers/create', '{"Image":"x"}') // { status: 201, message: '…' }
 */
export function sendRequest (socketPath: string, method: string, path: string, body?: string | Buffer, headers: Record<string, string> = {}): Promise<EngineReply> {
  return new Promise((resolve, reject) => {
    const h: Record<string, string | number> = { ...headers }
    if (body !== undefined && h['Transfer-Encoding'] === undefined) h['Content-Length'] = Buffer.byteLength(body)
    if (body !== undefined && h['Content-Type'] === undefined) h['Content-Type'] = 'application/json'
    const req = http.request({ socketPath, method, path, headers: h, agent: false }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8')
        let message = text
        try { message = (JSON.parse(text) as { message?: string }).message ?? text } catch {}
        resolve({ status: res.statusCode ?? 0, message })
      })
    })
    req.on('error', reject)
    req.end(body)
  })
}

/**
 * `GET path` on a unix socket, fresh connection: the status and the body as text.
 *
 * @example await getText(dw.socketPath, '/_ping') // { status: 200, body: 'OK' }
 */
export function getText (socketPath: string, path: string): Promise<{ status: number, body: string }> {
  return new Promise((resolve, reject) => {
    http.get({ socketPath, path, agent: false }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (s: string) => { body += s })
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }))
    }).on('error', reject)
  })
}
