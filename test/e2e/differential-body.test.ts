import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import http from 'node:http'
import { readdirSync, readFileSync } from 'node:fs'
import { canonicalizeBody, deref } from '../../src/inspect/canonical-body.ts'
import { canonicalJsonBody } from '../../src/inspect/inspect-request.ts'
import { operationInputs, type SchemaNode } from '../../src/inspect/body-schema.ts'
import { parseGoJson, serializeJson } from '../../src/inspect/go-json.ts'
import { isJsonObject, type JsonValue } from '../../src/inspect/json-value.ts'
import { engineRequest, requireEngine, type TestEngine } from '../support/engine.ts'
import { startDockward, type RunningDockward } from '../support/dockward.ts'
import { uniqueName } from '../support/cli.ts'
import type { CorpusEntry } from '../../scripts/record-cli-corpus.ts'

// The differential check: every body real docker CLIs sent (the corpus recorded by
// scripts/record-cli-corpus.ts: container, exec, network and volume creates, container updates,
// network connects) is sent to the engine as the CLI sent it, as dockward's canonical body,
// through a running dockward, and in two disguises the canonicalizer exists for (any-case keys;
// 'ſ' for s and the Kelvin sign for k). The engine's inspect of what each one made must be the
// same: what dockward forwards configures exactly what the client asked for.

const engine = requireEngine('differential-body')
const CORPUS_DIR = new URL('../fixtures/cli-corpus/', import.meta.url)

const corpus: { file: string, entry: CorpusEntry }[] = readdirSync(CORPUS_DIR)
  .filter((f) => f.endsWith('.json'))
  .sort()
  .map((file) => ({ file, entry: JSON.parse(readFileSync(new URL(file, CORPUS_DIR), 'utf8')) as CorpusEntry }))

/** Where each variant of a body goes, and how it is made from the recorded bytes. */
type Variant = 'original' | 'canonical' | 'dockward' | 'any-case' | 'folded' | 'any-case direct' | 'folded direct'

// --- disguises -------------------------------------------------------------------------------

/** Alternating case: `HostConfig` → `hOsTcOnFiG`. */
const anyCase = (key: string): string =>
  [...key].map((c, i) => (i % 2 === 0 ? c.toLowerCase() : c.toUpperCase())).join('')

/** Go's extra folds: every s is 'ſ' (U+017F), every k the Kelvin sign (U+212A), the rest lower case. */
const folded = (key: string): string => key.toLowerCase().replace(/s/g, 'ſ').replace(/k/g, '\u212a')

/**
 * Rewrites every struct key (never a map key: labels, ports, sysctls and network names are data)
 * with `rename`. The schema says which is which; a schema that called a map a struct would show
 * here as a different engine config, so the disguise checks the schema too.
 */
function disguise (schema: SchemaNode, v: JsonValue, rename: (key: string) => string): JsonValue {
  if (v === null) return null
  const node = deref(schema)
  if (typeof node === 'string') return v
  if ('array' in node) return Array.isArray(v) ? v.map((item) => disguise(node.array, item, rename)) : v
  if (!isJsonObject(v)) return v
  const out = Object.create(null) as Record<string, JsonValue>
  for (const [key, value] of Object.entries(v)) {
    if ('map' in node) out[key] = disguise(node.map, value, rename)
    else out[rename(key)] = disguise(node.struct[key] ?? 'any', value, rename)
  }
  return out
}

function bodyOf (operation: string, raw: string, variant: Variant): Buffer {
  const bytes = Buffer.from(raw, 'utf8')
  if (variant === 'original' || variant === 'dockward') return bytes
  if (variant === 'canonical') return canonicalJsonBody(operation, bytes)
  const schema = operationInputs[operation]?.body
  assert.ok(schema !== undefined && typeof schema !== 'string', `${operation} takes a JSON body`)
  const rename = variant.startsWith('any-case') ? anyCase : folded
  return Buffer.from(serializeJson(disguise(schema, parseGoJson(bytes), rename)), 'utf8')
}

// The disguises also go to the engine directly: that the engine reads them as the plain body is
// the premise of canonicalizing them, checked here on this engine rather than assumed.
const VARIANTS: readonly Variant[] = ['original', 'canonical', 'dockward', 'any-case', 'folded', 'any-case direct', 'folded direct']

/** Variants sent through dockward; the others go to the engine's own socket. */
const viaDockward = (v: Variant): boolean => v === 'dockward' || v === 'any-case' || v === 'folded'

// --- normalization -----------------------------------------------------------------------------

/**
 * What two objects made from the same request may differ in by nature, replaced by placeholders:
 * - the object's id and its 12-character short form: the default Config.Hostname is the short id;
 * - the container's name (its own per variant; dockward never touches it);
 * - 64-hex names of anonymous volumes (`-v /anon`), made fresh for each container, and the
 *   host paths under the engine's data root derived from them;
 * - the full id of a container the body names (`--volumes-from`), read as that container's name:
 *   dockward pins such names to the id its decision looked at (src/inspect/pin-references.ts),
 *   and the engine keeps `VolumesFrom` as written. Same container, other spelling.
 * Everything else in Config, HostConfig, Mounts and the requested network endpoints is compared.
 */
function normalize (value: unknown, id: string, name: string, pinned: ReadonlyMap<string, string>): unknown {
  let text = JSON.stringify(value)
  for (const [fullId, otherName] of pinned) text = text.split(fullId).join(otherName)
  text = text.split(id).join('<id>').split(id.slice(0, 12)).join('<short-id>').split(name).join('<name>')
  text = text.replace(/[0-9a-f]{64}/g, '<anonymous-volume>')
  return JSON.parse(text)
}

/**
 * The state a container create decides, from the engine's inspect. Not compared: Id, Name,
 * Created, State, Path/Args (Config holds them), ResolvConfPath, HostnamePath, HostsPath, LogPath
 * and GraphDriver (paths derived from the id), NetworkSettings other than the requested endpoints
 * (addresses are assigned at start; a created container has none).
 */
function containerState (inspect: any): unknown {
  const networks: Record<string, unknown> = {}
  for (const [net, ep] of Object.entries((inspect.NetworkSettings?.Networks ?? {}) as Record<string, any>)) {
    // NetworkID and EndpointID: the user network of this run, the same id for every variant.
    networks[net] = { IPAMConfig: ep.IPAMConfig, Links: ep.Links, Aliases: ep.Aliases, DriverOpts: ep.DriverOpts, NetworkID: ep.NetworkID }
  }
  const mounts = [...(inspect.Mounts ?? []) as { Destination: string }[]].sort((a, b) => a.Destination.localeCompare(b.Destination))
  return { Image: inspect.Image, Config: inspect.Config, HostConfig: inspect.HostConfig, Mounts: mounts, Networks: networks, Platform: inspect.Platform, Driver: inspect.Driver }
}

/**
 * The state an exec create decides. Not compared: ID, Running, ExitCode, Pid (it never starts).
 * The inspect shows no Env or WorkingDir; that they reach the engine is what "dockward drops no
 * key of any recorded body" holds.
 */
function execState (inspect: any): unknown {
  const { ID: _id, Running: _r, ExitCode: _e, Pid: _p, ...rest } = inspect as Record<string, unknown>
  return rest
}

/**
 * The state a network create decides. Not compared: Name, Id, Created, Containers; and
 * IPAM.Config when the request gave none, since the engine then takes the next free subnet from
 * its pool (a different one for each network that exists at the time).
 */
function networkState (inspect: any, body: string): unknown {
  const { Name: _n, Id: _i, Created: _c, Containers: _ct, ...rest } = inspect as Record<string, any>
  const gaveSubnet = /"Subnet"\s*:\s*"[^"]/i.test(body)
  return { ...rest, IPAM: gaveSubnet ? rest['IPAM'] : { ...rest['IPAM'], Config: '<assigned by the engine>' } }
}

/** The state a volume create decides. Not compared: Name, CreatedAt, and Mountpoint (the data root and the name). */
function volumeState (inspect: any): unknown {
  const { Name: _n, CreatedAt: _c, Mountpoint: _m, ...rest } = inspect as Record<string, unknown>
  return rest
}

// --- requests --------------------------------------------------------------------------------

interface Reply { status: number, text: string, json: any }

function post (socketPath: string, path: string, body: Buffer): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request({ socketPath, method: 'POST', path, agent: false, headers: { 'Content-Type': 'application/json', 'Content-Length': body.length } }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8')
        let json: any
        try { json = JSON.parse(text) } catch {}
        resolve({ status: res.statusCode ?? 0, text, json })
      })
    })
    req.on('error', reject)
    req.end(body)
  })
}

async function engineJson (eng: TestEngine, path: string): Promise<any> {
  const r = await engineRequest(eng, 'GET', path)
  assert.equal(r.status, 200, `GET ${path}: ${r.status} ${r.body.toString()}`)
  return r.json
}

if (engine === null || engine.socketPath === null) {
  test('differential check of CLI bodies against the engine', { skip: 'no engine on a unix socket' }, () => {})
} else {
  suite(engine)
}

function suite (eng: TestEngine): void {
  // Every run names its objects `<prefix>-…`: the corpus's `dwcorpus` is swapped for it.
  const prefix = uniqueName('dwdiff')
  const named = (text: string, tag = ''): string => text.split('dwcorpus').join(prefix + tag)
  const containers: string[] = []
  const networks: string[] = []
  const volumes: string[] = []
  /** Full id → name of the containers other bodies name (see `normalize`). */
  const referenced = new Map<string, string>()
  let dw: RunningDockward

  before(async () => {
    dw = await startDockward({ upstream: eng.dockerHost, config: (socketPath) => `policy: admin\nlisten:\n  - unix://${socketPath}\n` })
  })
  after(async () => {
    for (const id of containers) await engineRequest(eng, 'DELETE', `/containers/${id}?force=1&v=1`)
    for (const id of networks) await engineRequest(eng, 'DELETE', `/networks/${id}`)
    // Volumes a `--mount` made on the fly are not in `volumes`: every volume of this run goes.
    const left = await engineRequest(eng, 'GET', `/volumes?filters=${encodeURIComponent(JSON.stringify({ name: [prefix] }))}`)
    const made = ((left.json as { Volumes: { Name: string }[] | null }).Volumes ?? []).map((v) => v.Name)
    for (const name of new Set([...volumes, ...made])) await engineRequest(eng, 'DELETE', `/volumes/${name}?force=1`)
    await dw.stop()
  })

  /** Sends one variant of a recorded body; the target and object names made unique by `tag`. */
  async function send (entry: CorpusEntry, variant: Variant, tag: string, path = named(entry.path, tag), rename = (t: string) => named(t, tag)): Promise<Reply> {
    const body = bodyOf(entry.operation, rename(entry.body), variant)
    return await post(viaDockward(variant) ? dw.socketPath : eng.socketPath!, path, body)
  }

  const entries = (operation: string): { file: string, entry: CorpusEntry }[] => corpus.filter((c) => c.entry.operation === operation)

  test('the corpus holds both CLIs\' bodies for every kind of request', () => {
    for (const op of ['ContainerCreate', 'ContainerExec', 'ContainerUpdate', 'NetworkConnect', 'NetworkCreate', 'VolumeCreate']) {
      for (const cli of ['v28', 'v20']) assert.ok(entries(op).some((c) => c.entry.cli === cli), `${cli} ${op}`)
    }
    assert.ok(entries('ContainerCreate').length >= 20)
  })

  // A key dockward drops is one it believes the engine ignores; none of what the CLIs send may be.
  test('dockward drops no key of any recorded body', () => {
    for (const { file, entry } of corpus) {
      assert.deepEqual(canonicalizeBody(entry.operation, parseGoJson(Buffer.from(entry.body, 'utf8'))).ignored, [], file)
    }
  })

  // Networks and volumes are named in the body: each variant gets its own name, and is removed
  // before the next one is made (a network with a fixed subnet can exist only once).
  describe('network and volume create', () => {
    for (const { file, entry } of [...entries('NetworkCreate'), ...entries('VolumeCreate')]) {
      test(file, async () => {
        const isNetwork = entry.operation === 'NetworkCreate'
        const states = new Map<Variant, unknown>()
        for (const [i, variant] of VARIANTS.entries()) {
          const tag = `-v${i}`
          const r = await send(entry, variant, tag)
          assert.equal(r.status, 201, `${variant}: ${r.status} ${r.text}`)
          if (isNetwork) {
            const id = (r.json as { Id: string }).Id
            networks.push(id)
            states.set(variant, networkState(await engineJson(eng, `/networks/${id}`), entry.body))
            await engineRequest(eng, 'DELETE', `/networks/${id}`)
          } else {
            const name = (r.json as { Name: string }).Name
            volumes.push(name)
            states.set(variant, volumeState(await engineJson(eng, `/volumes/${name}`)))
            await engineRequest(eng, 'DELETE', `/volumes/${name}`)
          }
        }
        for (const [variant, state] of states) assert.deepEqual(state, states.get('original'), `${variant} differs from the original`)
      })
    }
  })

  describe('container create, update and network connect; exec create', () => {
    // The objects the recorded commands refer to, made once from the v28 bodies, directly.
    before(async () => {
      for (const { entry } of [...entries('NetworkCreate'), ...entries('VolumeCreate')].filter((c) => c.entry.cli === 'v28')) {
        const r = await send(entry, 'original', '')
        assert.equal(r.status, 201, `${entry.command.join(' ')}: ${r.status} ${r.text}`)
        if (entry.operation === 'NetworkCreate') networks.push((r.json as { Id: string }).Id)
        else volumes.push((r.json as { Name: string }).Name)
      }
      // Other commands name these: `--link`, `--volumes-from`, `container:` modes, and the execs' target.
      for (const support of ['dwcorpus-plain', 'dwcorpus-exec']) {
        const found = entries('ContainerCreate').find((c) => c.entry.cli === 'v28' && c.entry.path.endsWith(`name=${support}`))
        assert.ok(found !== undefined, `the corpus creates ${support}`)
        const r = await send(found.entry, 'original', '')
        assert.equal(r.status, 201, r.text)
        const id = (r.json as { Id: string }).Id
        containers.push(id)
        referenced.set(id, named(support))
        if (found.entry.command[0] !== 'run') continue
        const started = await engineRequest(eng, 'POST', `/containers/${id}/start`)
        assert.equal(started.status, 204, started.body.toString())
      }
    })

    /** Creates a container from a recorded create body under its own name; returns its id. */
    async function createAs (entry: CorpusEntry, variant: Variant, name: string): Promise<string> {
      const target = named(entry.path).replace(/([?&]name=)[^&]*/, `$1${name}`)
      const r = await send(entry, variant, '', target)
      assert.equal(r.status, 201, `${variant}: ${r.status} ${r.text}`)
      const id = (r.json as { Id: string }).Id
      containers.push(id)
      return id
    }

    const inspected = async (id: string, name: string): Promise<unknown> =>
      normalize(containerState(await engineJson(eng, `/containers/${id}/json`)), id, name, referenced)

    for (const { file, entry } of entries('ContainerCreate')) {
      test(file, async () => {
        const states = new Map<Variant, unknown>()
        for (const [i, variant] of VARIANTS.entries()) {
          const name = `${prefix}-c${containers.length}-${i}`
          const id = await createAs(entry, variant, name)
          states.set(variant, await inspected(id, name))
          // Gone before the next variant: a named volume another container mounts is sent with
          // nocopy (see README, named volumes), which the next variant's state would show.
          await engineRequest(eng, 'DELETE', `/containers/${id}?force=1`)
        }
        for (const [variant, state] of states) assert.deepEqual(state, states.get('original'), `${variant} differs from the original`)
      })
    }

    // An update or a network connect changes a container the same CLI made just before: each
    // variant gets a fresh one (made from the recorded create body, directly) to change.
    for (const { file, entry } of [...entries('ContainerUpdate'), ...entries('NetworkConnect')]) {
      test(file, async () => {
        const subject = entry.operation === 'ContainerUpdate' ? 'dwcorpus-updated' : 'dwcorpus-connected'
        const create = entries('ContainerCreate').find((c) => c.entry.cli === entry.cli && c.entry.path.endsWith(`name=${subject}`))
        assert.ok(create !== undefined, `the corpus creates ${subject} with ${entry.cli}`)
        const states = new Map<Variant, unknown>()
        for (const [i, variant] of VARIANTS.entries()) {
          const name = `${prefix}-c${containers.length}-${i}`
          const id = await createAs(create.entry, 'original', name)
          const r = await send(entry, variant, '', named(entry.path).split(named(subject)).join(name), (t) => named(t).split(named(subject)).join(name))
          assert.equal(r.status, 200, `${variant}: ${r.status} ${r.text}`)
          states.set(variant, await inspected(id, name))
        }
        for (const [variant, state] of states) assert.deepEqual(state, states.get('original'), `${variant} differs from the original`)
      })
    }

    for (const { file, entry } of entries('ContainerExec')) {
      test(file, async () => {
        const states = new Map<Variant, unknown>()
        for (const variant of VARIANTS) {
          const r = await send(entry, variant, '')
          assert.equal(r.status, 201, `${variant}: ${r.status} ${r.text}`)
          states.set(variant, execState(await engineJson(eng, `/exec/${(r.json as { Id: string }).Id}/json`)))
        }
        for (const [variant, state] of states) assert.deepEqual(state, states.get('original'), `${variant} differs from the original`)
      })
    }
  })
}
