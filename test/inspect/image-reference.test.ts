import { test } from 'node:test'
import assert from 'node:assert/strict'
import { exactImageRef, normalizeImageRef, pullImageRef, repoTagRef } from '../../src/inspect/image-reference.ts'

const HEX = 'a'.repeat(32) + '0123456789abcdef0123456789abcdef'
const DIGEST = `sha256:${HEX}`

test('familiar names get the docker.io domain, library/ and :latest', () => {
  const cases: Array<[string, string]> = [
    ['busybox', 'docker.io/library/busybox:latest'],
    ['busybox:1.36', 'docker.io/library/busybox:1.36'],
    ['busybox:Latest', 'docker.io/library/busybox:Latest'],
    ['library/debian', 'docker.io/library/debian:latest'],
    ['user/app', 'docker.io/user/app:latest'],
    ['a/b/c/d', 'docker.io/a/b/c/d:latest'],
    ['docker.io/debian', 'docker.io/library/debian:latest'],
    ['docker.io/docker/docker', 'docker.io/docker/docker:latest'],
    ['index.docker.io/debian', 'docker.io/library/debian:latest'],
    ['index.docker.io/user/app:v1', 'docker.io/user/app:v1'],
    ['localhost', 'docker.io/library/localhost:latest'],
    ['localhost:5000', 'docker.io/library/localhost:5000'],
    ['localhost/debian', 'localhost/debian:latest'],
    ['localhost:5000/x', 'localhost:5000/x:latest'],
    ['127.0.0.1:5000/x/y:t', '127.0.0.1:5000/x/y:t'],
    ['[::1]:5000/x', '[::1]:5000/x:latest'],
    ['registry-1.docker.io/library/busybox', 'registry-1.docker.io/library/busybox:latest'],
    ['example.com/foo_bar/a--b/c__d/e.f', 'example.com/foo_bar/a--b/c__d/e.f:latest'],
    // An upper-case first element is taken for a domain.
    ['Foo/bar', 'Foo/bar:latest']
  ]
  for (const [input, want] of cases) assert.equal(normalizeImageRef(input), want, input)
})

test('digests are kept and get no tag; tag and digest are both kept', () => {
  assert.equal(normalizeImageRef(`busybox@${DIGEST}`), `docker.io/library/busybox@${DIGEST}`)
  assert.equal(normalizeImageRef(`busybox:1.36@${DIGEST}`), `docker.io/library/busybox:1.36@${DIGEST}`)
  assert.equal(normalizeImageRef(`ghcr.io/o/app@sha512:${'b'.repeat(128)}`), `ghcr.io/o/app@sha512:${'b'.repeat(128)}`)
})

test('image ids and digests are returned as written', () => {
  assert.equal(normalizeImageRef(HEX), HEX)
  assert.equal(normalizeImageRef(DIGEST), DIGEST)
})

test('references the library refuses are returned as written', () => {
  for (const ref of [
    '', 'BusyBox', 'foo/Bar', 'busybox:', ':tag', '-busybox', 'a___b', 'a..b', 'busybox:bad tag', `busybox@sha256:${'a'.repeat(63)}`,
    `busybox@sha256:${HEX.toUpperCase()}`, `busybox@md5:${HEX}`, 'a'.repeat(256), `busybox:${'t'.repeat(129)}`, 'x'.repeat(5000), 'busy box', 'busybox/'
  ]) {
    assert.equal(normalizeImageRef(ref), ref, ref.slice(0, 40))
  }
})

test('pullImageRef follows image create: tag replaces, a digest tag pins, no tag pulls every tag', () => {
  assert.equal(pullImageRef('busybox', ''), 'docker.io/library/busybox')
  assert.equal(pullImageRef('busybox:', ''), 'docker.io/library/busybox')
  assert.equal(pullImageRef('busybox', 'latest'), 'docker.io/library/busybox:latest')
  assert.equal(pullImageRef('busybox:1.0', ''), 'docker.io/library/busybox:1.0')
  assert.equal(pullImageRef('busybox:1.0', '2.0'), 'docker.io/library/busybox:2.0')
  assert.equal(pullImageRef('busybox', DIGEST), `docker.io/library/busybox@${DIGEST}`)
  assert.equal(pullImageRef(`busybox:1@sha256:${'c'.repeat(64)}`, DIGEST), `docker.io/library/busybox@${DIGEST}`)
  assert.equal(pullImageRef(`busybox@${DIGEST}`, '2'), `docker.io/library/busybox:2@${DIGEST}`)
  assert.equal(pullImageRef('BusyBox', 'x'), 'BusyBox:x')
  assert.equal(pullImageRef('busybox', 'bad tag'), 'busybox:bad tag')
})

test('repoTagRef follows commit, import and tag', () => {
  assert.equal(repoTagRef('user/app', 'v1'), 'docker.io/user/app:v1')
  assert.equal(repoTagRef('app', ''), 'docker.io/library/app:latest')
  assert.equal(repoTagRef('app:v1', ''), 'docker.io/library/app:v1')
  assert.equal(repoTagRef('app:v1', 'v2'), 'docker.io/library/app:v2')
  assert.equal(repoTagRef('localhost:5000/app', 'v2'), 'localhost:5000/app:v2')
  assert.equal(repoTagRef(`app@${DIGEST}`, ''), `app@${DIGEST}`)
  assert.equal(repoTagRef(`app@${DIGEST}`, 'v1'), 'docker.io/library/app:v1')
  assert.equal(repoTagRef('App', 'v1'), 'App:v1')
  assert.equal(repoTagRef('app', 'bad tag'), 'app:bad tag')
})

test('exactImageRef: hex becomes the full id or a qualified name; other names stay unless qualified', () => {
  const id = `sha256:f9b7${'0'.repeat(60)}`
  assert.equal(exactImageRef('f9', id), id)
  assert.equal(exactImageRef('sha256:f9b7', id), id)
  assert.equal(exactImageRef(id, id), id)
  assert.equal(exactImageRef('0d', id), 'docker.io/library/0d:latest')
  assert.equal(exactImageRef('busybox:1.36', id), 'busybox:1.36')
  assert.equal(exactImageRef('busybox', id, true), 'docker.io/library/busybox:latest')
  assert.equal(exactImageRef('F9', id), 'F9', 'upper case is never an id to the engine')
})
