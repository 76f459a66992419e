import net from 'node:net'

/**
 * Writes exact bytes on a fresh connection and collects everything that comes back until the
 * server closes, until `idleMs` passes without data (for connections that stay open), or at most
 * `maxMs` (for streams that never go quiet).
 */
export function rawExchange (target: string | { port: number, host: string }, bytes: string | Buffer | Array<string | Buffer>, idleMs = 1500, maxMs = 10_000): Promise<string> {
  return new Promise((resolve, reject) => {
    // A unix socket path, or a TCP address.
    const socket = typeof target === 'string' ? net.connect(target) : net.connect(target.port, target.host)
    const chunks: Buffer[] = []
    let timer: NodeJS.Timeout | null = null
    const deadline = setTimeout(() => done(), maxMs)
    const done = (): void => {
      clearTimeout(deadline)
      if (timer !== null) clearTimeout(timer)
      socket.destroy()
      resolve(Buffer.concat(chunks).toString('latin1'))
    }
    const arm = (): void => {
      if (timer !== null) clearTimeout(timer)
      timer = setTimeout(done, idleMs)
    }
    socket.on('connect', async () => {
      const parts = Array.isArray(bytes) ? bytes : [bytes]
      for (const p of parts) {
        socket.write(p)
        // Separate writes so the server sees them as separate packets.
        if (parts.length > 1) await new Promise((r) => setTimeout(r, 50))
      }
      arm()
    })
    socket.on('data', (c: Buffer) => { chunks.push(c); arm() })
    socket.on('end', done)
    socket.on('error', reject)
  })
}

/** Status codes of every response in a raw HTTP/1.1 byte stream, in order. */
export function statusCodes (raw: string): number[] {
  return [...raw.matchAll(/HTTP\/1\.[01] (\d{3}) [^\r\n]*\r\n/g)].map((m) => Number(m[1]))
}
