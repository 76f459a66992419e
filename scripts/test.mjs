// Runs the whole test suite: starts a private Docker engine (scripts/engine.sh), runs every
// test/**/*.test.ts with node's test runner, and stops the engine it started.
//   node scripts/test.mjs            all tests
//   node scripts/test.mjs unit       only tests that need no engine (test/ minus test/e2e and engine suites still skip)
//   node scripts/test.mjs FILE...    these test files (with an engine)
// An engine named by DOCKWARD_TEST_DOCKER_HOST is reused and left running.
import { spawnSync, spawn } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))
const ci = process.env.CI === 'true'
const onlyUnit = process.argv[2] === 'unit'
const named = onlyUnit ? [] : process.argv.slice(2)

function findTests (dir) {
  const out = []
  for (const name of readdirSync(dir)) {
    const p = join(dir, name)
    if (statSync(p).isDirectory()) out.push(...findTests(p))
    else if (name.endsWith('.test.ts')) out.push(relative(root, p))
  }
  return out.sort()
}

// test/exclusive/: suites that disturb the engine itself (restart it), run after all others.
let files = findTests(join(root, 'test')).filter((f) => !f.startsWith('test/exclusive/'))
const exclusive = onlyUnit || named.length > 0 ? [] : findTests(join(root, 'test', 'exclusive'))
if (onlyUnit) files = files.filter((f) => !f.startsWith('test/e2e/'))
if (named.length > 0) {
  const unknown = named.filter((f) => !files.includes(f))
  if (unknown.length > 0) {
    console.error(`not test files under test/ (or exclusive ones, which run only in the whole suite): ${unknown.join(', ')}`)
    process.exit(1)
  }
  files = named
}
if (files.length === 0) {
  console.error('no test files found under test/')
  process.exit(1)
}

const env = { ...process.env }
let engineDir = null
if (!onlyUnit) {
  engineDir = mkdtempSync('/tmp/dw-engine.')
  const up = spawnSync('bash', [join(root, 'scripts/engine.sh'), 'up', engineDir], { stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8' })
  if (up.status === 0) {
    for (const line of readFileSync(join(engineDir, 'env'), 'utf8').split('\n')) {
      const m = /^([A-Z0-9_]+)=(.*)$/.exec(line)
      if (m) env[m[1]] = m[2]
    }
  } else {
    rmSync(engineDir, { recursive: true, force: true })
    const line = 'SKIPPED: could not start a Docker engine (scripts/engine.sh up failed); engine and e2e suites will not run'
    if (ci) {
      console.error(`FAILED: ${line} — under CI=true this is a failure`)
      process.exit(1)
    }
    console.log('='.repeat(line.length) + '\n' + line + '\n' + '='.repeat(line.length))
    engineDir = null
  }
}

const stopEngine = () => {
  if (engineDir !== null) spawnSync('bash', [join(root, 'scripts/engine.sh'), 'down', engineDir], { stdio: 'inherit' })
  engineDir = null
}
process.on('SIGINT', () => { stopEngine(); process.exit(130) })
process.on('SIGTERM', () => { stopEngine(); process.exit(143) })

// One file at a time: the engine suites share one engine and move gigabytes; in parallel on two
// cores they would only measure each other.
const run = (list) => new Promise((resolve) => {
  const child = spawn(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=1', ...list], { cwd: root, env, stdio: 'inherit' })
  child.on('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0)))
})
// The exclusive suites may restart the engine: only one this runner started (they skip loudly
// otherwise), and only once nothing else uses it.
if (engineDir !== null) env.DOCKWARD_TEST_ENGINE_DIR = engineDir
const main = await run(files)
const last = exclusive.length === 0 ? 0 : await run(exclusive)
stopEngine()
process.exit(main !== 0 ? main : last)
