// The long fuzz run: every property in test/fuzz/ with many more runs than CI gives them.
//   npm run fuzz                                   DOCKWARD_FUZZ_RUNS=100000, a fresh random seed
//   DOCKWARD_FUZZ_RUNS=200000 npm run fuzz         more runs
//   DOCKWARD_FUZZ_SEED=-123 npm run fuzz           replay a seed a failure printed
//   npm run fuzz -- test/fuzz/go-json.test.ts      only some files
// CI runs the same files with their default run counts and a fixed seed (test/fuzz/fuzz-settings.ts).
import { spawn } from 'node:child_process'
import { randomInt } from 'node:crypto'
import { readdirSync } from 'node:fs'
import { availableParallelism } from 'node:os'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))
const dir = join(root, 'test', 'fuzz')
// Node 20's test runner does not expand globs itself.
const files = process.argv.length > 2
  ? process.argv.slice(2)
  : readdirSync(dir).filter((f) => f.endsWith('.test.ts')).sort().map((f) => relative(root, join(dir, f)))

const runs = process.env.DOCKWARD_FUZZ_RUNS || '100000'
// A fresh seed per long run explores new inputs; it is printed so a failure can be replayed.
const seed = process.env.DOCKWARD_FUZZ_SEED || String(randomInt(-(2 ** 31), 2 ** 31))
const env = { ...process.env, DOCKWARD_FUZZ_RUNS: runs, DOCKWARD_FUZZ_SEED: seed }
const replay = `DOCKWARD_FUZZ_SEED=${seed} DOCKWARD_FUZZ_RUNS=${runs} npm run fuzz`

console.log(`fuzz: ${files.length} file(s), DOCKWARD_FUZZ_RUNS=${runs}, DOCKWARD_FUZZ_SEED=${seed}`)
const started = process.hrtime.bigint()
// The files are independent and CPU-bound: one per core.
const child = spawn(process.execPath, ['--import', 'tsx', '--test', `--test-concurrency=${availableParallelism()}`, ...files], { cwd: root, env, stdio: 'inherit' })
child.on('exit', (code, signal) => {
  const seconds = Number(process.hrtime.bigint() - started) / 1e9
  const status = code === 0 ? 'passed' : `FAILED (${signal ?? `exit ${code}`})`
  console.log(`fuzz: ${status} in ${seconds.toFixed(1)} s with DOCKWARD_FUZZ_SEED=${seed} DOCKWARD_FUZZ_RUNS=${runs}`)
  if (code !== 0) console.log(`fuzz: replay with: ${replay}`)
  process.exit(code ?? 1)
})
