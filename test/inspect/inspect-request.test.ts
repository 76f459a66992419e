import { test } from 'node:test'
import assert from 'node:assert/strict'
import { inspectRequest } from '../../src/inspect/inspect-request.ts'
import { offlineLookup, type EngineLookup } from '../../src/inspect/request-facts-extract.ts'
import { BadRequestBodyError, BadRequestTargetError } from '../../src/core/errors.ts'

const inspect = async (operation: string, rawQuery: string, body?: string, lookup: EngineLookup = offlineLookup, params: Record<string, string> = {}) =>
  await inspectRequest({ operation, version: '1.41', params, rawQuery, body: body === undefined ? undefined : Buffer.from(body) }, lookup)

test('a JSON body is canonicalized, forwarded as its serialization, and facts come from it', async () => {
  const r = await inspect('ContainerCreate', 'name=web&bogus=1', '{"image":"busybox","HostConfig":{"privileged":true,"binds":["/etc:/x"],"Junk":2},"Junk":1}')
  assert.deepEqual({ ...r.query }, { name: ['web'] })
  assert.equal(r.canonicalQuery, 'name=web')
  assert.equal(r.bodyBytes?.toString(), '{"Image":"busybox","HostConfig":{"Privileged":true,"Binds":["/etc:/x"]}}')
  assert.deepEqual(JSON.parse(JSON.stringify(r.body)), { Image: 'busybox', HostConfig: { Privileged: true, Binds: ['/etc:/x'] } })
  assert.equal(r.facts.image, 'docker.io/library/busybox:latest')
  assert.equal(r.facts.privileged, true)
  assert.deepEqual(r.facts.hostPaths, ['/etc'])
  assert.deepEqual(r.facts.ignoredFields, ['HostConfig.Junk', 'Junk', 'query.bogus'])
})

test('ignoredFields is absent when nothing was dropped', async () => {
  const r = await inspect('ContainerCreate', '', '{"Image":"busybox"}')
  assert.equal(r.canonicalQuery, '')
  assert.equal('ignoredFields' in r.facts, false)
})

test('numbers are forwarded with their digits', async () => {
  const r = await inspect('ContainerCreate', '', '{"Image":"x","HostConfig":{"Memory":9007199254740993}}')
  assert.equal(r.bodyBytes?.toString(), '{"Image":"x","HostConfig":{"Memory":9007199254740993}}')
})

test('named volumes are looked up through the engine lookup', async () => {
  const lookup: EngineLookup = { ...offlineLookup, volume: async (name) => name === 'v' ? { driver: 'local', options: { type: 'none', o: 'bind', device: '/root' } } : null }
  const r = await inspect('ContainerCreate', '', '{"Image":"x","HostConfig":{"Binds":["v:/data"]}}', lookup)
  assert.deepEqual(r.facts.namedVolumes, ['v'])
  assert.deepEqual(r.facts.hostPaths, ['/root'])
})

test('path parameters reach the facts: an exec into an existing container has what that container has', async () => {
  const lookup: EngineLookup = {
    ...offlineLookup,
    container: async (id) => id === 'agent'
      ? { id: 'a1', name: '/agent', hostConfig: { Privileged: true }, mounts: [{ Type: 'bind', Source: '/', Destination: '/host' }] }
      : null
  }
  const r = await inspect('ContainerExec', '', '{"Cmd":["sh"]}', lookup, { id: 'agent' })
  assert.equal(r.facts.privileged, true)
  assert.deepEqual(r.facts.hostPaths, ['/'])
  assert.deepEqual(r.facts.reachedContainers, ['agent'])
})

test('a stream operation: the query decides, the body is not read, dropped names are not facts', async () => {
  const r = await inspect('ImageBuild', 't=a&t=b&networkmode=host&notaparam=1&version=2')
  assert.equal(r.canonicalQuery, 'networkmode=host&t=a&t=b&version=2')
  assert.equal(r.body, undefined)
  assert.equal(r.bodyBytes, undefined)
  assert.deepEqual(r.facts.tags, ['docker.io/library/a:latest', 'docker.io/library/b:latest'])
  assert.deepEqual(r.facts.hostNamespaces, ['network'])
  assert.equal(r.facts.buildKit, true)
  assert.deepEqual(r.facts.ignoredFields, ['query.notaparam'])
})

test('an operation without a body forwards none, even if one was given', async () => {
  const r = await inspect('ContainerStart', '', '{"HostConfig":{"Privileged":true}}')
  assert.equal(r.body, undefined)
  assert.equal(r.bodyBytes, undefined)
  assert.deepEqual(r.facts, {})
})

test('a JSON operation with an empty body forwards no body', async () => {
  const r = await inspect('ContainerUpdate', '', '')
  assert.equal(r.body, undefined)
  assert.equal(r.bodyBytes, undefined)
  assert.equal(r.facts.memory, 0)
})

test('ambiguous queries and bodies are refused', async () => {
  await assert.rejects(inspect('ContainerCreate', 'name=a&name=b', '{"Image":"x"}'), BadRequestTargetError)
  await assert.rejects(inspect('ContainerCreate', 'name=a;b', '{"Image":"x"}'), BadRequestTargetError)
  await assert.rejects(inspect('ContainerCreate', '', '{"Image":"x","HostConfig":{"Privileged":true,"privileged":false}}'), BadRequestBodyError)
  await assert.rejects(inspect('ContainerCreate', '', '{"Image":"x"} {}'), BadRequestBodyError)
  await assert.rejects(inspect('ContainerCreate', '', '{"Image":"x","HostConfig":{"Privileged":"yes"}}'), BadRequestBodyError)
  await assert.rejects(inspect('ImageBuild', 'buildargs=%7Bx'), BadRequestTargetError)
})
