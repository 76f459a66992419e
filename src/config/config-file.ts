import { readFileSync } from 'node:fs'
import { dirname, isAbsolute, resolve } from 'node:path'
import { isMap, isScalar, isSeq, type Node } from 'yaml'
import { parseYamlText } from './yaml-text.ts'
import { ConfigError } from '../core/errors.ts'
import { parseOpaSettings, POLICY_ENGINE_KINDS, type PolicyEngineKind } from '../decide/opa/opa-settings.ts'
import { parseFixedIdentity } from '../identify/fixed-identity.ts'
import { parseJwtSettings } from '../identify/jwt-authenticator.ts'
import { parseMtlsSettings } from '../identify/mtls-authenticator.ts'
import { parseRateLimitSettings } from '../identify/rate-limiter.ts'
import { parseTokenSettings } from '../identify/static-token.ts'
import { parseTlsSettings } from '../listen/tls-settings.ts'
import { parseTenancySettings } from '../tenancy/tenancy-settings.ts'
import { parseAdminSettings } from '../admin/admin-settings.ts'
import { parseAuditSettings } from '../observe/audit-settings.ts'
import { LISTENER_METHODS, type AuthenticationInput, type ConfigInput, type Limits, type ListenEntryInput, type ListenerMethod } from './config.ts'

/**
 * Reads and validates a YAML config file. Every error names the file, line and column and the
 * key path; unknown keys are errors, so a misspelt setting never silently falls back to a default.
 */
export function readConfigFile (file: string): ConfigInput {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (err) {
    throw new ConfigError(`cannot read config file ${file}: ${(err as Error).message}`)
  }
  return parseConfigText(text, file)
}

export function parseConfigText (text: string, file: string): ConfigInput {
  const { doc, lines } = parseYamlText(text, file)
  const where = (node: Node | null | undefined): string => {
    const offset = node?.range?.[0] ?? 0
    const p = lines.linePos(offset)
    return `${file}:${p.line}:${p.col}`
  }
  const fail = (node: Node | null | undefined, key: string, message: string): never => {
    throw new ConfigError(`${where(node)}: ${key}: ${message}`)
  }
  // Sections parsed by their own modules: their errors name the key path; the position of the
  // section is put in front. Relative file paths in them are relative to the config file.
  const section = <T>(node: Node | null, key: string, parse: (raw: unknown, at: string) => T): T => {
    try {
      return parse(node === null ? undefined : node.toJSON(), key)
    } catch (err) {
      if (err instanceof ConfigError) throw new ConfigError(`${where(node)}: ${err.message}`)
      throw err
    }
  }
  const beside = (p: string): string => isAbsolute(p) ? p : resolve(dirname(file), p)
  const root = doc.contents
  if (root === null) return {}
  if (!isMap(root)) return fail(root, '(top level)', 'expected a mapping of settings')

  const out: ConfigInput = {}
  for (const pair of root.items) {
    const key = isScalar(pair.key) ? String(pair.key.value) : ''
    const value = pair.value as Node | null
    switch (key) {
      case 'listen': {
        if (!isSeq(value)) return fail(value ?? (pair.key as Node), key, 'expected a list of addresses')
        out.listen = value.items.map((item, i) => {
          const k = `listen[${i}]`
          if (isScalar(item) && typeof item.value === 'string') return item.value
          if (!isMap(item)) return fail(item as Node, k, 'expected tcp://HOST:PORT, unix:///PATH, or a mapping with url, mode, group, owner')
          const entry: ListenEntryInput = { url: '' }
          for (const p of item.items) {
            const sub = isScalar(p.key) ? String(p.key.value) : ''
            const v = p.value as Node | null
            if (sub === 'url') entry.url = str(v, `${k}.url`)
            else if (sub === 'mode') entry.mode = str(v, `${k}.mode`)
            else if (sub === 'group') entry.group = nameOrId(v, `${k}.group`)
            else if (sub === 'owner') entry.owner = nameOrId(v, `${k}.owner`)
            else if (sub === 'tls') {
              const tls = section(v, `${k}.tls`, parseTlsSettings)
              entry.tls = {
                ...tls,
                cert: beside(tls.cert),
                key: beside(tls.key),
                ...(tls.clientCa === undefined ? {} : { clientCa: beside(tls.clientCa) })
              }
            } else if (sub === 'authentication') {
              if (!isSeq(v)) return fail(v, `${k}.authentication`, `expected a list of methods (${LISTENER_METHODS.join(', ')})`)
              entry.authentication = v.items.map((m, j) => {
                const name = isScalar(m) ? m.value : undefined
                if (!LISTENER_METHODS.includes(name as ListenerMethod)) return fail(m as Node, `${k}.authentication[${j}]`, `expected one of ${LISTENER_METHODS.join(', ')}`)
                return name as ListenerMethod
              })
            } else if (sub === 'anonymous') {
              if (!isScalar(v) || typeof v.value !== 'boolean') return fail(v, `${k}.anonymous`, 'expected true or false')
              entry.anonymous = v.value
            } else if (sub === 'identity') {
              entry.identity = section(v, `${k}.identity`, parseFixedIdentity)
            } else fail(p.key as Node, `${k}.${sub}`, 'unknown setting (url, mode, group, owner, tls, authentication, anonymous, identity)')
          }
          if (entry.url === '') fail(item, `${k}.url`, 'missing')
          return entry
        })
        break
      }
      case 'upstream':
        out.upstream = str(value, key)
        break
      case 'policy':
        out.policy = str(value, key)
        break
      case 'policyEngine': {
        const kind = str(value, key)
        if (!POLICY_ENGINE_KINDS.includes(kind as PolicyEngineKind)) fail(value, key, `expected one of ${POLICY_ENGINE_KINDS.join(', ')}`)
        out.policyEngine = kind as PolicyEngineKind
        break
      }
      case 'opa': {
        const opa = section(value, key, parseOpaSettings)
        // Policy files named in a config file are found beside it, wherever dockward runs from.
        for (const k of ['bundle', 'wasm', 'data'] as const) {
          const p = opa[k]
          if (p !== undefined) opa[k] = beside(p)
        }
        out.opa = opa
        break
      }
      case 'authentication': {
        if (!isMap(value)) return fail(value, key, 'expected a mapping with mtls, jwt, tokens')
        const auth: AuthenticationInput = {}
        for (const p of value.items) {
          const sub = isScalar(p.key) ? String(p.key.value) : ''
          const v = p.value as Node | null
          if (sub === 'mtls') auth.mtls = section(v, 'authentication.mtls', parseMtlsSettings)
          else if (sub === 'jwt') {
            const jwt = section(v, 'authentication.jwt', parseJwtSettings)
            auth.jwt = jwt.jwksFile === undefined ? jwt : { ...jwt, jwksFile: beside(jwt.jwksFile) }
          } else if (sub === 'tokens') auth.tokens = section(v, 'authentication.tokens', parseTokenSettings)
          else fail(p.key as Node, `authentication.${sub}`, 'unknown setting (mtls, jwt, tokens)')
        }
        out.authentication = auth
        break
      }
      case 'rateLimits':
        out.rateLimits = section(value, key, parseRateLimitSettings)
        break
      case 'tenancy':
        out.tenancy = section(value, key, parseTenancySettings)
        break
      case 'dangerouslyAllowUnauthenticatedTcp':
        if (!isScalar(value) || typeof value.value !== 'boolean') fail(value, key, 'expected true or false')
        out.dangerouslyAllowUnauthenticatedTcp = (value as { value: boolean }).value
        break
      case 'limits': {
        if (!isMap(value)) return fail(value, key, 'expected a mapping')
        const limits: Partial<Limits> = {}
        for (const p of value.items) {
          const sub = isScalar(p.key) ? String(p.key.value) : ''
          const v = p.value as Node | null
          if (!LIMIT_KEYS.includes(sub as keyof Limits)) fail(p.key as Node, `limits.${sub}`, `unknown setting (${LIMIT_KEYS.join(', ')})`)
          if (!isScalar(v) || typeof v.value !== 'number' || !Number.isSafeInteger(v.value) || v.value <= 0) {
            fail(v, `limits.${sub}`, 'expected a positive integer')
          }
          limits[sub as keyof Limits] = (v as { value: number }).value
        }
        out.limits = limits
        break
      }
      case 'audit': {
        const audit = section(value, key, parseAuditSettings)
        const dest = audit.destination
        // A file path is beside the config file; stdout and none are words.
        if (dest !== undefined && dest !== 'stdout' && dest !== 'none' && dest !== '-') audit.destination = beside(dest)
        out.audit = audit
        break
      }
      case 'admin': {
        const tlsNode = isMap(value) ? value.get('tls', true) as Node | undefined : undefined
        // tls is read here, where paths are made relative to this file; parseAdminSettings skips it.
        const admin = section(value, key, parseAdminSettings)
        if (tlsNode !== undefined) {
          const tls = section(tlsNode, 'admin.tls', parseTlsSettings)
          admin.tls = { ...tls, cert: beside(tls.cert), key: beside(tls.key), ...(tls.clientCa === undefined ? {} : { clientCa: beside(tls.clientCa) }) }
        }
        if (admin.tokenFile !== undefined) admin.tokenFile = beside(admin.tokenFile)
        out.admin = admin
        break
      }
      default:
        fail(pair.key as Node, key, 'unknown setting (listen, upstream, policy, policyEngine, opa, authentication, rateLimits, tenancy, dangerouslyAllowUnauthenticatedTcp, limits, audit, admin)')
    }
  }
  return out

  function str (node: Node | null, key: string): string {
    if (!isScalar(node) || typeof node.value !== 'string' || node.value === '') return fail(node, key, 'expected a non-empty string')
    return node.value as string
  }

  /** A group or user: a name, or a numeric id that YAML reads as a number. */
  function nameOrId (node: Node | null, key: string): string {
    return isScalar(node) && typeof node.value === 'number' ? String(node.value) : str(node, key)
  }
}

const LIMIT_KEYS: ReadonlyArray<keyof Limits> = ['maxHeaderSize', 'headersTimeout', 'keepAliveTimeout', 'upgradeBodyLimit', 'maxBodySize', 'shutdownTimeout', 'upstreamResponseTimeout']
