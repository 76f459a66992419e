import { gzipSync } from 'node:zlib'

/** One entry of a test archive; `type` is the ustar type flag ('0' file, '5' directory, '2' symlink, 'x' PAX …). */
export interface TarEntry {
  readonly name: string
  readonly data?: Buffer | string
  readonly type?: string
  readonly linkName?: string
}

/**
 * Writes a ustar archive the way Go's archive/tar (and so `opa build`) does, names as given
 * (`/policy.wasm` included), for bundles and for hostile archives in the reader's tests.
 *
 * @example tarGz([{ name: '/policy.wasm', data: wasm }, { name: '/data.json', data: '{}' }])
 */
export function tar (entries: readonly TarEntry[], options: { badChecksum?: boolean, noEnd?: boolean } = {}): Buffer {
  const blocks: Buffer[] = []
  for (const e of entries) {
    const data = typeof e.data === 'string' ? Buffer.from(e.data) : (e.data ?? Buffer.alloc(0))
    const h = Buffer.alloc(512)
    h.write(e.name, 0, 100, 'utf8')
    h.write('0000644\0', 100, 'latin1')
    h.write('0000000\0', 108, 'latin1')
    h.write('0000000\0', 116, 'latin1')
    h.write(data.length.toString(8).padStart(11, '0') + '\0', 124, 'latin1')
    h.write('00000000000\0', 136, 'latin1')
    h.write(e.type ?? '0', 156, 'latin1')
    if (e.linkName !== undefined) h.write(e.linkName, 157, 100, 'utf8')
    h.write('ustar\0' + '00', 257, 'latin1')
    h.fill(0x20, 148, 156)
    let sum = 0
    for (const b of h) sum += b
    if (options.badChecksum === true) sum += 1
    h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 'latin1')
    blocks.push(h, data, Buffer.alloc((512 - (data.length % 512)) % 512))
  }
  if (options.noEnd !== true) blocks.push(Buffer.alloc(1024))
  return Buffer.concat(blocks)
}

/** `tar` gzipped. */
export function tarGz (entries: readonly TarEntry[], options: { badChecksum?: boolean, noEnd?: boolean } = {}): Buffer {
  return gzipSync(tar(entries, options))
}

/** A PAX extended header entry setting `path` for the entry after it. */
export function paxPath (path: string): TarEntry {
  const body = (len: number): string => `${len} path=${path}\n`
  let len = body(0).length
  while (body(len).length !== len) len = body(len).length
  return { name: 'PaxHeaders/x', type: 'x', data: body(len) }
}
