import { after, before, describe, test, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { createCipheriv, createHash } from 'node:crypto'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { requireEngine, type TestEngine } from '../support/engine.ts'
import { startDockward, type RunningDockward } from '../support/dockward.ts'
import {
  describeFailure, dockerOk, firstCli, removeContainer, rssKiB, runContainer, spawnDocker, uniqueName, type DockerCli
} from '../support/cli.ts'

// Bulk bytes through dockward's hijacked streams: 1 GiB out of an exec and 256 MiB into an exec's
// and a run's stdin must arrive unchanged, and dockward must stream them, not buffer them.

const engine = requireEngine('stream-integrity')
const cli = firstCli()

const GiB = 1024 * 1024 * 1024
const MiB = 1024 * 1024
const STDIN_BYTES = 256 * MiB
/** Generous: dockward measured ~50 MiB idle and ~86 MiB while streaming; buffering a quarter of the 1 GiB would cross it. */
const RSS_LIMIT_MIB = 300
const CALL_TIMEOUT = 300_000

if (engine === null) {
  test('stream integrity through dockward', { skip: 'no engine' }, () => {})
} else if (cli === null) {
  console.log('SKIPPED: no docker CLI found; stream integrity tests not run')
  test('stream integrity through dockward', { skip: 'no docker CLI' }, () => {})
} else {
  suite(engine, cli)
}

/** Samples a process's RSS every 100 ms until stopped; returns the peak in MiB. */
function sampleRss (pid: number): () => number {
  let peak = rssKiB(pid) ?? 0
  const timer = setInterval(() => { peak = Math.max(peak, rssKiB(pid) ?? 0) }, 100)
  return () => {
    clearInterval(timer)
    peak = Math.max(peak, rssKiB(pid) ?? 0)
    return peak / 1024
  }
}

/** Deterministic pseudo-random bytes (AES-CTR keystream), hashed as they are produced. */
function* keystream (total: number, hash: ReturnType<typeof createHash>): Generator<Buffer> {
  const cipher = createCipheriv('aes-128-ctr', Buffer.alloc(16, 7), Buffer.alloc(16, 0))
  const zeros = Buffer.alloc(MiB)
  for (let sent = 0; sent < total; sent += MiB) {
    const chunk = cipher.update(zeros.subarray(0, Math.min(MiB, total - sent)))
    hash.update(chunk)
    yield chunk
  }
}

function suite (eng: TestEngine, cli: DockerCli): void {
  describe(`stream integrity through dockward (docker ${cli.name})`, () => {
    let dw: RunningDockward | null = null
    const name = uniqueName('dw-e2e-stream')
    let dataSha = ''
    const peaks: number[] = []

    before(async () => {
      dw = await startDockward({ upstream: eng.dockerHost })
      await runContainer(eng, { name, cmd: ['sleep', '3600'] })
      // Made once, through the engine directly: random, so no layer of the path can compress or dedupe it.
      const out = await dockerOk(cli, eng.dockerHost, ['exec', name, 'sh', '-c', `head -c ${GiB} /dev/urandom > /data && sha256sum /data`], { timeoutMs: CALL_TIMEOUT })
      dataSha = out.split(' ')[0]!
      assert.match(dataSha, /^[0-9a-f]{64}$/)
    })
    after(async () => {
      await removeContainer(eng, name)
      await dw?.stop()
      if (peaks.length > 0) console.log(`PEAK_RSS_MIB_ALL_STREAMS=${Math.max(...peaks).toFixed(1)}`)
    })

    /** Runs the CLI and hashes its stdout as it streams; returns hash, byte count and seconds. */
    async function hashStdout (host: string, args: readonly string[]): Promise<{ sha: string, bytes: number, seconds: number }> {
      const started = Date.now()
      const run = spawnDocker(cli, host, args, { timeoutMs: CALL_TIMEOUT })
      const hash = createHash('sha256')
      let bytes = 0
      run.child.stdout!.on('data', (c: Buffer) => { hash.update(c); bytes += c.length })
      const exit = await run.exit
      assert.equal(exit.code, 0, describeFailure(cli, args, exit))
      return { sha: hash.digest('hex'), bytes, seconds: (Date.now() - started) / 1000 }
    }

    /** Feeds STDIN_BYTES of keystream to the CLI; returns the local hash and what the CLI printed. */
    async function feedStdin (host: string, args: readonly string[]): Promise<{ localSha: string, stdout: string, seconds: number }> {
      const started = Date.now()
      const run = spawnDocker(cli, host, args, { timeoutMs: CALL_TIMEOUT, stdin: 'pipe' })
      let stdout = ''
      run.child.stdout!.setEncoding('utf8')
      run.child.stdout!.on('data', (s: string) => { stdout += s })
      const hash = createHash('sha256')
      const fed = pipeline(Readable.from(keystream(STDIN_BYTES, hash)), run.child.stdin!)
      const [feedResult, exit] = await Promise.all([fed.then(() => null, (err: unknown) => err), run.exit])
      assert.equal(exit.code, 0, describeFailure(cli, args, { ...exit, stdout }))
      assert.equal(feedResult, null, `writing stdin failed: ${String(feedResult)}`)
      return { localSha: hash.digest('hex'), stdout, seconds: (Date.now() - started) / 1000 }
    }

    function report (t: TestContext, what: string, bytes: number, seconds: number, peakMiB: number, idleMiB: number): void {
      const line = `${what}: ${(bytes / MiB).toFixed(0)} MiB in ${seconds.toFixed(1)} s (${(bytes / MiB / seconds).toFixed(0)} MiB/s), dockward RSS ${idleMiB.toFixed(1)} MiB before, peak ${peakMiB.toFixed(1)} MiB`
      t.diagnostic(line)
    }

    test('1 GiB from exec stdout: same bytes through dockward as direct, bounded memory', { timeout: 900_000 }, async (t) => {
      assert.ok(dw !== null)
      const args = ['exec', name, 'cat', '/data']
      const idle = (rssKiB(dw.pid) ?? 0) / 1024
      const stop = sampleRss(dw.pid)
      let through
      try {
        through = await hashStdout(dw.dockerHost, args)
      } finally {
        peaks.push(stop())
      }
      const peak = peaks[peaks.length - 1]!
      report(t, 'exec stdout via dockward', through.bytes, through.seconds, peak, idle)
      console.log(`PEAK_RSS_MIB=${peak.toFixed(1)}`)
      const straight = await hashStdout(eng.dockerHost, args)
      t.diagnostic(`exec stdout direct: ${straight.seconds.toFixed(1)} s`)

      assert.equal(through.bytes, GiB)
      assert.equal(straight.bytes, GiB)
      assert.equal(straight.sha, dataSha, 'the direct path itself is broken: the test proves nothing')
      assert.equal(through.sha, dataSha, 'bytes changed on the way through dockward')
      assert.ok(peak < RSS_LIMIT_MIB, `dockward peak RSS ${peak.toFixed(1)} MiB >= ${RSS_LIMIT_MIB} MiB`)
    })

    test('256 MiB into exec -i stdin hash the same inside the container', { timeout: 600_000 }, async (t) => {
      assert.ok(dw !== null)
      const idle = (rssKiB(dw.pid) ?? 0) / 1024
      const stop = sampleRss(dw.pid)
      let r
      try {
        r = await feedStdin(dw.dockerHost, ['exec', '-i', name, 'sha256sum'])
      } finally {
        peaks.push(stop())
      }
      report(t, 'exec stdin via dockward', STDIN_BYTES, r.seconds, peaks[peaks.length - 1]!, idle)
      assert.equal(r.stdout.split(' ')[0], r.localSha)
      assert.ok(peaks[peaks.length - 1]! < RSS_LIMIT_MIB)
    })

    test('256 MiB into run -i stdin (attach) hash the same inside the container', { timeout: 600_000 }, async (t) => {
      assert.ok(dw !== null)
      const runName = uniqueName('dw-e2e-stream-run')
      t.after(() => removeContainer(eng, runName))
      const idle = (rssKiB(dw.pid) ?? 0) / 1024
      const stop = sampleRss(dw.pid)
      let r
      try {
        r = await feedStdin(dw.dockerHost, ['run', '-i', '--rm', '--name', runName, eng.image, 'sha256sum'])
      } finally {
        peaks.push(stop())
      }
      report(t, 'run -i stdin via dockward', STDIN_BYTES, r.seconds, peaks[peaks.length - 1]!, idle)
      assert.equal(r.stdout.split(' ')[0], r.localSha)
      assert.ok(peaks[peaks.length - 1]! < RSS_LIMIT_MIB)
    })
  })
}
