import type { GoQuery } from './go-query.ts'
import { isJsonObject, type JsonObject, type JsonValue } from './json-value.ts'
import { BadRequestBodyError } from '../core/errors.ts'
import type { RequestFacts } from './request-facts.ts'
import { imageBuildFacts } from './facts/build.ts'
import { containerArchiveFacts, containerCreateFacts, containerUpdateFacts, execCreateFacts } from './facts/container.ts'
import { containerPathFacts, execStartFacts } from './facts/container-reach.ts'
import { requestLookup, type EngineLookup } from './facts/engine-lookup.ts'
import { FactSheet } from './facts/fact-sheet.ts'
import { imageCommitFacts, imageCreateFacts, imageTagFacts } from './facts/images.ts'
import { formValue } from './go-query.ts'
import { normalizeImageRef, pullImageRef } from './image-reference.ts'
import { networkConnectFacts, networkCreateFacts, secretCreateFacts, volumeCreateFacts } from './facts/objects.ts'
import { pluginPullFacts, pluginSetFacts } from './facts/plugins.ts'
import { serviceFacts } from './facts/service.ts'

export type { ContainerSnapshot, EngineLookup, ExecSnapshot, VolumeSnapshot } from './facts/engine-lookup.ts'
export { MAX_LOOKUPS, offlineLookup } from './facts/engine-lookup.ts'

/** What fact extraction reads: the operation, its API version, path parameters, and the canonical query and body. */
export interface FactsInput {
  readonly operation: string
  readonly version: string | null
  /** The route's path parameters (`id` of `/containers/{id}/exec`), as the engine will read them. */
  readonly params: Readonly<Record<string, string>>
  /** The query as the engine parses it (`parseGoQuery`). */
  readonly query: GoQuery
  /** The canonical JSON body (engine field names, JsonNumber numbers, null for unset), if any. */
  readonly body: JsonValue | undefined
}

/** The body as an object; an operation whose body is an object refuses any other JSON. */
function objectBody (body: JsonValue | undefined): JsonObject | undefined {
  if (body === undefined || body === null) return undefined
  if (!isJsonObject(body)) throw new BadRequestBodyError('request body must be a JSON object')
  return body
}

/**
 * The facts of one request, from its canonical query and body (see RequestFacts). Operations not
 * listed here have no facts. Named volumes the request mounts, and existing containers and exec
 * instances it reaches, are looked up through `lookup`: each once, at most MAX_LOOKUPS of them
 * (more is a BadRequestBodyError). Throws BadRequestBodyError for a body whose shape it cannot
 * read, and BadRequestTargetError for a query parameter that must be JSON and is not.
 *
 * @example
 * await extractFacts({ operation: 'ContainerCreate', version: '1.41', params: {}, query: {}, body: { Image: 'busybox' } }, offlineLookup)
 * // { image: 'docker.io/library/busybox:latest', privileged: false, hostPaths: [], … }
 */
export async function extractFacts (input: FactsInput, lookup: EngineLookup): Promise<RequestFacts> {
  const extract = factExtractors[input.operation]
  return extract === undefined ? {} : await extract(input, requestLookup(lookup))
}

type FactExtractor = (input: FactsInput, lookup: EngineLookup) => RequestFacts | Promise<RequestFacts>

/** The `id` path parameter: the container (or exec instance) the operation is about. */
function idParam (params: Readonly<Record<string, string>>): string {
  return Object.hasOwn(params, 'id') ? params['id']! : ''
}

/** An operation on an existing container: it has everything the container reaches. */
const onContainer: FactExtractor = ({ params }, lookup) => containerPathFacts(new FactSheet(), idParam(params), lookup)

/**
 * An operation on an existing image by name: the name as the engine resolves it, so a rule on
 * `image` cannot be dodged by spelling (`busybox`, `library/busybox`, `docker.io/library/busybox`).
 */
const onImage: FactExtractor = ({ params }) => ({ image: normalizeImageRef(params['name'] ?? '') })

/** Operation name (as in the route table) → its facts. A test checks every name is a real operation. */
export const factExtractors: Readonly<Record<string, FactExtractor>> = Object.freeze({
  ContainerCreate: ({ body, version }, lookup) => containerCreateFacts(objectBody(body), version, lookup),
  ContainerUpdate: ({ body, version }) => containerUpdateFacts(objectBody(body), version),
  ContainerExec: ({ body, params }, lookup) => execCreateFacts(objectBody(body), idParam(params), lookup),
  ExecStart: ({ params }, lookup) => execStartFacts(idParam(params), lookup),
  ContainerAttach: onContainer,
  ContainerAttachWebsocket: onContainer,
  ContainerArchive: onContainer,
  ContainerArchiveInfo: onContainer,
  PutContainerArchive: ({ query, params }, lookup) => containerArchiveFacts(query, idParam(params), lookup),
  ContainerExport: onContainer,
  ImageBuild: ({ query }, lookup) => imageBuildFacts(query, lookup),
  ImageCreate: ({ query }) => imageCreateFacts(query),
  ImageCommit: ({ query, body }) => imageCommitFacts(query, objectBody(body)),
  ImageTag: ({ query, params }) => ({ ...imageTagFacts(query), image: normalizeImageRef(params['name'] ?? '') }),
  // A push sends `name` with `tag` replacing its tag, every tag when neither names one (moby postImagesPush).
  ImagePush: ({ query, params }) => ({ image: pullImageRef(params['name'] ?? '', formValue(query, 'tag')) }),
  ImageDelete: onImage,
  ImageInspect: onImage,
  ImageHistory: onImage,
  ImageGet: onImage,
  ImageAttestations: onImage,
  DistributionInspect: onImage,
  VolumeCreate: ({ body }) => volumeCreateFacts(objectBody(body)),
  NetworkCreate: ({ body }) => networkCreateFacts(objectBody(body)),
  NetworkConnect: ({ body }) => networkConnectFacts(objectBody(body)),
  ServiceCreate: ({ body }, lookup) => serviceFacts(objectBody(body), lookup),
  ServiceUpdate: ({ body }, lookup) => serviceFacts(objectBody(body), lookup),
  PluginPull: ({ query, body }) => pluginPullFacts(query, body),
  PluginUpgrade: ({ query, body }) => pluginPullFacts(query, body),
  PluginSet: ({ body }) => pluginSetFacts(body),
  SecretCreate: ({ body }) => secretCreateFacts(objectBody(body)),
  ConfigCreate: ({ body }) => secretCreateFacts(objectBody(body))
})
