import type { FactValue, RequestFacts } from '../inspect/request-facts.ts'

/**
 * What keeps secrets out of the audit log. The first line of defence is what records are built
 * from: never headers (`Authorization`, `X-Registry-Auth`, `X-Registry-Config`), never the query
 * (build args travel in `buildargs`), never a body (environment values, secret and config data,
 * `/auth` passwords). Facts never hold those values either (request-facts.ts: build args are names
 * only). What is left are strings a client or an engine chose freely, which may still carry a
 * credential: URLs with `user:password@` or `?token=`, and messages quoting them. Those pass
 * through here.
 */

export const REDACTED = '[REDACTED]'

/** Longest free-text value kept in a record; longer ones are cut (a path or a message, not a payload). */
export const MAX_TEXT = 1024

// userinfo in any scheme://user[:password]@host, and query strings after a URL's path.
// The userinfo runs to the LAST `@` before the path: a password may hold `@` itself.
const URL_USERINFO = /\b([a-z][a-z0-9+.-]*:\/\/)[^\s/?#]*@/gi
const URL_QUERY = /\b([a-z][a-z0-9+.-]*:\/\/[^\s?#]*)\?[^\s#]*/gi
// Bearer credentials, dockward static tokens and JWTs wherever they appear in text.
const BEARER = /\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]+/gi
// No \b: a token glued to a word (`my_dwt_…`) is still a token.
const STATIC_TOKEN = /dwt_[A-Za-z0-9_-]+/g
const JWT = /eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*/g
// Anything any of the patterns below (or the control-character escape) could match starts with one of these.
// eslint-disable-next-line no-control-regex
const MAYBE_SECRET = /[:\u0000-\u001f\u007f-\u009f\u2028\u2029]|dwt_|eyJ|bearer|basic/i
// Option names whose values are credentials by convention (driver options are name=value).
const SECRET_NAME = /(pass(word|wd|phrase)?|secret|token|credential|api[-_]?key|private[-_]?key|auth)/i

/**
 * A free-text value fit for the log: credentials in URLs and tokens replaced, control characters
 * escaped (one record, one line, no forged fields), cut at MAX_TEXT.
 *
 * @example redactText('fetch https://bob:hunter2@git.example/r.git?token=x failed') // 'fetch https://[REDACTED]@git.example/r.git?[REDACTED] failed'
 */
export function redactText (text: string): string {
  // Most values (paths, rule reasons, user agents) hold nothing to replace: one scan says so.
  if (text.length <= MAX_TEXT && !MAYBE_SECRET.test(text)) return text
  let out = text.length > MAX_TEXT * 2 ? text.slice(0, MAX_TEXT * 2) : text
  out = out
    .replace(URL_USERINFO, `$1${REDACTED}@`)
    .replace(URL_QUERY, `$1?${REDACTED}`)
    .replace(BEARER, `$1 ${REDACTED}`)
    .replace(STATIC_TOKEN, REDACTED)
    .replace(JWT, REDACTED)
  // eslint-disable-next-line no-control-regex
  out = out.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
  return out.length > MAX_TEXT ? `${out.slice(0, MAX_TEXT - 3)}...` : out
}

/**
 * A `name=value` option with the value hidden when the name says it is a credential.
 *
 * @example redactOption('encryption_passphrase=abc') // 'encryption_passphrase=[REDACTED]'
 */
export function redactOption (option: string): string {
  const eq = option.indexOf('=')
  if (eq !== -1 && SECRET_NAME.test(option.slice(0, eq))) return redactText(`${option.slice(0, eq + 1)}${REDACTED}`)
  return redactText(option)
}

// Facts whose values are name=value options.
const OPTION_FACTS = new Set<keyof RequestFacts>(['networkOptions'])

/**
 * The facts as they go into a record: every string through `redactText` (URLs such as
 * `remoteContext` and `importSource` lose their credentials), option facts through
 * `redactOption`. Booleans and numbers are kept.
 *
 * @example redactFacts({ remoteContext: 'https://u:p@git.example/r.git', privileged: false }) // { remoteContext: 'https://[REDACTED]@git.example/r.git', privileged: false }
 */
export function redactFacts (facts: Readonly<RequestFacts>): Record<string, FactValue> {
  const out: Record<string, FactValue> = {}
  for (const key of Object.keys(facts) as Array<keyof RequestFacts>) {
    const value = facts[key] as FactValue | undefined
    if (value === undefined) continue
    const clean = OPTION_FACTS.has(key) ? redactOption : redactText
    if (typeof value === 'string') out[key] = clean(value)
    else if (Array.isArray(value)) out[key] = value.map(clean)
    else out[key] = value
  }
  return out
}
