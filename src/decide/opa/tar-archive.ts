import { gunzipSync } from 'node:zlib'

/**
 * A strict reader of the `.tar.gz` bundles `opa build` writes (Go's archive/tar: ustar headers,
 * PAX records for long names). Nothing is ever written to disk, so the danger is not extraction
 * but ambiguity: which bytes count as `/policy.wasm`. Hence every entry must be a regular file or
 * a directory, every name must be clean, and no name may appear twice.
 */

export interface TarLimits {
  /** Largest `.tar.gz` file read, in bytes. */
  readonly maxCompressed: number
  /** Largest total after gunzip, in bytes (a small file can expand a thousandfold). */
  readonly maxExpanded: number
  /** Most entries (files, directories, PAX headers) in the archive. */
  readonly maxEntries: number
}

export const DEFAULT_TAR_LIMITS: TarLimits = Object.freeze({
  maxCompressed: 64 * 1024 * 1024,
  maxExpanded: 256 * 1024 * 1024,
  maxEntries: 10_000
})

const BLOCK = 512

/**
 * The regular files of a gzipped tar archive by clean name (no leading `/` or `./`). Throws an
 * Error saying what is wrong: bad gzip, bad checksum, truncation, a link, device or other special
 * entry, a name with `..`, `.` or empty segments, a duplicate name, or a size over the limits.
 *
 * @example readTarGz(readFileSync('bundle.tar.gz')).get('policy.wasm') // <Buffer 00 61 73 6d …>
 */
export function readTarGz (bytes: Buffer, limits: TarLimits = DEFAULT_TAR_LIMITS): Map<string, Buffer> {
  if (bytes.length > limits.maxCompressed) throw new Error(`archive is larger than ${limits.maxCompressed} bytes`)
  let tar: Buffer
  try {
    tar = gunzipSync(bytes, { maxOutputLength: limits.maxExpanded })
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'ERR_BUFFER_TOO_LARGE' || err instanceof RangeError) throw new Error(`archive expands to more than ${limits.maxExpanded} bytes`)
    throw new Error(`not a gzip file (${(err as Error).message})`)
  }
  return readTar(tar, limits.maxEntries)
}

/**
 * The regular files of an uncompressed tar archive; see readTarGz.
 *
 * @example readTar(tarBytes, 100).size // 3
 */
export function readTar (tar: Buffer, maxEntries: number): Map<string, Buffer> {
  const files = new Map<string, Buffer>()
  const seen = new Set<string>()
  let offset = 0
  let entries = 0
  // Set by a PAX (`x`) or GNU long-name (`L`) entry for the one entry after it.
  let nextName: string | null = null
  let nextSize: number | null = null
  while (true) {
    if (offset + BLOCK > tar.length) throw new Error('truncated archive: no end-of-archive marker')
    const header = tar.subarray(offset, offset + BLOCK)
    if (header.every((b) => b === 0)) break
    if (++entries > maxEntries) throw new Error(`archive has more than ${maxEntries} entries`)
    checkChecksum(header, offset)
    const type = String.fromCharCode(header[156]!)
    const size = nextSize ?? octal(header.subarray(124, 136), 'size', offset)
    const dataStart = offset + BLOCK
    if (dataStart + size > tar.length) throw new Error(`truncated archive: entry at byte ${offset} needs ${size} bytes`)
    const data = tar.subarray(dataStart, dataStart + size)
    offset = dataStart + Math.ceil(size / BLOCK) * BLOCK

    if (type === 'x' || type === 'L') {
      if (nextName !== null || nextSize !== null) throw new Error(`two extended headers in a row at byte ${dataStart - BLOCK}`)
      if (type === 'L') nextName = cString(data)
      else ({ name: nextName, size: nextSize } = paxRecords(data))
      continue
    }
    if (type === 'g') continue
    const rawName = nextName ?? ustarName(header)
    nextName = null
    nextSize = null
    if (type !== '0' && type !== '\0' && type !== '5') {
      throw new Error(`entry ${JSON.stringify(rawName)} is ${ENTRY_KINDS[type] ?? `of unsupported type ${JSON.stringify(type)}`}; a bundle holds only files and directories`)
    }
    const name = cleanName(rawName, type === '5')
    if (name === '.') continue
    if (seen.has(name)) throw new Error(`entry ${JSON.stringify(name)} appears twice`)
    seen.add(name)
    if (type !== '5') files.set(name, data)
  }
  if (nextName !== null || nextSize !== null) throw new Error('archive ends after an extended header')
  return files
}

const ENTRY_KINDS: Readonly<Record<string, string>> = {
  1: 'a hard link',
  2: 'a symbolic link',
  3: 'a character device',
  4: 'a block device',
  6: 'a FIFO',
  K: 'a link with a long target'
}

function checkChecksum (header: Buffer, offset: number): void {
  const want = octal(header.subarray(148, 156), 'checksum', offset)
  let sum = 0
  // The checksum field itself counts as eight spaces.
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : header[i]!
  if (sum !== want) throw new Error(`bad header checksum at byte ${offset}`)
}

/** An octal numeric field: digits, then NUL or space padding. Base-256 sizes (over 8 GiB) are refused. */
function octal (field: Buffer, what: string, offset: number): number {
  const text = field.toString('latin1').replace(/[\0 ]+$/, '').replace(/^ +/, '')
  if (!/^[0-7]{1,12}$/.test(text)) throw new Error(`bad ${what} field at byte ${offset}`)
  return parseInt(text, 8)
}

function cString (field: Buffer): string {
  const end = field.indexOf(0)
  return field.subarray(0, end === -1 ? field.length : end).toString('utf8')
}

/** ustar keeps long names as `prefix/name`. */
function ustarName (header: Buffer): string {
  const name = cString(header.subarray(0, 100))
  const magic = header.subarray(257, 262).toString('latin1')
  const prefix = magic === 'ustar' ? cString(header.subarray(345, 500)) : ''
  return prefix === '' ? name : `${prefix}/${name}`
}

/** PAX records, `LEN key=value\n` each; only `path` and `size` matter to reading the archive. */
function paxRecords (data: Buffer): { name: string | null, size: number | null } {
  let name: string | null = null
  let size: number | null = null
  let i = 0
  while (i < data.length) {
    if (data[i] === 0) break
    const space = data.indexOf(0x20, i)
    const len = space === -1 ? NaN : Number(data.subarray(i, space).toString('latin1'))
    if (!Number.isSafeInteger(len) || len <= space - i || i + len > data.length || data[i + len - 1] !== 0x0a) throw new Error('malformed PAX header')
    const record = data.subarray(space + 1, i + len - 1).toString('utf8')
    const eq = record.indexOf('=')
    if (eq === -1) throw new Error('malformed PAX header')
    const key = record.slice(0, eq)
    const value = record.slice(eq + 1)
    if (key === 'path') name = value
    else if (key === 'size') {
      if (!/^[0-9]{1,15}$/.test(value)) throw new Error('malformed PAX size')
      size = Number(value)
    }
    i += len
  }
  return { name, size }
}

/** `/a/b`, `./a/b` and `a/b` are one name; `..`, `.`, empty segments and NUL are refused. */
function cleanName (raw: string, directory: boolean): string {
  let name = raw
  if (name.startsWith('./')) name = name.slice(2)
  else if (name.startsWith('/')) name = name.slice(1)
  if (directory && name.endsWith('/')) name = name.slice(0, -1)
  // The archive root itself (`./` or `/`) as a directory entry.
  if (directory && (name === '' || name === '.')) return '.'
  if (name === '' || name.includes('\0') || name.split('/').some((s) => s === '' || s === '.' || s === '..')) {
    throw new Error(`entry name ${JSON.stringify(raw)} is not a clean relative path`)
  }
  return name
}
