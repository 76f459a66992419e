import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { ConfigError } from '../core/errors.ts'
import { compilePolicy, type CompiledPolicy } from './policy-compiler.ts'
import { parsePolicyText } from './policy-schema.ts'

/** The policies in the package's `policies/` folder, loadable by name. */
export const SHIPPED_POLICIES = ['default', 'read-only', 'admin'] as const

// This module is src/decide/*.ts under tsx and dist/decide/*.js after the build: both two levels
// below the package root, where `policies/` is.
const SHIPPED_DIR = fileURLToPath(new URL('../../policies/', import.meta.url))

/**
 * The file a policy reference names: a shipped policy's file for `default`, `read-only` and
 * `admin`, anything else as a path (write `./default` for a file of that name).
 *
 * @example resolvePolicyRef('read-only') // '/usr/lib/node_modules/dockward/policies/read-only.yaml'
 */
export function resolvePolicyRef (ref: string): string {
  return (SHIPPED_POLICIES as readonly string[]).includes(ref) ? join(SHIPPED_DIR, `${ref}.yaml`) : ref
}

/**
 * Loads and compiles a policy; every problem is a ConfigError, as `file:line:col: key: message`
 * when it has a place in the file.
 *
 * @example loadPolicy('default').decide(input) // { allow: true, ruleId: 'allow-developer-work', ... }
 */
export function loadPolicy (ref: string): CompiledPolicy {
  const file = resolvePolicyRef(ref)
  return compilePolicySource(readPolicyFile(file), file)
}

/**
 * The bytes of a policy file, or a ConfigError naming it.
 *
 * @example readPolicyFile('/etc/dockward/policy.yaml').length // 1234
 */
export function readPolicyFile (file: string): Buffer {
  try {
    return readFileSync(file)
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    throw new ConfigError(`${file}: cannot read policy file (${code ?? (err as Error).message})`)
  }
}

/**
 * Compiles a policy from its file bytes; the digest is the SHA-256 of exactly these bytes, so an
 * audit record names the file that decided.
 *
 * @example compilePolicySource(Buffer.from('policy: p\nversion: 1\nrules: []\n'), 'p.yaml').ruleCount // 0
 */
export function compilePolicySource (bytes: Buffer, file: string): CompiledPolicy {
  const digest = createHash('sha256').update(bytes).digest('hex')
  let text: string
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes)
  } catch {
    throw new ConfigError(`${file}: policy file is not UTF-8 text`)
  }
  return compilePolicy(parsePolicyText(text, file), digest)
}
