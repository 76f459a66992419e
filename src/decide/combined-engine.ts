import { createHash } from 'node:crypto'
import type { Decision, PolicyEngine, PolicyInput } from './policy-input.ts'

/**
 * Two engines that must both allow (`policyEngine: both`): the first decides, and only a request
 * it allows is put to the second, whose decision then stands. So the denial reported is the one
 * that ended evaluation, and an allow names the second engine's rule; the trail holds both
 * engines' hits in order. `wouldDeny` carries over from either. Every decision carries the
 * combined digest (SHA-256 over both engines' digests), so an audit record names the pair.
 *
 * @example combineEngines(builtinPolicy, opaPolicy).decide(input).ruleId // 'deny-privileged'
 */
export function combineEngines (first: PolicyEngine, second: PolicyEngine): PolicyEngine {
  const digest = createHash('sha256').update(`${first.digest}\n${second.digest}\n`).digest('hex')
  return Object.freeze({
    name: `${first.name} + ${second.name}`,
    digest,
    decide (input: PolicyInput): Decision {
      const a = first.decide(input)
      if (!a.allow) return { ...a, policyDigest: digest }
      const b = second.decide(input)
      return { ...b, wouldDeny: a.wouldDeny || b.wouldDeny, trail: [...a.trail, ...b.trail], policyDigest: digest }
    }
  })
}
