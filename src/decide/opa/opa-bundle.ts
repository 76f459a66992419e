import { basename } from 'node:path'
import { parse as parseYaml } from 'yaml'
import { ConfigError } from '../../core/errors.ts'
import { bytesDigest } from '../reloading-store.ts'
import type { OpaSource } from './opa-settings.ts'
import { readTarGz } from './tar-archive.ts'

/** A compiled OPA policy and its data, read from files and not yet instantiated. */
export interface OpaBundle {
  /** The file it came from, for messages. */
  readonly label: string
  readonly wasm: Buffer
  /** The policy's `data` document. */
  readonly data: Record<string, unknown>
  /** SHA-256 of the bundle file (or of the wasm and data files' digests), for audit records. */
  readonly digest: string
  /** The bundle manifest's `revision`, when it has one. */
  readonly revision: string | null
}

/**
 * The files a source is read from, in the order `opaBundleFromFiles` takes their contents.
 *
 * @example opaSourceFiles({ kind: 'wasm', file: '/p/policy.wasm', data: '/p/data.json' }) // ['/p/policy.wasm', '/p/data.json']
 */
export function opaSourceFiles (source: OpaSource): string[] {
  return source.kind === 'bundle' || source.data === null ? [source.file] : [source.file, source.data]
}

/**
 * Reads a bundle (or a bare wasm and its data) from file contents given in `opaSourceFiles`
 * order. Every problem is a ConfigError naming the file.
 *
 * @example opaBundleFromFiles({ kind: 'bundle', file: 'authz.tar.gz' }, [readFileSync('authz.tar.gz')]).revision // 'v42'
 */
export function opaBundleFromFiles (source: OpaSource, contents: readonly Buffer[]): OpaBundle {
  const digest = bytesDigest(contents)
  if (source.kind === 'bundle') return parseBundle(contents[0]!, source.file, digest)
  const wasm = contents[0]!
  checkWasmMagic(wasm, source.file)
  const data = source.data === null ? {} : parseDataFile(contents[1]!, source.data)
  return Object.freeze({ label: source.file, wasm, data, digest, revision: null })
}

/**
 * A `.tar.gz` bundle as `opa build -t wasm` writes it: one `.wasm` module, data files
 * (`data.json` or `data.yaml` in any directory, merged at that directory's path, as OPA does),
 * an optional `.manifest`. Rego sources in it are ignored (the wasm is the policy).
 */
function parseBundle (bytes: Buffer, file: string, digest: string): OpaBundle {
  let files: Map<string, Buffer>
  try {
    files = readTarGz(bytes)
  } catch (err) {
    throw new ConfigError(`${file}: not a readable OPA bundle: ${(err as Error).message}`)
  }
  const modules = [...files.keys()].filter((n) => n.endsWith('.wasm'))
  if (modules.length !== 1) {
    throw new ConfigError(`${file}: an OPA bundle for dockward holds exactly one .wasm module (build it with "opa build -t wasm -e ENTRYPOINT"); this one has ${modules.length === 0 ? 'none' : modules.join(', ')}`)
  }
  // A delta bundle patches data of a bundle loaded before; dockward loads whole bundles only.
  if (files.has('patch.json')) throw new ConfigError(`${file}: delta bundles (patch.json) are not supported; build a complete bundle`)
  const wasm = files.get(modules[0]!)!
  checkWasmMagic(wasm, `${file}: ${modules[0]!}`)

  const data: Record<string, unknown> = {}
  for (const [name, content] of files) {
    const base = basename(name)
    if (base !== 'data.json' && base !== 'data.yaml' && base !== 'data.yml') continue
    const dir = name.split('/').slice(0, -1)
    mergeAt(data, dir, parseDataFile(content, `${file}: ${name}`), `${file}: ${name}`)
  }

  let revision: string | null = null
  const manifest = files.get('.manifest')
  if (manifest !== undefined) {
    const m = parseJson(manifest, `${file}: .manifest`)
    if (!isObject(m)) throw new ConfigError(`${file}: .manifest: expected a JSON object`)
    if (m.revision !== undefined && typeof m.revision !== 'string') throw new ConfigError(`${file}: .manifest: revision must be a string`)
    revision = m.revision === undefined || m.revision === '' ? null : m.revision
  }
  return Object.freeze({ label: file, wasm, data, digest, revision })
}

function checkWasmMagic (wasm: Buffer, where: string): void {
  // `\0asm`: a clearer message than the compiler's for a Rego file or a bundle given as wasm.
  if (wasm.length < 8 || wasm.readUInt32BE(0) !== 0x0061736d) {
    throw new ConfigError(`${where}: not a WebAssembly module (compile Rego with "opa build -t wasm -e ENTRYPOINT")`)
  }
}

function parseDataFile (bytes: Buffer, where: string): Record<string, unknown> {
  let value: unknown
  if (/\.ya?ml$/.test(where)) {
    try {
      value = parseYaml(bytes.toString('utf8'), { uniqueKeys: true })
    } catch (err) {
      throw new ConfigError(`${where}: invalid YAML data: ${(err as Error).message.split('\n')[0]}`)
    }
  } else {
    value = parseJson(bytes, where)
  }
  if (!isObject(value)) throw new ConfigError(`${where}: data must be a JSON object at the top level`)
  return value
}

function parseJson (bytes: Buffer, where: string): unknown {
  try {
    return JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes))
  } catch (err) {
    throw new ConfigError(`${where}: invalid JSON: ${(err as Error).message}`)
  }
}

/** Puts `value`'s keys under `path` in `into`; a key two data files both set is an error, as in OPA. */
function mergeAt (into: Record<string, unknown>, path: readonly string[], value: Record<string, unknown>, where: string): void {
  let node = into
  for (const seg of path) {
    const next = Object.hasOwn(node, seg) ? node[seg] : undefined
    if (next === undefined) {
      const created: Record<string, unknown> = {}
      define(node, seg, created)
      node = created
    } else if (isObject(next)) {
      node = next
    } else {
      throw new ConfigError(`${where}: data path ${path.join('.')} conflicts with a value another data file sets`)
    }
  }
  for (const [key, v] of Object.entries(value)) {
    if (!Object.hasOwn(node, key)) { define(node, key, v); continue }
    const existing = node[key]
    if (isObject(existing) && isObject(v)) mergeAt(node, [key], v, where)
    else throw new ConfigError(`${where}: data key ${[...path, key].join('.')} is also set by another data file`)
  }
}

// defineProperty: a data key named `__proto__` must become data, not the object's prototype.
function define (obj: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true })
}

function isObject (v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}
