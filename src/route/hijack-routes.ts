/**
 * Which operations may switch protocols, and to what. The engine hijacks the connection on attach
 * and exec start (`Upgrade: tcp`, moby api/server/router/container/exec.go), on BuildKit's
 * `/session` and `/grpc` (`Upgrade: h2c`), and on the websocket attach. Any other upgrade is refused
 * or stripped: an h2c upgrade on an ordinary route is the classic way past a proxy's checks.
 */
export type UpgradeProtocol = 'tcp' | 'h2c' | 'websocket'

export const upgradeByOperation: ReadonlyMap<string, UpgradeProtocol> = new Map([
  ['ContainerAttach', 'tcp'],
  ['ExecStart', 'tcp'],
  ['Session', 'h2c'],
  ['Grpc', 'h2c'],
  ['ContainerAttachWebsocket', 'websocket']
])
