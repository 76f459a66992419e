import { BadRequestTargetError } from '../../core/errors.ts'
import { goFoldKey } from '../go-fold.ts'
import { formValue, type GoQuery } from '../go-query.ts'
import { repoTagRef } from '../image-reference.ts'
import type { RequestFacts } from '../request-facts.ts'
import { mergeReach } from './container-reach.ts'
import type { EngineLookup } from './engine-lookup.ts'
import { FactSheet } from './fact-sheet.ts'
import { joinedContainer } from './host-config.ts'

/**
 * ImageBuild: everything is in the query (moby build_routes.go newImageBuildOptions). The build
 * context and Dockerfile are a byte stream dockward does not read, so a Dockerfile's own requests
 * (BuildKit's `RUN --network=host`, `--security=insecure`, `--mount`) are not facts: `buildKit`
 * says when they are possible.
 */

/** JSON.parse, refusing with the engine's meaning in the message. */
function parseJsonParam (query: GoQuery, name: string): unknown {
  const raw = formValue(query, name)
  if (raw === '') return undefined
  try {
    return JSON.parse(raw)
  } catch {
    throw new BadRequestTargetError(`query parameter ${name} is not valid JSON`)
  }
}

function isPlainObject (v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

/** Build argument names from `buildargs` (Go `map[string]*string`: values are strings or null). */
function buildArgNames (query: GoQuery): string[] {
  const args = parseJsonParam(query, 'buildargs')
  if (args === undefined || args === null) return []
  if (!isPlainObject(args)) throw new BadRequestTargetError('query parameter buildargs must be a JSON object')
  for (const [k, v] of Object.entries(args)) {
    if (v !== null && typeof v !== 'string') throw new BadRequestTargetError(`build argument ${JSON.stringify(k)} must be a string or null`)
  }
  return Object.keys(args)
}

/**
 * Ulimit names from `ulimits` (Go `[]*units.Ulimit`; struct keys match case-insensitively, so
 * `name` is `Name` too).
 */
function ulimitNames (query: GoQuery): string[] {
  const list = parseJsonParam(query, 'ulimits')
  if (list === undefined || list === null) return []
  if (!Array.isArray(list)) throw new BadRequestTargetError('query parameter ulimits must be a JSON array')
  const names: string[] = []
  for (const u of list as unknown[]) {
    if (u === null) continue
    if (!isPlainObject(u)) throw new BadRequestTargetError('query parameter ulimits must hold objects')
    const keys = Object.keys(u).filter((k) => goFoldKey(k) === 'NAME')
    // Go takes the last of several matching keys; two spellings are refused rather than guessed at.
    if (keys.length > 1) throw new BadRequestTargetError('query parameter ulimits names Name more than once in one entry')
    const name = keys.length === 1 ? u[keys[0]!] : null
    if (name !== null && typeof name !== 'string') throw new BadRequestTargetError('query parameter ulimits: Name must be a string')
    names.push(name ?? '')
  }
  return names
}

/** An integer parameter read with Int64ValueOrZero (a malformed one is 0 to the engine too). */
function int64OrZero (query: GoQuery, name: string): number {
  const raw = formValue(query, name)
  return /^[+-]?[0-9]+$/.test(raw) ? Number(raw) : 0
}

/**
 * ImageBuild facts from its query: network mode (and the host network or another container's
 * namespace it may join: the classic builder runs its steps in `container:<x>`'s network, which
 * is the host's when x's is, so x is looked up), remote context, build argument names, extra
 * hosts, cgroup parent, tags, BuildKit, resource limits and ulimit names, security options as
 * given.
 *
 * @example await imageBuildFacts(parseGoQuery('networkmode=host&t=app', 'ImageBuild'), offlineLookup) // { networkMode: 'host', hostNamespaces: ['network'], tags: ['docker.io/library/app:latest'], … }
 */
export async function imageBuildFacts (query: GoQuery, lookup: EngineLookup): Promise<RequestFacts> {
  const sheet = new FactSheet().lists('hostNamespaces', 'containerNamespaces', 'buildArgs', 'extraHosts', 'tags', 'ulimits', 'securityOpt', 'reachedContainers')
  const facts = sheet.facts
  const networkMode = formValue(query, 'networkmode')
  facts.networkMode = networkMode
  if (networkMode === 'host') sheet.add('hostNamespaces', 'network')
  const joined = joinedContainer(networkMode)
  if (joined !== '') sheet.add('containerNamespaces', joined)
  facts.remoteContext = formValue(query, 'remote')
  sheet.add('buildArgs', ...buildArgNames(query))
  sheet.add('extraHosts', ...(query['extrahosts'] ?? []))
  facts.cgroupParent = formValue(query, 'cgroupparent')
  sheet.add('tags', ...(query['t'] ?? []).map((t) => repoTagRef(t, '')))
  facts.buildKit = formValue(query, 'version') === '2'
  facts.memory = int64OrZero(query, 'memory')
  facts.memorySwap = int64OrZero(query, 'memswap')
  facts.cpuShares = int64OrZero(query, 'cpushares')
  facts.cpuQuota = int64OrZero(query, 'cpuquota')
  facts.shmSize = int64OrZero(query, 'shmsize')
  sheet.add('ulimits', ...ulimitNames(query))
  // Linux engines refuse build security options; kept visible for rules and audit.
  sheet.add('securityOpt', ...(query['securityopt'] ?? []))
  if (joined !== '') await mergeReach(sheet, [[joined, 'network']], lookup)
  return facts
}
