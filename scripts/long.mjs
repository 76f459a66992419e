// The long forms of the reliability suites in one run, with one summary table at the end (not
// part of CI): the fuzz properties with many runs, the bounded load test for a minute, and the
// soak (1,000 idle hijacked sessions and event streams, a slow 1 GiB logs reader).
//   npm run long              full: DOCKWARD_FUZZ_RUNS=100000, 60 s of load, the full soak
//   npm run long -- --quick   a few minutes: 2,000 fuzz runs, 10 s of load, the quick soak
// Uses the engine named by DOCKWARD_TEST_DOCKER_HOST, or starts a private one (scripts/engine.sh)
// and stops it at the end.
import { spawn, spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))
const quick = process.argv.includes('--quick')
const env = { ...process.env }

let engineDir = null
if (!env.DOCKWARD_TEST_DOCKER_HOST) {
  engineDir = mkdtempSync('/tmp/dw-engine.')
  const up = spawnSync('bash', [join(root, 'scripts/engine.sh'), 'up', engineDir], { stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8' })
  if (up.status !== 0) {
    rmSync(engineDir, { recursive: true, force: true })
    console.error('long: could not start a Docker engine (scripts/engine.sh up failed)')
    process.exit(1)
  }
  for (const line of readFileSync(join(engineDir, 'env'), 'utf8').split('\n')) {
    const m = /^([A-Z0-9_]+)=(.*)$/.exec(line)
    if (m) env[m[1]] = m[2]
  }
}
const stopEngine = () => {
  if (engineDir !== null) spawnSync('bash', [join(root, 'scripts/engine.sh'), 'down', engineDir], { stdio: 'inherit' })
  engineDir = null
}
process.on('SIGINT', () => { stopEngine(); process.exit(130) })

/** Runs one part with its output shown, and keeps the lines `keep` picks for the summary. */
function part (name, args, extraEnv, keep) {
  return new Promise((resolve) => {
    console.log(`\n== ${name}: ${args.join(' ')}`)
    const started = Date.now()
    const child = spawn(process.execPath, args, { cwd: root, env: { ...env, ...extraEnv }, stdio: ['ignore', 'pipe', 'inherit'] })
    let out = ''
    child.stdout.setEncoding('utf8')
    child.stdout.on('data', (s) => { out += s; process.stdout.write(s) })
    child.on('close', (code) => {
      const lines = out.split('\n').filter(keep).map((l) => l.replace(/^#\s*/, '').trim())
      resolve({ name, ok: code === 0, seconds: (Date.now() - started) / 1000, notes: lines })
    })
  })
}

const loadSeconds = quick ? '10' : '60'
const results = []
results.push(await part('fuzz', [join(root, 'scripts/fuzz.mjs')], { DOCKWARD_FUZZ_RUNS: quick ? '2000' : (env.DOCKWARD_FUZZ_RUNS ?? '100000') }, (l) => /^fuzz:|^# (pass|fail) /.test(l)))
results.push(await part('load', ['--import', 'tsx', '--test', 'test/e2e/load.test.ts'], { DOCKWARD_LOAD_SECONDS: loadSeconds }, (l) => /load: |^# (pass|fail) /.test(l)))
results.push(await part('soak', ['--import', 'tsx', 'bench/soak.ts', ...(quick ? ['--quick'] : [])], {}, (l) => /^\s*(attach sessions|event streams|slow reader)/i.test(l) || /\bFAIL/.test(l)))
stopEngine()

console.log(`\nlong-form reliability run (${quick ? 'quick' : 'full'})\n`)
console.log(`${'part'.padEnd(6)}  ${'result'.padEnd(6)}  ${'time'.padStart(7)}  numbers`)
console.log(`${'-'.repeat(6)}  ${'-'.repeat(6)}  ${'-'.repeat(7)}  ${'-'.repeat(60)}`)
for (const r of results) {
  const [first = '', ...rest] = r.notes
  console.log(`${r.name.padEnd(6)}  ${(r.ok ? 'PASS' : 'FAIL').padEnd(6)}  ${`${r.seconds.toFixed(0)} s`.padStart(7)}  ${first}`)
  for (const n of rest) console.log(`${''.padEnd(6)}  ${''.padEnd(6)}  ${''.padStart(7)}  ${n}`)
}
process.exit(results.every((r) => r.ok) ? 0 : 1)
