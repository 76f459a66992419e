import fs from 'node:fs'
import pino, { type Logger } from 'pino'

/** Where audit records go: the process's stdout (for the platform's log shipper) or a file. */
export type AuditDestination =
  | { readonly kind: 'stdout' }
  | { readonly kind: 'file', readonly path: string }

export interface AuditSinkOptions {
  readonly destination: AuditDestination
  /**
   * Write every record synchronously and report failure to the caller, so a request can be refused
   * when its record cannot be written. Otherwise records are batched and written in the
   * background, and failures are only counted.
   */
  readonly failClosed: boolean
  /** Each failed write or open (for the operational log and the error counter). */
  readonly onError: (err: Error) => void
  /** The sink works again after failing; `lost` records could not be written meanwhile. */
  readonly onRecovered?: (lost: number) => void
  /** Least time between two attempts to reopen a failed destination (ms, default 500). */
  readonly retryMs?: number
}

export interface AuditSink {
  /**
   * Writes one record as a JSON line (pino adds `v` and `time` in front). In fail-closed mode the
   * line is in the file (the kernel's page cache) when this returns true; false means it is not.
   * In the default mode it is queued and the answer is true unless the sink is known broken.
   */
  write: (record: object) => boolean
  /** Whether the last write (or reopen) worked; a broken sink tries to recover first, at most every retryMs. */
  healthy: () => boolean
  /** Opens the file again by its path (SIGHUP after logrotate moved it). No-op for stdout. */
  reopen: () => void
  /** Writes what is queued and closes the file. */
  close: () => void
}

/** Queued bytes in the default mode beyond which records are dropped (and counted) rather than held. */
const MAX_PENDING_BYTES = 16 * 1024 * 1024
/** How long a synchronous write waits for a full pipe (stdout) before it counts as failed. */
const SYNC_PIPE_WAIT_MS = 2000
/** Default-mode files are checked this often for having been moved or deleted under the open descriptor. */
const IDENTITY_CHECK_MS = 1000

/**
 * The audit log writer. pino turns each record into one JSON line; the line goes to a destination
 * written here rather than to pino's own (sonic-boom), because fail-closed needs three things that
 * one does not give: a failure reported to the caller of this write, a check that the path still
 * names the open file (a deleted or replaced log file would otherwise swallow records without an
 * error), and a recovery that is proven by a record that reached the file.
 *
 * - Fail-closed: each line is written with `writeSync` before this returns; for a file, the path
 *   is first compared with the open descriptor (device and inode) and reopened when it changed.
 * - Default: lines are queued and written together once per event-loop turn (one `write` for
 *   all records of the turn; synchronous for a file, in the thread pool for stdout, which may be
 *   a slow pipe); a file is checked for having moved at most once a second.
 *
 * After a failure the sink is broken until a reopen and a write succeed: the first line it then
 * writes is an `audit-resumed` record that says how many records were lost in between.
 *
 * @example
 * const sink = createAuditSink({ destination: { kind: 'file', path: '/var/log/dockward/audit.jsonl' }, failClosed: true, onError: log })
 * sink.write({ event: 'request', id: '…' }) // true: the line is in the file
 */
export function createAuditSink (options: AuditSinkOptions): AuditSink {
  const writer = new LineWriter(options)
  // `v` rides on pino's level slot so it comes first and pino writes no level of its own.
  const logger: Logger = pino({
    base: null,
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: () => ({ v: 1 }) }
  }, writer)
  return {
    write (record) {
      try {
        logger.info(record)
        return true
      } catch {
        // Only the fail-closed writer throws; the failure is already counted and reported.
        return false
      }
    },
    healthy: () => writer.healthy(),
    reopen: () => writer.reopen(),
    close: () => writer.close()
  }
}

/** The record that opens the log again after an outage; the writer makes it itself, in pino's shape. */
function resumedLine (lost: number): string {
  return `{"v":1,"time":"${new Date().toISOString()}","event":"audit-resumed","lostRecords":${lost}}\n`
}

/** A pino destination: `write(line)` is all pino needs. */
class LineWriter {
  readonly #options: AuditSinkOptions
  readonly #path: string | null
  readonly #retryMs: number
  #fd = 1
  #identity: { dev: number, ino: number } | null = null
  #retired: number[] = []
  #broken: Error | null = null
  #lastTry = 0
  #lost = 0
  #lastIdentityCheck = 0
  // Default mode: lines waiting for the next flush.
  #pending: string[] = []
  #pendingBytes = 0
  #flushing = false
  #scheduled = false
  #closed = false
  // A failed write left part of a line that could not be cut off: the next write ends it first.
  #torn = false

  constructor (options: AuditSinkOptions) {
    this.#options = options
    this.#retryMs = options.retryMs ?? 500
    this.#path = options.destination.kind === 'file' ? options.destination.path : null
    // A file that cannot be opened at start stops start-up: the caller sees the throw.
    if (this.#path !== null) this.#open()
  }

  write (line: string): void {
    if (this.#closed) return
    if (this.#options.failClosed) this.#writeNow(line)
    else this.#queue(line)
  }

  /**
   * Fail-closed: a broken sink tries to recover now (at most every retryMs). Default mode: the
   * attempt is a flush in the background, so a recovery shows on the next call.
   */
  healthy (): boolean {
    if (this.#broken === null) return true
    if (this.#options.failClosed) return this.#recoverNow()
    this.#schedule()
    return false
  }

  /** SIGHUP: open the path again. A failure here is reported and makes the sink broken. */
  reopen (): void {
    if (this.#path === null || this.#closed) return
    try {
      this.#open()
    } catch (err) {
      this.#fail(err as Error)
    }
  }

  close (): void {
    if (this.#closed) return
    this.#closed = true
    if (this.#pending.length > 0 && this.#broken === null && !this.#flushing) {
      try { this.#writeSync(this.#pending.join('')) } catch (err) { this.#options.onError(err as Error) }
    }
    this.#pending = []
    if (this.#path !== null && !this.#flushing) {
      this.#retired.push(this.#fd)
      this.#closeRetired()
    }
  }

  // ---- fail-closed: synchronous

  #writeNow (line: string): void {
    if (this.#broken !== null && !this.#recoverNow()) {
      this.#lost++
      throw this.#broken
    }
    try {
      this.#followPath()
      this.#writeSync(line)
    } catch (err) {
      this.#lost++
      this.#fail(err as Error)
      throw err
    }
  }

  /** One attempt, at most every retryMs: reopen and write the `audit-resumed` record; true when both worked. */
  #recoverNow (): boolean {
    const now = Date.now()
    if (now - this.#lastTry < this.#retryMs) return false
    this.#lastTry = now
    try {
      if (this.#path !== null) this.#open()
      this.#writeSync(resumedLine(this.#lost))
    } catch (err) {
      this.#options.onError(err as Error)
      return false
    }
    this.#recovered()
    return true
  }

  // ---- default: one write per event-loop turn

  #queue (line: string): void {
    if (this.#pendingBytes + line.length > MAX_PENDING_BYTES) {
      // The destination cannot keep up (or is broken): drop rather than grow without bound.
      if (this.#lost++ === 0) this.#options.onError(new Error(`more than ${MAX_PENDING_BYTES} bytes of audit records queued; dropping records`))
      return
    }
    this.#pending.push(line)
    this.#pendingBytes += line.length
    this.#schedule()
  }

  #schedule (): void {
    if (this.#scheduled || this.#flushing || this.#closed) return
    this.#scheduled = true
    setImmediate(() => this.#flush())
  }

  #flush (): void {
    this.#scheduled = false
    if (this.#closed) return
    let lines = this.#pending
    this.#pending = []
    this.#pendingBytes = 0
    const recovering = this.#broken !== null
    try {
      if (recovering) {
        // While broken, one attempt per retryMs; the records of the other turns are lost.
        const now = Date.now()
        if (now - this.#lastTry < this.#retryMs) { this.#lost += lines.length; return }
        this.#lastTry = now
        if (this.#path !== null) this.#open()
        lines = [resumedLine(this.#lost), ...lines]
      } else {
        const now = Date.now()
        if (now - this.#lastIdentityCheck >= IDENTITY_CHECK_MS) {
          this.#lastIdentityCheck = now
          this.#followPath()
        }
      }
    } catch (err) {
      this.#lost += lines.length - (recovering ? 1 : 0)
      this.#fail(err as Error)
      return
    }
    if (lines.length === 0) return
    const data = lines.length === 1 ? lines[0]! : lines.join('')
    if (this.#path !== null) {
      // A file: one synchronous write per turn into the page cache costs less than a trip
      // through the thread pool, and a crash loses nothing that was queued before the turn ended.
      try {
        this.#writeSync(data)
        if (recovering) this.#recovered()
      } catch (err) {
        this.#lost += lines.length - (recovering ? 1 : 0)
        this.#fail(err as Error)
      }
      return
    }
    // stdout may be a pipe whose reader is slow: never block the loop on it.
    this.#flushing = true
    const torn = this.#torn
    writeAll(this.#fd, Buffer.from(torn ? `\n${data}` : data, 'utf8'), (err, written) => {
      this.#flushing = false
      this.#closeRetired()
      // A pipe cannot be cut back: a line begun and not finished is ended by the next write.
      if (err === null) this.#torn = false
      else if (written > 0) this.#torn = true
      if (err !== null) {
        this.#lost += lines.length - (recovering ? 1 : 0)
        this.#fail(err)
      } else if (recovering) {
        this.#recovered()
      }
      if (this.#pending.length > 0) this.#schedule()
    })
  }

  // ---- both

  /**
   * Writes whole lines, or none: a write that fails midway (a disk that fills up) is cut back
   * to where it began, so the next line does not land glued to a fragment. Where that cannot be
   * done (a pipe), the next write begins with a line break.
   */
  #writeSync (data: string): void {
    const torn = this.#torn
    try {
      writeAllSync(this.#fd, torn ? `\n${data}` : data)
      this.#torn = false
    } catch (err) {
      const written = (err as { written?: number }).written ?? 0
      if (written > 0) {
        try {
          fs.ftruncateSync(this.#fd, fs.fstatSync(this.#fd).size - written)
        } catch {
          this.#torn = true
        }
      }
      throw err
    }
  }

  /** Reopens when the path no longer names the open file (moved by logrotate, deleted, replaced). */
  #followPath (): void {
    if (this.#path === null) return
    let st: fs.Stats | null = null
    try {
      st = fs.statSync(this.#path)
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
    }
    if (st === null || this.#identity === null || st.dev !== this.#identity.dev || st.ino !== this.#identity.ino) this.#open()
  }

  #open (): void {
    const path = this.#path!
    // 0600: the log names who did what; the operator widens it (a group) if a shipper needs it.
    const fd = fs.openSync(path, 'a', 0o600)
    const st = fs.fstatSync(fd)
    if (!st.isFile() && !st.isCharacterDevice() && !st.isFIFO()) {
      fs.closeSync(fd)
      throw Object.assign(new Error(`${path} is not a file`), { code: 'EISDIR' })
    }
    if (this.#identity !== null) this.#retired.push(this.#fd)
    this.#fd = fd
    this.#identity = { dev: st.dev, ino: st.ino }
    this.#closeRetired()
  }

  // A descriptor is closed only when no write on it is in flight: its number could otherwise be
  // reused by a socket opened meanwhile, and the queued write would land there.
  #closeRetired (): void {
    if (this.#flushing) return
    for (const fd of this.#retired) {
      try { fs.closeSync(fd) } catch {}
    }
    this.#retired = []
  }

  #fail (err: Error): void {
    this.#lastTry = Date.now()
    this.#broken ??= err
    this.#options.onError(err)
  }

  #recovered (): void {
    const lost = this.#lost
    this.#broken = null
    this.#lost = 0
    this.#options.onRecovered?.(lost)
  }
}

/**
 * writeSync until every byte is out; a full non-blocking pipe (stdout) is waited on briefly. A
 * failure carries how many bytes did go out (`written`).
 */
function writeAllSync (fd: number, line: string): void {
  let buf = Buffer.from(line, 'utf8')
  let written = 0
  const deadline = Date.now() + SYNC_PIPE_WAIT_MS
  while (buf.length > 0) {
    let n: number
    try {
      n = fs.writeSync(fd, buf)
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EAGAIN' || Date.now() > deadline) throw Object.assign(err as Error, { written })
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5)
      continue
    }
    written += n
    buf = buf.subarray(n)
  }
}

/** fs.write until every byte is out; EAGAIN on a full pipe is retried after a short wait. */
function writeAll (fd: number, data: Buffer, cb: (err: Error | null, written: number) => void, written = 0): void {
  fs.write(fd, data, 0, data.length, null, (err, n) => {
    if (err !== null) {
      if (err.code === 'EAGAIN') { setTimeout(() => writeAll(fd, data, cb, written), 5); return }
      cb(err, written)
      return
    }
    if (n < data.length) writeAll(fd, data.subarray(n), cb, written + n)
    else cb(null, written + n)
  })
}
