import { isUnder } from '../inspect/host-path.ts'
import { groupByOperation, resolveOperationRef } from './operation-groups.ts'
import type { Decision, PolicyEngine, PolicyInput, PolicyMode, RuleHit } from './policy-input.ts'
import { DEFAULT_DENY_ID, versionNumber, type Condition, type FactKind, type MatchDocument, type PolicyDocument, type RuleDocument } from './policy-schema.ts'

/** A compiled policy: the `PolicyEngine` contract plus what `policy check` and logs show. */
export interface CompiledPolicy extends PolicyEngine {
  readonly mode: PolicyMode
  readonly ruleCount: number
}

type Value = boolean | number | string | readonly string[] | undefined
type ValueTest = (v: Value) => boolean
type InputTest = (input: PolicyInput) => boolean

interface CompiledRule {
  readonly rule: RuleDocument
  /** null: the rule has no conditions beyond its operations. */
  readonly test: InputTest | null
  /** An audit-only deny rule: recorded, then evaluation goes on. */
  readonly auditDeny: boolean
  readonly hit: RuleHit
  /** The decision when this rule decides and no audit-only rule matched before it. */
  readonly decision: Decision
}

/**
 * Compiles a validated policy into a decision function. Everything that does not depend on the
 * request is done here: operation names resolve to a per-operation list of the rules that can
 * match it, value sets become `Set`s, globs one `RegExp`, and the decision of every rule is built
 * once, so a request that no audit-only rule touches allocates nothing.
 *
 * @example compilePolicy(parsePolicyText(text, 'p.yaml'), digest).decide(input).ruleId // 'deny-privileged'
 */
export function compilePolicy (doc: PolicyDocument, digest: string): CompiledPolicy {
  const auditPolicy = doc.mode === 'audit-only'
  const rules: CompiledRule[] = doc.rules.map((rule) => {
    const hit: RuleHit = Object.freeze({ ruleId: rule.id, action: rule.action, mode: auditPolicy ? 'audit-only' : rule.mode, reason: rule.reason })
    const allow = auditPolicy || rule.action === 'allow'
    return {
      rule,
      test: compileMatch(rule.match),
      auditDeny: rule.action === 'deny' && rule.mode === 'audit-only',
      hit,
      decision: decision(allow, auditPolicy && rule.action === 'deny', rule.id, rule.reason, [hit], digest)
    }
  })

  // Per operation, the rules that can match it, in order; rules without `operations` are in every list.
  const byOperation = new Map<string, readonly CompiledRule[]>()
  const opSets = rules.map((r) => r.rule.match.operations === undefined
    ? null
    : new Set(r.rule.match.operations.flatMap((ref) => resolveOperationRef(ref) ?? [])))
  for (const op of groupByOperation.keys()) byOperation.set(op, rules.filter((_, i) => opSets[i] === null || opSets[i]!.has(op)))
  const anyOperation = rules.filter((_, i) => opSets[i] === null)

  const defaultReason = (op: string): string => `no rule of policy ${doc.name} allows ${op}`
  const defaults = new Map<string, Decision>()
  for (const op of groupByOperation.keys()) defaults.set(op, decision(auditPolicy, auditPolicy, DEFAULT_DENY_ID, defaultReason(op), [], digest))

  // Slow path: an audit-only deny rule matched, so the trail and wouldDeny differ from the precomputed ones.
  const withAudits = (audits: RuleHit[], decided: CompiledRule | null, op: string): Decision => {
    const trail = decided === null ? audits : [...audits, decided.hit]
    const enforcedAllow = decided !== null && decided.rule.action === 'allow'
    const allow = auditPolicy || enforcedAllow
    return decision(allow, allow, decided?.rule.id ?? DEFAULT_DENY_ID, decided?.rule.reason ?? defaultReason(op), trail, digest)
  }

  return Object.freeze({
    name: doc.name,
    digest,
    mode: doc.mode,
    ruleCount: rules.length,
    decide (input: PolicyInput): Decision {
      const candidates = byOperation.get(input.operation) ?? anyOperation
      let audits: RuleHit[] | null = null
      for (let i = 0; i < candidates.length; i++) {
        const r = candidates[i]!
        if (r.test !== null && !r.test(input)) continue
        if (r.auditDeny) {
          (audits ??= []).push(r.hit)
          continue
        }
        return audits === null ? r.decision : withAudits(audits, r, input.operation)
      }
      if (audits !== null) return withAudits(audits, null, input.operation)
      return defaults.get(input.operation) ?? decision(auditPolicy, auditPolicy, DEFAULT_DENY_ID, defaultReason(input.operation), [], digest)
    }
  })
}

function decision (allow: boolean, wouldDeny: boolean, ruleId: string, reason: string, trail: RuleHit[], policyDigest: string): Decision {
  return Object.freeze({ allow, wouldDeny, ruleId, reason, trail: Object.freeze(trail), policyDigest })
}

function compileMatch (match: MatchDocument): InputTest | null {
  const tests: InputTest[] = []
  const id = match.identity
  if (id?.names !== undefined) {
    const set = new Set(id.names)
    tests.push((input) => set.has(input.identity.name))
  }
  if (id?.tenants !== undefined) {
    const set = new Set(id.tenants)
    tests.push((input) => set.has(input.identity.tenant))
  }
  if (id?.groups !== undefined) {
    const set = new Set(id.groups)
    tests.push((input) => someIn(input.identity.groups, set))
  }
  if (id?.methods !== undefined) {
    const set = new Set<string>(id.methods)
    tests.push((input) => set.has(input.identity.method))
  }
  if (match.versions !== undefined) {
    const min = match.versions.min === undefined ? Number.NEGATIVE_INFINITY : versionNumber(match.versions.min)
    const max = match.versions.max === undefined ? Number.POSITIVE_INFINITY : versionNumber(match.versions.max)
    tests.push((input) => {
      const v = versionNumber(input.version)
      return v >= min && v <= max
    })
  }
  for (const q of match.query ?? []) {
    const key = q.key
    const test = compileConditions(q.conditions, 'list', false)
    // hasOwn: a parameter named `constructor` must not find Object.prototype's.
    tests.push((input) => test(Object.hasOwn(input.query, key) ? input.query[key] : undefined))
  }
  for (const f of match.facts ?? []) {
    const fact = f.fact
    const test = compileConditions(f.conditions, f.kind, true)
    tests.push((input) => test(input.facts[fact]))
  }
  if (tests.length === 0) return null
  if (tests.length === 1) return tests[0]!
  return (input) => {
    for (let i = 0; i < tests.length; i++) if (!tests[i]!(input)) return false
    return true
  }
}

function compileConditions (conditions: readonly Condition[], kind: FactKind, pathOk: boolean): ValueTest {
  const tests = conditions.map((c) => compileCondition(c, kind, pathOk))
  if (tests.length === 1) return tests[0]!
  return (v) => {
    for (let i = 0; i < tests.length; i++) if (!tests[i]!(v)) return false
    return true
  }
}

/**
 * One condition as a test on the value. Every test but `noneOf`, `empty: true`, `notEmpty: false`
 * and `present: false` fails on an absent value (undefined): the operation cannot have the fact,
 * so a rule about it does not apply.
 */
function compileCondition (c: Condition, kind: FactKind, pathOk: boolean): ValueTest {
  const list = kind === 'list'
  switch (c.op) {
    case 'is': {
      const want = c.value
      return (v) => v === want
    }
    case 'oneOf': {
      const set = new Set<unknown>(c.values)
      return list
        ? (v) => v !== undefined && everyIn(v as readonly string[], set)
        : (v) => v !== undefined && set.has(v)
    }
    case 'noneOf': {
      const set = new Set<unknown>(c.values)
      return list
        ? (v) => v === undefined || !someIn(v as readonly string[], set)
        : (v) => v === undefined || !set.has(v)
    }
    case 'anyOf': {
      const set = new Set<unknown>(c.values)
      return (v) => v !== undefined && someIn(v as readonly string[], set)
    }
    case 'empty':
      return c.value ? isEmpty : (v) => !isEmpty(v)
    case 'notEmpty':
      return c.value ? (v) => !isEmpty(v) : isEmpty
    case 'present':
      return c.value ? (v) => v !== undefined : (v) => v === undefined
    case 'glob': {
      const re = globRegExp(c.patterns)
      return list
        ? (v) => {
            if (v === undefined) return false
            const a = v as readonly string[]
            for (let i = 0; i < a.length; i++) if (!re.test(a[i]!)) return false
            return true
          }
        : (v) => v !== undefined && re.test(v as string)
    }
    case 'allUnder':
    case 'anyOutside': {
      if (!pathOk) throw new Error(`${c.op} on a value that holds no paths`)
      const prefixes = c.paths
      const under = (p: string): boolean => {
        for (let i = 0; i < prefixes.length; i++) if (isUnder(p, prefixes[i]!)) return true
        return false
      }
      // isUnder cleans both sides, so an unclean fact (`/srv/ci/../../etc`) cannot pass for `/srv/ci`.
      if (c.op === 'allUnder') {
        return list
          ? (v) => {
              if (v === undefined) return false
              const a = v as readonly string[]
              for (let i = 0; i < a.length; i++) if (!under(a[i]!)) return false
              return true
            }
          : (v) => v !== undefined && under(v as string)
      }
      return list
        ? (v) => {
            if (v === undefined) return false
            const a = v as readonly string[]
            for (let i = 0; i < a.length; i++) if (!under(a[i]!)) return true
            return false
          }
        : (v) => v !== undefined && !under(v as string)
    }
    case 'min': {
      const min = c.value
      return (v) => v !== undefined && (v as number) >= min
    }
    case 'max': {
      const max = c.value
      return (v) => v !== undefined && (v as number) <= max
    }
    case 'not': {
      const inner = compileConditions(c.conditions, kind, pathOk)
      return (v) => v !== undefined && !inner(v)
    }
  }
}

function isEmpty (v: Value): boolean {
  return v === undefined || (v as string | readonly string[]).length === 0
}

function someIn (a: readonly unknown[], set: ReadonlySet<unknown>): boolean {
  for (let i = 0; i < a.length; i++) if (set.has(a[i])) return true
  return false
}

function everyIn (a: readonly unknown[], set: ReadonlySet<unknown>): boolean {
  for (let i = 0; i < a.length; i++) if (!set.has(a[i])) return false
  return true
}

/**
 * Globs as one anchored RegExp: `*` and `?` stay within a `/`-separated segment, `**` crosses
 * segments, every other character is literal.
 *
 * @example globRegExp(['docker.io/library/*']).test('docker.io/library/busybox:latest') // true
 */
export function globRegExp (patterns: readonly string[]): RegExp {
  const alternatives = patterns.map((p) => {
    let out = ''
    for (let i = 0; i < p.length; i++) {
      const ch = p[i]!
      if (ch === '*') {
        if (p[i + 1] === '*') { out += '.*'; i++ } else out += '[^/]*'
      } else if (ch === '?') out += '[^/]'
      else out += ch.replace(/[.+^${}()|[\]\\]/g, '\\$&')
    }
    return out
  })
  return new RegExp(`^(?:${alternatives.join('|')})$`, 's')
}
