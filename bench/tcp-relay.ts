// A bare TCP relay in Node: the floor for any Node proxy on this machine. No HTTP parsing, no
// checks, no pooling: each client connection gets its own engine connection and bytes are copied
// both ways with backpressure. The bench's `--relay` measures it beside dockward, so a ratio can
// be read as "what Node's socket I/O costs here" versus "what dockward adds".
//
//   node --import tsx bench/tcp-relay.ts ENGINE_HOST ENGINE_PORT
// Prints "relay listening on PORT" on stdout once it listens on an ephemeral loopback port.
import net from 'node:net'

const [host, port] = process.argv.slice(2)
if (host === undefined || port === undefined) {
  process.stderr.write('usage: tcp-relay.ts ENGINE_HOST ENGINE_PORT\n')
  process.exit(2)
}

function pipe (src: net.Socket, dst: net.Socket): void {
  src.on('data', (chunk: Buffer) => { if (!dst.write(chunk)) src.pause() })
  dst.on('drain', () => src.resume())
  src.on('end', () => dst.end())
}

const server = net.createServer({ allowHalfOpen: true }, (client) => {
  const engine = net.connect({ host, port: Number(port), allowHalfOpen: true })
  engine.setNoDelay(true)
  client.setNoDelay(true)
  pipe(client, engine)
  pipe(engine, client)
  client.on('error', () => engine.destroy())
  engine.on('error', () => client.destroy())
  client.on('close', () => engine.destroy())
  engine.on('close', () => { if (client.writableFinished) client.destroy(); else client.once('finish', () => client.destroy()) })
})
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`relay listening on ${(server.address() as net.AddressInfo).port}\n`)
})
process.on('SIGTERM', () => process.exit(0))
