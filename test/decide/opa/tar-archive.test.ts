import { test } from 'node:test'
import assert from 'node:assert/strict'
import { gzipSync } from 'node:zlib'
import { readTar, readTarGz } from '../../../src/decide/opa/tar-archive.ts'
import { paxPath, tar, tarGz } from '../../support/tar.ts'

test('reads files as opa build writes them, names cleaned of / and ./', () => {
  const files = readTarGz(tarGz([
    { name: '/', type: '5' },
    { name: '/policy.wasm', data: 'wasm' },
    { name: './data.json', data: '{}' },
    { name: 'users/', type: '5' },
    { name: 'users/data.json', data: '{"a":1}' }
  ]))
  assert.deepEqual([...files.keys()], ['policy.wasm', 'data.json', 'users/data.json'])
  assert.equal(files.get('users/data.json')!.toString(), '{"a":1}')
})

test('a PAX path names the entry after it', () => {
  const long = `${'d/'.repeat(70)}data.json`
  const files = readTarGz(tarGz([paxPath(long), { name: 'truncated-name', data: '{}' }]))
  assert.deepEqual([...files.keys()], [long])
})

test('files larger than one block keep their bytes', () => {
  const big = Buffer.alloc(5000, 7)
  assert.deepEqual(readTarGz(tarGz([{ name: 'x.wasm', data: big }])).get('x.wasm'), big)
})

const refuses = (what: string, archive: Buffer, message: RegExp): void => {
  test(`refuses ${what}`, () => assert.throws(() => readTarGz(archive), message))
}

refuses('a symbolic link', tarGz([{ name: 'policy.wasm', type: '2', linkName: '/etc/passwd' }]), /"policy\.wasm" is a symbolic link/)
refuses('a hard link', tarGz([{ name: 'a', data: 'x' }, { name: 'policy.wasm', type: '1', linkName: 'a' }]), /is a hard link/)
refuses('a device', tarGz([{ name: 'dev', type: '3' }]), /is a character device/)
refuses('an unknown entry type', tarGz([{ name: 'x', type: 'Z' }]), /unsupported type "Z"/)
refuses('a .. segment', tarGz([{ name: '../policy.wasm', data: 'x' }]), /not a clean relative path/)
refuses('a .. in the middle', tarGz([{ name: 'a/../policy.wasm', data: 'x' }]), /not a clean relative path/)
refuses('an empty segment', tarGz([{ name: 'a//policy.wasm', data: 'x' }]), /not a clean relative path/)
refuses('a PAX path with ..', tarGz([paxPath('x/../../policy.wasm'), { name: 'ok', data: 'x' }]), /not a clean relative path/)
refuses('a duplicate name, however written', tarGz([{ name: '/policy.wasm', data: 'a' }, { name: './policy.wasm', data: 'b' }]), /"policy\.wasm" appears twice/)
refuses('a bad header checksum', tarGz([{ name: 'a', data: 'x' }], { badChecksum: true }), /bad header checksum at byte 0/)
refuses('a missing end marker', tarGz([{ name: 'a', data: 'x' }], { noEnd: true }), /truncated archive/)
refuses('a truncated entry', gzipSync(tar([{ name: 'a', data: Buffer.alloc(2000) }]).subarray(0, 1024)), /truncated archive/)
refuses('a file that is not gzip', Buffer.from('policy'), /not a gzip file/)
refuses('an extended header at the end', tarGz([paxPath('a')]), /ends after an extended header/)

test('size and entry caps', () => {
  const archive = tarGz([{ name: 'a', data: Buffer.alloc(100_000) }])
  assert.throws(() => readTarGz(archive, { maxCompressed: 10, maxExpanded: 1e9, maxEntries: 10 }), /archive is larger than 10 bytes/)
  assert.throws(() => readTarGz(archive, { maxCompressed: 1e9, maxExpanded: 50_000, maxEntries: 10 }), /expands to more than 50000 bytes/)
  assert.throws(() => readTar(tar([{ name: 'a' }, { name: 'b' }, { name: 'c' }]), 2), /more than 2 entries/)
})
