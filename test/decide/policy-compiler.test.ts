import { test } from 'node:test'
import assert from 'node:assert/strict'
import { compilePolicy, globRegExp } from '../../src/decide/policy-compiler.ts'
import type { PolicyInput } from '../../src/decide/policy-input.ts'
import { parsePolicyText } from '../../src/decide/policy-schema.ts'
import { anonymousIdentity, type Identity } from '../../src/identify/identity.ts'
import type { RequestFacts } from '../../src/inspect/request-facts.ts'

function compile (rules: string, mode = 'enforce'): ReturnType<typeof compilePolicy> {
  return compilePolicy(parsePolicyText(`policy: t\nversion: 1\nmode: ${mode}\nrules:\n${rules}`, 't.yaml'), 'digest-1')
}

function input (operation: string, facts: RequestFacts = {}, more: Partial<PolicyInput> = {}): PolicyInput {
  return { identity: anonymousIdentity, operation, method: 'POST', path: '/x', version: '1.41', params: {}, query: {}, body: undefined, facts, listener: 'tcp://127.0.0.1:2375', ...more }
}

/** One deny rule on `facts: { <cond> }`, then allow-all: true when the condition matched. */
function matches (cond: string, facts: RequestFacts): boolean {
  const p = compile(`  - id: d\n    deny: x\n    match:\n      facts: { ${cond} }\n  - id: rest\n    allow: true\n`)
  return p.decide(input('ContainerCreate', facts)).ruleId === 'd'
}

test('first match wins, in file order', () => {
  const p = compile([
    '  - id: allow-start',
    '    allow: starting is fine',
    '    match: { operations: [ContainerStart] }',
    '  - id: deny-containers',
    '    deny: no containers',
    '    match: { operations: [containers] }',
    '  - id: allow-all',
    '    allow: true'
  ].join('\n') + '\n')
  const start = p.decide(input('ContainerStart'))
  assert.deepEqual(start, {
    allow: true,
    wouldDeny: false,
    ruleId: 'allow-start',
    reason: 'starting is fine',
    trail: [{ ruleId: 'allow-start', action: 'allow', mode: 'enforce', reason: 'starting is fine' }],
    policyDigest: 'digest-1'
  })
  assert.equal(p.decide(input('ContainerCreate')).ruleId, 'deny-containers')
  assert.equal(p.decide(input('ContainerCreate')).allow, false)
  assert.equal(p.decide(input('ImageList')).ruleId, 'allow-all')
  assert.equal(p.decide(input('ImageList')).reason, 'allowed by rule allow-all')
  assert.equal(p.ruleCount, 3)
  assert.equal(p.name, 't')
  assert.equal(p.digest, 'digest-1')
})

test('no match is default-deny', () => {
  const p = compile('  - id: a\n    allow: true\n    match: { operations: [SystemPing] }\n')
  const d = p.decide(input('ContainerCreate'))
  assert.equal(d.allow, false)
  assert.equal(d.wouldDeny, false)
  assert.equal(d.ruleId, 'default-deny')
  assert.match(d.reason, /no rule of policy t allows ContainerCreate/)
  assert.deepEqual(d.trail, [])
  assert.equal(d.policyDigest, 'digest-1')
  // An operation the table does not know is decided by the rules without operations only.
  assert.equal(p.decide(input('SomethingNew')).ruleId, 'default-deny')
  assert.equal(compilePolicy(parsePolicyText('policy: e\nversion: 1\nrules: []\n', 'e.yaml'), 'd').decide(input('SystemPing')).ruleId, 'default-deny')
})

test('operations match by name, alias, group and family', () => {
  const p = compile([
    '  - id: by-alias',
    '    allow: true',
    '    match: { operations: [ContainerGetArchive] }',
    '  - id: by-group',
    '    allow: true',
    '    match: { operations: [images.export] }',
    '  - id: by-family',
    '    allow: true',
    '    match: { operations: [volumes] }',
    '  - id: unfiltered',
    '    deny: rest'
  ].join('\n') + '\n')
  assert.equal(p.decide(input('ContainerArchive')).ruleId, 'by-alias')
  assert.equal(p.decide(input('ImageGetAll')).ruleId, 'by-group')
  assert.equal(p.decide(input('VolumePrune')).ruleId, 'by-family')
  assert.equal(p.decide(input('VolumeList')).ruleId, 'by-family')
  assert.equal(p.decide(input('ImageList')).ruleId, 'unfiltered')
  assert.equal(p.decide(input('NotAnOperation')).ruleId, 'unfiltered')
})

test('a decision without audit-only hits is prebuilt and frozen', () => {
  const p = compile('  - id: a\n    allow: true\n')
  const d1 = p.decide(input('SystemPing'))
  assert.equal(p.decide(input('ContainerCreate')), d1)
  assert.ok(Object.isFrozen(d1) && Object.isFrozen(d1.trail) && Object.isFrozen(d1.trail[0]))
})

test('audit-only deny rule: recorded, then evaluation goes on', () => {
  const p = compile([
    '  - id: audit-caps',
    '    deny: capabilities will be denied soon',
    '    mode: audit-only',
    '    match: { facts: { capAdd: { notEmpty: true } } }',
    '  - id: deny-privileged',
    '    deny: privileged',
    '    match: { facts: { privileged: true } }',
    '  - id: allow-containers',
    '    allow: containers',
    '    match: { operations: [containers] }'
  ].join('\n') + '\n')
  const allowed = p.decide(input('ContainerCreate', { capAdd: ['CAP_NET_ADMIN'], privileged: false }))
  assert.deepEqual(allowed, {
    allow: true,
    wouldDeny: true,
    ruleId: 'allow-containers',
    reason: 'containers',
    trail: [
      { ruleId: 'audit-caps', action: 'deny', mode: 'audit-only', reason: 'capabilities will be denied soon' },
      { ruleId: 'allow-containers', action: 'allow', mode: 'enforce', reason: 'containers' }
    ],
    policyDigest: 'digest-1'
  })
  // An enforced denial after it still denies; wouldDeny only marks requests let through.
  const denied = p.decide(input('ContainerCreate', { capAdd: ['CAP_NET_ADMIN'], privileged: true }))
  assert.equal(denied.allow, false)
  assert.equal(denied.wouldDeny, false)
  assert.equal(denied.ruleId, 'deny-privileged')
  assert.deepEqual(denied.trail.map((h) => h.ruleId), ['audit-caps', 'deny-privileged'])
  // Nothing after it matches: default-deny, with the audit hit in the trail.
  const fallthrough = p.decide(input('ImageList'))
  assert.equal(fallthrough.ruleId, 'default-deny')
  const none = p.decide(input('ExecStart', { capAdd: ['X'] } as RequestFacts))
  assert.equal(none.ruleId, 'default-deny')
  assert.equal(none.allow, false)
  assert.deepEqual(none.trail.map((h) => h.ruleId), ['audit-caps'])
  // Without capabilities: the prebuilt decision, not marked.
  const clean = p.decide(input('ContainerCreate', { capAdd: [], privileged: false }))
  assert.equal(clean.wouldDeny, false)
  assert.deepEqual(clean.trail.map((h) => h.ruleId), ['allow-containers'])
})

test('audit-only policy: allows everything and reports what it would decide', () => {
  const p = compile([
    '  - id: audit-rule',
    '    deny: per-rule audit',
    '    mode: audit-only',
    '    match: { operations: [ContainerStart] }',
    '  - id: deny-privileged',
    '    deny: privileged',
    '    match: { facts: { privileged: true } }',
    '  - id: allow-reads',
    '    allow: reads',
    '    match: { operations: [containers.read] }'
  ].join('\n') + '\n', 'audit-only')
  assert.equal(p.mode, 'audit-only')
  const deny = p.decide(input('ContainerCreate', { privileged: true }))
  assert.deepEqual(deny, {
    allow: true,
    wouldDeny: true,
    ruleId: 'deny-privileged',
    reason: 'privileged',
    trail: [{ ruleId: 'deny-privileged', action: 'deny', mode: 'audit-only', reason: 'privileged' }],
    policyDigest: 'digest-1'
  })
  const allow = p.decide(input('ContainerList'))
  assert.equal(allow.allow, true)
  assert.equal(allow.wouldDeny, false)
  assert.equal(allow.ruleId, 'allow-reads')
  assert.equal(allow.trail[0]!.mode, 'audit-only')
  const none = p.decide(input('ImageList'))
  assert.equal(none.allow, true)
  assert.equal(none.wouldDeny, true)
  assert.equal(none.ruleId, 'default-deny')
  const start = p.decide(input('ContainerStart'))
  assert.equal(start.allow, true)
  assert.equal(start.wouldDeny, true)
  assert.equal(start.ruleId, 'default-deny')
  assert.deepEqual(start.trail.map((h) => [h.ruleId, h.mode]), [['audit-rule', 'audit-only']])
})

test('is, oneOf, noneOf, anyOf on scalars and lists', () => {
  assert.equal(matches('privileged: true', { privileged: true }), true)
  assert.equal(matches('privileged: true', { privileged: false }), false)
  assert.equal(matches('privileged: true', {}), false)
  assert.equal(matches('memory: 5', { memory: 5 }), true)
  assert.equal(matches('runtime: { is: runc }', { runtime: 'runc' }), true)
  assert.equal(matches("runtime: { oneOf: ['', runc] }", { runtime: '' }), true)
  assert.equal(matches("runtime: { oneOf: ['', runc] }", { runtime: 'kata' }), false)
  assert.equal(matches("runtime: { oneOf: ['', runc] }", {}), false)
  assert.equal(matches("runtime: { noneOf: ['', runc] }", { runtime: 'kata' }), true)
  assert.equal(matches("runtime: { noneOf: ['', runc] }", { runtime: 'runc' }), false)
  assert.equal(matches("runtime: { noneOf: ['', runc] }", {}), true, 'noneOf holds on an absent fact')
  assert.equal(matches('memory: { oneOf: [1, 2] }', { memory: 2 }), true)
  assert.equal(matches('memory: { noneOf: [1, 2] }', { memory: 3 }), true)
  // Lists: oneOf = every element in the set, noneOf = no element, anyOf = some element.
  assert.equal(matches('capAdd: { oneOf: [CAP_CHOWN, CAP_KILL] }', { capAdd: ['CAP_KILL'] }), true)
  assert.equal(matches('capAdd: { oneOf: [CAP_CHOWN, CAP_KILL] }', { capAdd: ['CAP_KILL', 'CAP_SYS_ADMIN'] }), false)
  assert.equal(matches('capAdd: { oneOf: [CAP_CHOWN] }', { capAdd: [] }), true, 'every element of an empty list')
  assert.equal(matches('capAdd: { oneOf: [CAP_CHOWN] }', {}), false)
  assert.equal(matches('capAdd: { noneOf: [CAP_SYS_ADMIN] }', { capAdd: ['CAP_KILL'] }), true)
  assert.equal(matches('capAdd: { noneOf: [CAP_SYS_ADMIN] }', { capAdd: ['CAP_KILL', 'CAP_SYS_ADMIN'] }), false)
  assert.equal(matches('capAdd: { noneOf: [CAP_SYS_ADMIN] }', {}), true)
  assert.equal(matches('capAdd: { anyOf: [CAP_SYS_ADMIN, ALL] }', { capAdd: ['CAP_KILL', 'ALL'] }), true)
  assert.equal(matches('capAdd: { anyOf: [CAP_SYS_ADMIN, ALL] }', { capAdd: ['CAP_KILL'] }), false)
  assert.equal(matches('capAdd: { anyOf: [CAP_SYS_ADMIN] }', {}), false)
  // Numbers written for string facts compare as the text written.
  assert.equal(matches('hostPorts: { anyOf: [22, 2375] }', { hostPorts: ['2375'] }), true)
})

test('empty, notEmpty and present; an absent fact counts as empty', () => {
  assert.equal(matches('capAdd: { notEmpty: true }', { capAdd: ['X'] }), true)
  assert.equal(matches('capAdd: { notEmpty: true }', { capAdd: [] }), false)
  assert.equal(matches('capAdd: { notEmpty: true }', {}), false)
  assert.equal(matches('capAdd: { notEmpty: false }', {}), true)
  assert.equal(matches('capAdd: { empty: true }', {}), true)
  assert.equal(matches('capAdd: { empty: true }', { capAdd: [] }), true)
  assert.equal(matches('capAdd: { empty: true }', { capAdd: ['X'] }), false)
  assert.equal(matches('capAdd: { empty: false }', {}), false)
  assert.equal(matches('cgroupParent: { notEmpty: true }', { cgroupParent: '/x' }), true)
  assert.equal(matches('cgroupParent: { notEmpty: true }', { cgroupParent: '' }), false)
  assert.equal(matches('image: { present: true }', { image: 'x' }), true)
  assert.equal(matches('image: { present: true }', {}), false)
  assert.equal(matches('image: { present: false }', {}), true)
  assert.equal(matches('image: { present: false }', { image: '' }), false)
})

test('glob: * and ? stay in a segment, ** crosses segments, lists need every element', () => {
  assert.equal(matches("image: { glob: ['docker.io/library/*'] }", { image: 'docker.io/library/busybox:latest' }), true)
  assert.equal(matches("image: { glob: ['docker.io/library/*'] }", { image: 'docker.io/library/a/b:latest' }), false)
  assert.equal(matches("image: { glob: ['docker.io/**'] }", { image: 'docker.io/library/a/b:latest' }), true)
  assert.equal(matches("image: { glob: ['docker.io/**'] }", { image: 'docker.iox/a' }), false)
  assert.equal(matches("image: { glob: ['busybox:1.3?'] }", { image: 'busybox:1.36' }), true)
  assert.equal(matches("image: { glob: ['a.b'] }", { image: 'aXb' }), false, 'dots are literal')
  assert.equal(matches("image: { glob: ['a', 'b*'] }", { image: 'bc' }), true)
  assert.equal(matches("image: { glob: ['*'] }", {}), false)
  assert.equal(matches("tags: { glob: ['registry.example.com/team/**'] }", { tags: ['registry.example.com/team/a:1', 'registry.example.com/team/b/c:2'] }), true)
  assert.equal(matches("tags: { glob: ['registry.example.com/team/**'] }", { tags: ['registry.example.com/team/a:1', 'docker.io/x:1'] }), false)
  assert.equal(matches("tags: { glob: ['x'] }", { tags: [] }), true)
  assert.ok(globRegExp(['(a|b)+']).test('(a|b)+'))
  assert.ok(!globRegExp(['(a|b)+']).test('a'))
})

test('allUnder and anyOutside compare whole segments of cleaned paths', () => {
  assert.equal(matches('hostPaths: { anyOutside: [/srv/ci, /tmp] }', { hostPaths: ['/srv/ci/a', '/tmp'] }), false)
  assert.equal(matches('hostPaths: { anyOutside: [/srv/ci, /tmp] }', { hostPaths: ['/srv/ci/a', '/etc'] }), true)
  assert.equal(matches('hostPaths: { anyOutside: [/srv/ci] }', { hostPaths: ['/srv/cix'] }), true, 'not a segment prefix')
  assert.equal(matches('hostPaths: { anyOutside: [/srv/ci] }', { hostPaths: ['/srv/ci/../../etc'] }), true, 'an unclean path is cleaned')
  assert.equal(matches('hostPaths: { anyOutside: [/srv/ci/] }', { hostPaths: ['/srv/ci'] }), false)
  assert.equal(matches('hostPaths: { anyOutside: [/srv/ci] }', { hostPaths: [] }), false)
  assert.equal(matches('hostPaths: { anyOutside: [/srv/ci] }', {}), false)
  assert.equal(matches('hostPaths: { allUnder: [/srv/ci] }', { hostPaths: ['/srv/ci/a', '/srv/ci'] }), true)
  assert.equal(matches('hostPaths: { allUnder: [/srv/ci] }', { hostPaths: ['/srv/ci/a', '/srv'] }), false)
  assert.equal(matches('hostPaths: { allUnder: [/srv/ci] }', { hostPaths: [] }), true)
  assert.equal(matches('hostPaths: { allUnder: [/srv/ci] }', {}), false)
  assert.equal(matches('hostPaths: { allUnder: [/] }', { hostPaths: ['/etc'] }), true)
  assert.equal(matches('archivePath: { allUnder: [/app] }', { archivePath: '/app/x' }), true)
  assert.equal(matches('archivePath: { anyOutside: [/app] }', { archivePath: '/etc' }), true)
  assert.equal(matches('archivePath: { anyOutside: [/app] }', {}), false)
})

test('min and max are inclusive and fail on absent facts', () => {
  assert.equal(matches('memory: { max: 100 }', { memory: 100 }), true)
  assert.equal(matches('memory: { max: 100 }', { memory: 101 }), false)
  assert.equal(matches('memory: { min: 1, max: 100 }', { memory: 0 }), false)
  assert.equal(matches('memory: { min: 1, max: 100 }', { memory: 1 }), true)
  assert.equal(matches('memory: { max: 100 }', {}), false)
})

test('not negates present facts and fails on absent ones', () => {
  assert.equal(matches("runtime: { not: { oneOf: ['', runc] } }", { runtime: 'kata' }), true)
  assert.equal(matches("runtime: { not: { oneOf: ['', runc] } }", { runtime: 'runc' }), false)
  assert.equal(matches("runtime: { not: { oneOf: ['', runc] } }", {}), false)
  assert.equal(matches('volumeMounts: { not: { oneOf: [tmpfs] } }', { volumeMounts: ['tmpfs', 'nfs'] }), true)
  assert.equal(matches('volumeMounts: { not: { oneOf: [tmpfs] } }', { volumeMounts: [] }), false)
  assert.equal(matches('privileged: { not: true }', { privileged: false }), true)
  assert.equal(matches('memory: { not: { min: 1, max: 10 } }', { memory: 5 }), false)
  assert.equal(matches('memory: { not: { min: 1, max: 10 } }', { memory: 50 }), true)
})

test('conditions of one rule are ANDed', () => {
  assert.equal(matches('privileged: true, capAdd: { notEmpty: true }', { privileged: true, capAdd: [] }), false)
  assert.equal(matches('privileged: true, capAdd: { notEmpty: true }', { privileged: true, capAdd: ['X'] }), true)
  const p = compile('  - id: d\n    deny: x\n    match:\n      operations: [ContainerCreate]\n      facts: { privileged: true }\n')
  assert.equal(p.decide(input('ContainerExec', { privileged: true })).ruleId, 'default-deny')
  assert.equal(p.decide(input('ContainerCreate', { privileged: true })).ruleId, 'd')
})

test('identity: names, tenants (~ for none), groups, methods', () => {
  const p = compile([
    '  - id: by-name',
    '    allow: true',
    '    match: { identity: { names: [ci-bot] } }',
    '  - id: by-tenant-and-group',
    '    allow: true',
    '    match: { identity: { tenants: [team-a], groups: [dev, ops] } }',
    '  - id: no-tenant-mtls',
    '    allow: true',
    '    match: { identity: { tenants: [~], methods: [mtls] } }'
  ].join('\n') + '\n')
  const who = (identity: Partial<Identity>): string => p.decide(input('SystemPing', {}, { identity: { ...anonymousIdentity, ...identity } })).ruleId
  assert.equal(who({ name: 'ci-bot' }), 'by-name')
  assert.equal(who({ name: 'ci-bot2' }), 'default-deny')
  assert.equal(who({ tenant: 'team-a', groups: ['x', 'ops'] }), 'by-tenant-and-group')
  assert.equal(who({ tenant: 'team-a', groups: ['x'] }), 'default-deny')
  assert.equal(who({ tenant: 'team-b', groups: ['dev'] }), 'default-deny')
  assert.equal(who({ tenant: null, method: 'mtls' }), 'no-tenant-mtls')
  assert.equal(who({ tenant: null, method: 'token' }), 'default-deny')
  assert.equal(who({ tenant: 'team-a', method: 'mtls' }), 'default-deny')
})

test('versions: inclusive range; no version prefix is the newest', () => {
  const p = compile("  - id: old\n    deny: old clients\n    match: { versions: { max: '1.40' } }\n  - id: mid\n    allow: true\n    match: { versions: { min: 1.41, max: 1.43 } }\n  - id: new\n    allow: true\n    match: { versions: { min: '1.44' } }\n")
  const at = (version: string | null): string => p.decide(input('SystemPing', {}, { version })).ruleId
  assert.equal(at('1.24'), 'old')
  assert.equal(at('1.40'), 'old')
  assert.equal(at('1.41'), 'mid')
  assert.equal(at('1.43'), 'mid')
  assert.equal(at('1.44'), 'new')
  assert.equal(at('1.100'), 'new')
  assert.equal(at('2.0'), 'new')
  assert.equal(at(null), 'new')
})

test('query: values as a list; absent parameters; names are exact', () => {
  const p = compile([
    '  - id: host-build',
    '    deny: no host network',
    '    match: { operations: [ImageBuild], query: { networkmode: { anyOf: [host] } } }',
    '  - id: proto',
    '    deny: never',
    '    match: { query: { constructor: { present: true } } }',
    '  - id: tagged',
    '    allow: true',
    "    match: { query: { t: { glob: ['ci/*'] } } }"
  ].join('\n') + '\n')
  const q = (op: string, query: Record<string, string[]>): string => p.decide(input(op, {}, { query })).ruleId
  assert.equal(q('ImageBuild', { networkmode: ['host'] }), 'host-build')
  assert.equal(q('ImageBuild', { networkmode: ['bridge'], t: ['ci/a'] }), 'tagged')
  assert.equal(q('ImageBuild', { NetworkMode: ['host'] }), 'default-deny')
  assert.equal(q('ImageBuild', { t: ['ci/a', 'other/b'] }), 'default-deny')
  assert.equal(q('ImageBuild', {}), 'default-deny')
  assert.equal(q('ContainerList', { networkmode: ['host'] }), 'default-deny')
  const nullProto = Object.assign(Object.create(null) as Record<string, string[]>, { t: ['ci/x'] })
  assert.equal(q('ImageBuild', nullProto), 'tagged')
})
