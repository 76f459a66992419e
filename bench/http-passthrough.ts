// A plain Node HTTP pass-through: the kind of 40-line proxy the reference run measured at
// 0.17x on /_ping. node:http server, node:http client with a keep-alive Agent to the engine's unix
// socket (as dockward's upstream), bodies piped both ways. No checks, no audit, no strict parsing.
// The bench's `--relay` measures it beside dockward on the HTTP and logs rows: where dockward's
// ratio is close to this one, the gap to direct is Node's HTTP stack on this machine.
//
//   node --import tsx bench/http-passthrough.ts ENGINE_SOCKET
// Prints "passthrough listening on PORT" on stdout once it listens on an ephemeral loopback port.
import http from 'node:http'

const socketPath = process.argv[2]
if (socketPath === undefined) {
  process.stderr.write('usage: http-passthrough.ts ENGINE_SOCKET\n')
  process.exit(2)
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 256 })

const server = http.createServer((req, res) => {
  const upstream = http.request({ socketPath, agent, method: req.method, path: req.url, headers: req.headers }, (answer) => {
    res.writeHead(answer.statusCode ?? 502, answer.statusMessage, answer.rawHeaders)
    answer.pipe(res)
  })
  upstream.on('error', () => { if (!res.headersSent) res.writeHead(502); res.end() })
  res.on('close', () => { if (!res.writableFinished) upstream.destroy() })
  req.pipe(upstream)
})
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`passthrough listening on ${(server.address() as import('node:net').AddressInfo).port}\n`)
})
process.on('SIGTERM', () => process.exit(0))
