import { test } from 'node:test'
import assert from 'node:assert/strict'
import { canonicalQueryString, formValue, goBool, goBoolOrDefault, isListQueryName, parseGoQuery } from '../../src/inspect/go-query.ts'
import { BadRequestTargetError } from '../../src/core/errors.ts'

const plain = (q: Record<string, string[]>): Record<string, string[]> => ({ ...q })

test('parses pairs like url.ParseQuery: first "=", "+" as space, %XX, empty pairs skipped', () => {
  assert.deepEqual(plain(parseGoQuery('all=1&filters=%7B%22a%22%3A1%7D', 'ContainerList')), { all: ['1'], filters: ['{"a":1}'] })
  assert.deepEqual(plain(parseGoQuery('a=b=c&d&e=', 'X')), { a: ['b=c'], d: [''], e: [''] })
  assert.deepEqual(plain(parseGoQuery('a=1&&b=2&', 'X')), { a: ['1'], b: ['2'] })
  assert.deepEqual(plain(parseGoQuery('t=a+b%20c%2B', 'ImageBuild')), { t: ['a b c+'] })
  assert.deepEqual(plain(parseGoQuery('n%61me=x', 'X')), { name: ['x'] })
  assert.deepEqual(plain(parseGoQuery('=v', 'X')), { '': ['v'] })
  assert.deepEqual(plain(parseGoQuery('', 'X')), {})
  assert.deepEqual(plain(parseGoQuery('u=%C3%A9%E2%82%AC', 'X')), { u: ['é€'] })
  // A leading BOM is data, as in Go.
  assert.deepEqual(plain(parseGoQuery('u=%EF%BB%BFx', 'X')), { u: ['\ufeffx'] })
})

test('the result has a null prototype', () => {
  const q = parseGoQuery('__proto__=1&constructor=2', 'X')
  assert.equal(Object.getPrototypeOf(q), null)
  assert.deepEqual(q['__proto__'], ['1'])
  assert.deepEqual(q['constructor'], ['2'])
})

test('refuses what Go would skip or older Go would split differently', () => {
  for (const raw of ['a=1;b=2', 'a=%3B;', ';', 'a=%', 'a=%4', 'a=%zz', '%=1', 'a=%00', 'a=%C3', 'a=%FF', 'a=%ED%A0%80', 'a=b c', 'a=\u00e9', 'a=\x7f', 'a=\t']) {
    assert.throws(() => parseGoQuery(raw, 'X'), BadRequestTargetError, raw)
  }
})

test('refuses repeated single-valued names, keeps repeated list names in order', () => {
  assert.throws(() => parseGoQuery('networkmode=bridge&networkmode=host', 'ImageBuild'), BadRequestTargetError)
  assert.throws(() => parseGoQuery('name=a&name=b', 'ContainerCreate'), BadRequestTargetError)
  assert.throws(() => parseGoQuery('t=a&t=b', 'ContainerStop'), BadRequestTargetError)
  assert.deepEqual(parseGoQuery('t=a&extrahosts=h:1.2.3.4&t=b&extrahosts=i:5.6.7.8', 'ImageBuild')['t'], ['a', 'b'])
  assert.deepEqual(parseGoQuery('changes=USER%20a&changes=ENV%20b=c', 'ImageCommit')['changes'], ['USER a', 'ENV b=c'])
  assert.deepEqual(parseGoQuery('changes=a&changes=b', 'ImageCreate')['changes'], ['a', 'b'])
  assert.deepEqual(parseGoQuery('names=a&names=b', 'ImageGetAll')['names'], ['a', 'b'])
  assert.deepEqual(parseGoQuery('type=image&type=volume', 'SystemDataUsage')['type'], ['image', 'volume'])
  for (const [op, name] of [['ImageBuild', 'securityopt'], ['ImageGetAll', 'platform'], ['ImageGet', 'platform'], ['ImageLoad', 'platform'], ['ImageDelete', 'platforms']]) {
    assert.equal(isListQueryName(op!, name!), true, `${op} ${name}`)
  }
  assert.equal(isListQueryName('ImageCreate', 'platform'), false)
})

test('formValue is the first value or empty', () => {
  const q = parseGoQuery('t=a&t=b', 'ImageBuild')
  assert.equal(formValue(q, 't'), 'a')
  assert.equal(formValue(q, 'missing'), '')
})

test('goBool is httputils.BoolValue', () => {
  for (const v of [undefined, '', '0', 'no', 'false', 'none', 'NO', ' False ', 'NONE', '\u0085false\t', '\u3000no']) assert.equal(goBool(v), false, JSON.stringify(v))
  for (const v of ['1', 'yes', 'true', 'TRUE', 'x', '00', 'nö', '\ufefffalse', 'falsey']) assert.equal(goBool(v), true, JSON.stringify(v))
})

test('goBoolOrDefault uses the default only when the name is absent', () => {
  assert.equal(goBoolOrDefault(parseGoQuery('', 'ImageLoad'), 'quiet', true), true)
  assert.equal(goBoolOrDefault(parseGoQuery('quiet', 'ImageLoad'), 'quiet', true), false)
  assert.equal(goBoolOrDefault(parseGoQuery('quiet=0', 'ImageLoad'), 'quiet', true), false)
  assert.equal(goBoolOrDefault(parseGoQuery('quiet=1', 'ImageLoad'), 'quiet', false), true)
})

test('canonicalQueryString keeps allowed names, sorted, strictly encoded, and lists the rest', () => {
  const q = parseGoQuery('z=1&all=true&t=b&t=a%20b&x=%3B%26%3D%2B&evil=1', 'ImageBuild')
  const { query, ignored } = canonicalQueryString(q, ['all', 't', 'x', 'z'])
  assert.equal(query, 'all=true&t=b&t=a%20b&x=%3B%26%3D%2B&z=1')
  assert.deepEqual(ignored, ['evil'])
  assert.deepEqual(canonicalQueryString(parseGoQuery('', 'X'), ['a']), { query: '', ignored: [] })
  assert.deepEqual(canonicalQueryString(parseGoQuery('a=', 'X'), ['a']), { query: 'a=', ignored: [] })
})

test('the engine parses the canonical string back to the same query', () => {
  const values = ['a b', '+', '%', '&', '=', ';', '#', '?', '/', 'é€😀', '{"k":["v"]}', "!'()*-._~", '\ufeff']
  const q = Object.create(null) as Record<string, string[]>
  q['t'] = values
  q['k y'] = ['1']
  const { query } = canonicalQueryString(q, ['t', 'k y'])
  assert.match(query, /^[A-Za-z0-9%=&!'()*\-._~]*$/)
  assert.deepEqual(plain(parseGoQuery(query, 'ImageBuild')), { 'k y': ['1'], t: values })
})
