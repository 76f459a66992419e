import { test } from 'node:test'
import assert from 'node:assert/strict'
import { ConfigError } from '../../src/core/errors.ts'
import { parsePolicyText } from '../../src/decide/policy-schema.ts'

const head = 'policy: p\nversion: 1\nrules:\n'

test('reads every part of a rule', () => {
  const doc = parsePolicyText([
    'policy: ci',
    'version: 1',
    'mode: audit-only',
    'rules:',
    '  - id: deny-bad',
    '    deny: no',
    '    mode: audit-only',
    '    match:',
    '      operations: [ContainerCreate, exec, ContainerGetArchive]',
    '      identity: { names: [ci], tenants: [a, ~], groups: [dev], methods: [mtls, token] }',
    '      versions: { min: 1.40, max: \'1.45\' }',
    '      query: { networkmode: { anyOf: [host] } }',
    '      facts:',
    '        privileged: true',
    '        hostPaths: { anyOutside: [/srv/ci], notEmpty: true }',
    '        memory: { min: 1, max: 4294967296 }',
    '        user: 0',
    '        image: { not: { glob: [\'docker.io/library/*\'] } }',
    '  - id: ok',
    '    allow: true'
  ].join('\n'), 'p.yaml')
  assert.equal(doc.name, 'ci')
  assert.equal(doc.mode, 'audit-only')
  assert.deepEqual(doc.rules[0], {
    id: 'deny-bad',
    action: 'deny',
    reason: 'no',
    mode: 'audit-only',
    match: {
      operations: ['ContainerCreate', 'exec', 'ContainerGetArchive'],
      identity: { names: ['ci'], tenants: ['a', null], groups: ['dev'], methods: ['mtls', 'token'] },
      versions: { min: '1.40', max: '1.45' },
      query: [{ key: 'networkmode', conditions: [{ op: 'anyOf', values: ['host'] }] }],
      facts: [
        { fact: 'privileged', kind: 'boolean', conditions: [{ op: 'is', value: true }] },
        { fact: 'hostPaths', kind: 'list', conditions: [{ op: 'anyOutside', paths: ['/srv/ci'] }, { op: 'notEmpty', value: true }] },
        { fact: 'memory', kind: 'number', conditions: [{ op: 'min', value: 1 }, { op: 'max', value: 4294967296 }] },
        { fact: 'user', kind: 'string', conditions: [{ op: 'is', value: '0' }] },
        { fact: 'image', kind: 'string', conditions: [{ op: 'not', conditions: [{ op: 'glob', patterns: ['docker.io/library/*'] }] }] }
      ]
    }
  })
  assert.deepEqual(doc.rules[1], { id: 'ok', action: 'allow', reason: 'allowed by rule ok', mode: 'enforce', match: {} })
})

test('YAML anchors can share lists between rules', () => {
  const doc = parsePolicyText(head + '  - id: a\n    deny: x\n    match: { operations: &ops [ContainerCreate, ExecStart] }\n  - id: b\n    allow: true\n    match: { operations: *ops }\n', 'p.yaml')
  assert.deepEqual(doc.rules[1]!.match.operations, ['ContainerCreate', 'ExecStart'])
})

test('errors name the file, line, column and key', () => {
  const cases: Array<[string, string]> = [
    // top level
    ['', 'p.yaml:1:1: (top level): empty policy'],
    ['- a\n', 'p.yaml:1:1: (top level): expected a mapping'],
    ['policy: p\nversion: 1\nrules: []\nextra: 1\n', 'p.yaml:4:1: extra: unknown key (policy, version, mode, rules)'],
    ['version: 1\nrules: []\n', 'p.yaml:1:1: policy: missing'],
    ['policy: p\nrules: []\n', 'p.yaml:1:1: version: missing'],
    ['policy: p\nversion: 1\n', 'p.yaml:1:1: rules: missing'],
    ['policy: p\nversion: 2\nrules: []\n', 'p.yaml:2:10: version: unsupported policy format version 2'],
    ['policy: p\nversion: 1\nmode: strict\nrules: []\n', 'p.yaml:3:7: mode: expected enforce or audit-only, not "strict"'],
    ['policy: a b\nversion: 1\nrules: []\n', 'p.yaml:1:9: policy: expected a name'],
    ['policy: p\nversion: 1\nrules: {}\n', 'p.yaml:3:8: rules: expected a list of rules'],
    ['policy: p\nversion: 1\nrules: [\n', 'p.yaml:4:1: invalid YAML'],
    ['policy: p\npolicy: q\nversion: 1\nrules: []\n', 'p.yaml:2:1: invalid YAML'],
    // rules
    [head + '  - deny: x\n', 'p.yaml:4:5: rules[0].id: missing'],
    [head + '  - id: a\n', 'p.yaml:4:5: rules[0]: missing action'],
    [head + '  - id: a\n    deny: x\n  - id: a\n    allow: true\n', 'p.yaml:6:9: rules[1].id: duplicate rule id "a" (also rules[0])'],
    [head + '  - id: default-deny\n    deny: x\n', 'p.yaml:4:9: rules[0].id: "default-deny" is the id'],
    [head + '  - id: a b\n    deny: x\n', 'p.yaml:4:9: rules[0].id: expected letters'],
    [head + '  - id: a\n    deny:\n', 'p.yaml:5:5: rules[0].deny: a deny rule needs a reason'],
    [head + '  - id: a\n    deny: true\n', 'p.yaml:5:11: rules[0].deny: a deny rule needs a reason'],
    [head + '  - id: a\n    deny: "  "\n', 'p.yaml:5:11: rules[0].deny: a deny rule needs a reason'],
    [head + '  - id: a\n    allow: false\n', 'p.yaml:5:12: rules[0].allow: expected allow: true or allow: <reason>'],
    [head + '  - id: a\n    allow: true\n    deny: x\n', 'p.yaml:6:5: rules[0].deny: a rule has one action'],
    [head + '  - id: a\n    allow: true\n    mode: audit-only\n', 'p.yaml:6:11: rules[0].mode: audit-only applies to deny rules'],
    [head + '  - id: a\n    deny: x\n    mode: dry-run\n', 'p.yaml:6:11: rules[0].mode: expected enforce or audit-only'],
    [head + '  - id: a\n    deny: x\n    when: {}\n', 'p.yaml:6:5: rules[0].when: unknown key (id, allow, deny, mode, match)'],
    // match
    [head + '  - id: a\n    deny: x\n    match: { operation: [ContainerCreate] }\n', 'p.yaml:6:14: rules[0].match.operation: unknown key (operations, identity, versions, query, facts)'],
    [head + '  - id: a\n    deny: x\n    match:\n      operations: [ContainerCreate, ContainerCreat]\n', 'p.yaml:7:37: rules[0].match.operations[1]: unknown operation or group "ContainerCreat" (did you mean ContainerCreate?)'],
    [head + '  - id: a\n    deny: x\n    match:\n      operations: [container.write]\n', 'p.yaml:7:20: rules[0].match.operations[0]: unknown operation or group "container.write" (did you mean containers.write?)'],
    [head + '  - id: a\n    deny: x\n    match:\n      operations: [ExecCreate]\n', 'p.yaml:7:20: rules[0].match.operations[0]: unknown operation or group "ExecCreate" (the Engine API calls it ContainerExec)'],
    [head + '  - id: a\n    deny: x\n    match:\n      operations: []\n', 'p.yaml:7:19: rules[0].match.operations: an empty list matches nothing'],
    [head + '  - id: a\n    deny: x\n    match:\n      identity: { name: [a] }\n', 'p.yaml:7:19: rules[0].match.identity.name: unknown key (names, tenants, groups, methods)'],
    [head + '  - id: a\n    deny: x\n    match:\n      identity: { methods: [password] }\n', 'p.yaml:7:29: rules[0].match.identity.methods[0]: unknown method "password"'],
    [head + '  - id: a\n    deny: x\n    match:\n      versions: { min: 1.4.1 }\n', 'p.yaml:7:24: rules[0].match.versions.min: invalid API version "1.4.1"'],
    [head + '  - id: a\n    deny: x\n    match:\n      versions: { min: v1.41 }\n', 'p.yaml:7:24: rules[0].match.versions.min: invalid API version "v1.41"'],
    [head + '  - id: a\n    deny: x\n    match:\n      versions: { min: \'1.44\', max: \'1.41\' }\n', 'p.yaml:7:37: rules[0].match.versions.max: max 1.41 is below min 1.44'],
    [head + '  - id: a\n    deny: x\n    match:\n      versions: { from: \'1.44\' }\n', 'p.yaml:7:19: rules[0].match.versions.from: unknown key (min, max)'],
    // facts and operators
    [head + '  - id: a\n    deny: x\n    match:\n      facts: { privilegd: true }\n', 'p.yaml:7:16: rules[0].match.facts.privilegd: unknown fact (did you mean privileged?)'],
    [head + '  - id: a\n    deny: x\n    match:\n      facts: { privileged: yes }\n', 'p.yaml:7:28: rules[0].match.facts.privileged: expected true or false'],
    [head + '  - id: a\n    deny: x\n    match:\n      facts: { privileged: { anyOf: [true] } }\n', 'p.yaml:7:37: rules[0].match.facts.privileged.anyOf: anyOf does not apply to privileged (a boolean); use is, present, not'],
    [head + '  - id: a\n    deny: x\n    match:\n      facts: { capAdd: CAP_SYS_ADMIN }\n', 'p.yaml:7:24: rules[0].match.facts.capAdd: capAdd (a list) needs an operator'],
    [head + '  - id: a\n    deny: x\n    match:\n      facts: { capAdd: { is: CAP_SYS_ADMIN } }\n', 'p.yaml:7:30: rules[0].match.facts.capAdd.is: is does not apply to capAdd (a list)'],
    [head + '  - id: a\n    deny: x\n    match:\n      facts: { capAdd: { has: [CAP_SYS_ADMIN] } }\n', 'p.yaml:7:26: rules[0].match.facts.capAdd.has: unknown operator (oneOf, noneOf, anyOf'],
    [head + '  - id: a\n    deny: x\n    match:\n      facts: { capAdd: { anyOf: [] } }\n', 'p.yaml:7:33: rules[0].match.facts.capAdd.anyOf: expected at least one value'],
    [head + '  - id: a\n    deny: x\n    match:\n      facts: { capAdd: {} }\n', 'p.yaml:7:24: rules[0].match.facts.capAdd: expected at least one condition'],
    [head + '  - id: a\n    deny: x\n    match:\n      facts: { devices: { anyOutside: [/dev] } }\n', 'p.yaml:7:39: rules[0].match.facts.devices.anyOutside: anyOutside does not apply to devices (a list)'],
    [head + '  - id: a\n    deny: x\n    match:\n      facts: { hostPaths: { allUnder: [srv] } }\n', 'p.yaml:7:40: rules[0].match.facts.hostPaths.allUnder[0]: expected an absolute path, not "srv"'],
    [head + '  - id: a\n    deny: x\n    match:\n      facts: { memory: { max: 4g } }\n', 'p.yaml:7:31: rules[0].match.facts.memory.max: expected a number for memory (a number)'],
    [head + '  - id: a\n    deny: x\n    match:\n      facts: { memory: { min: 10, max: 1 } }\n', 'p.yaml:7:24: rules[0].match.facts.memory: min 10 is above max 1'],
    [head + '  - id: a\n    deny: x\n    match:\n      facts: { memory: { glob: [\'1*\'] } }\n', 'p.yaml:7:32: rules[0].match.facts.memory.glob: glob does not apply to memory (a number)'],
    [head + '  - id: a\n    deny: x\n    match:\n      facts: { image: { min: 1 } }\n', 'p.yaml:7:30: rules[0].match.facts.image.min: min does not apply to image (a string)'],
    [head + '  - id: a\n    deny: x\n    match:\n      facts: { image: { glob: [\'\'] } }\n', 'p.yaml:7:32: rules[0].match.facts.image.glob[0]: an empty pattern'],
    [head + '  - id: a\n    deny: x\n    match:\n      facts: { image: { not: { not: { is: x } } } }\n', 'p.yaml:7:37: rules[0].match.facts.image.not.not: not inside not'],
    [head + '  - id: a\n    deny: x\n    match:\n      facts: { image: { not: { present: true } } }\n', 'p.yaml:7:41: rules[0].match.facts.image.not.present: write present: false instead'],
    [head + '  - id: a\n    deny: x\n    match:\n      facts: { image: { empty: maybe } }\n', 'p.yaml:7:32: rules[0].match.facts.image.empty: expected true or false'],
    [head + '  - id: a\n    deny: x\n    match:\n      query: { networkmode: host }\n', 'p.yaml:7:29: rules[0].match.query.networkmode: query parameter "networkmode" (a list of values) needs an operator'],
    [head + '  - id: a\n    deny: x\n    match:\n      query: { networkmode: { min: 1 } }\n', 'p.yaml:7:36: rules[0].match.query.networkmode.min: min does not apply to query parameter "networkmode"']
  ]
  for (const [text, message] of cases) {
    assert.throws(() => parsePolicyText(text, 'p.yaml'), (err: unknown) => {
      assert.ok(err instanceof ConfigError, String(err))
      assert.ok(err.message.startsWith(message), `\n${text}\n got: ${err.message}\nwant: ${message}`)
      return true
    })
  }
})
