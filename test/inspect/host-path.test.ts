import { test } from 'node:test'
import assert from 'node:assert/strict'
import { cleanHostPath, isUnder } from '../../src/inspect/host-path.ts'

test('cleanHostPath matches Go filepath.Clean on Linux', () => {
  // Cases from Go's path/filepath clean tests.
  const cases: Array<[string, string]> = [
    ['', '.'], ['abc', 'abc'], ['abc/def', 'abc/def'], ['a/b/c', 'a/b/c'], ['.', '.'], ['..', '..'],
    ['../..', '../..'], ['../../abc', '../../abc'], ['/abc', '/abc'], ['/', '/'],
    ['abc/', 'abc'], ['abc/def/', 'abc/def'], ['a/b/c/', 'a/b/c'], ['./', '.'], ['../', '..'], ['../../', '../..'], ['/abc/', '/abc'],
    ['abc//def//ghi', 'abc/def/ghi'], ['//abc', '/abc'], ['///abc', '/abc'], ['//abc//', '/abc'], ['abc//', 'abc'],
    ['abc/./def', 'abc/def'], ['/./abc/def', '/abc/def'], ['abc/.', 'abc'],
    ['abc/def/ghi/../jkl', 'abc/def/jkl'], ['abc/def/../ghi/../jkl', 'abc/jkl'], ['abc/def/..', 'abc'], ['abc/def/../..', '.'],
    ['/abc/def/../..', '/'], ['abc/def/../../..', '..'], ['/abc/def/../../..', '/'], ['abc/def/../../../ghi/jkl/../../../mno', '../../mno'],
    ['/../abc', '/abc'], ['abc/./../def', 'def'], ['abc//./../def', 'def'], ['abc/../../././../def', '../../def'],
    ['/srv//data/../logs/', '/srv/logs'], ['/var/run/docker.sock', '/var/run/docker.sock']
  ]
  for (const [input, want] of cases) assert.equal(cleanHostPath(input), want, JSON.stringify(input))
})

test('isUnder compares whole segments after cleaning', () => {
  assert.equal(isUnder('/srv/data', '/srv'), true)
  assert.equal(isUnder('/srv/data', '/srv/'), true)
  assert.equal(isUnder('/srv', '/srv'), true)
  assert.equal(isUnder('/srv/', '/srv'), true)
  assert.equal(isUnder('/srvx', '/srv'), false)
  assert.equal(isUnder('/srv', '/srv/data'), false)
  assert.equal(isUnder('/srv/../etc', '/srv'), false)
  assert.equal(isUnder('/srv/a/../b', '/srv'), true)
  assert.equal(isUnder('//srv//data', '/srv'), true)
  assert.equal(isUnder('/anything/at/all', '/'), true)
  assert.equal(isUnder('/', '/'), true)
  assert.equal(isUnder('/etc', '//'), true)
})

test('isUnder never mixes absolute and relative paths', () => {
  assert.equal(isUnder('srv/data', '/srv'), false)
  assert.equal(isUnder('/srv/data', 'srv'), false)
  assert.equal(isUnder('relative', '/'), false)
  assert.equal(isUnder('a/b', 'a'), true)
  assert.equal(isUnder('a', '.'), true)
  assert.equal(isUnder('..foo', '.'), true)
  assert.equal(isUnder('../a', '.'), false)
  assert.equal(isUnder('..', '.'), false)
})
