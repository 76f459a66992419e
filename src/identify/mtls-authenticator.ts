import type { IncomingMessage } from 'node:http'
import { TLSSocket, type PeerCertificate } from 'node:tls'
import { ConfigError } from '../core/errors.ts'
import type { AuthOutcome, Authenticator } from './authenticator.ts'
import { labelProblem } from './label.ts'
import { objectWithKeys, parseIdentityFields } from './fixed-identity.ts'
import type { Identity } from './identity.ts'

/**
 * Client certificates, as `docker --tlsverify` presents them. The TLS listener asks for one and
 * verifies it against the listener's client CAs, but lets every handshake complete; this reads the
 * verdict. A name comes from one field of a verified certificate, never from anything unverified.
 */

/** The certificate field that names the caller. */
export type MtlsNameField = 'cn' | 'san-dns' | 'san-uri' | 'san-email'
/** A subject attribute to take the tenant or the groups from. */
export type SubjectField = 'o' | 'ou'

/** Tenant and groups of one name, set explicitly. */
export interface MtlsIdentityEntry {
  readonly tenant?: string | null
  readonly groups?: readonly string[]
}

export interface MtlsSettings {
  /** Default `cn`. For SANs the first entry of that kind is the name. */
  readonly name?: MtlsNameField
  /** Default null: no tenant (the certificate must hold exactly one value when set). */
  readonly tenantFrom?: SubjectField | null
  /** Default null: no groups. Every value of the attribute is a group. */
  readonly groupsFrom?: SubjectField | null
  /** By name; an entry wins as a whole over tenantFrom and groupsFrom. */
  readonly identities?: Readonly<Record<string, MtlsIdentityEntry>>
}

const NAME_FIELDS: readonly MtlsNameField[] = ['cn', 'san-dns', 'san-uri', 'san-email']
const SUBJECT_FIELDS: readonly SubjectField[] = ['o', 'ou']
const SAN_TYPE: Record<Exclude<MtlsNameField, 'cn'>, string> = { 'san-dns': 'DNS', 'san-uri': 'URI', 'san-email': 'email' }
const ABSENT: AuthOutcome = Object.freeze({ kind: 'absent' })

/**
 * Reads the `mtls` settings; a missing mapping means all defaults (the CN names the caller).
 *
 * @example parseMtlsSettings({ name: 'cn', groupsFrom: 'ou', identities: { alice: { tenant: 'acme' } } }, 'identity.mtls')
 */
export function parseMtlsSettings (raw: unknown, where: string): MtlsSettings {
  if (raw === undefined || raw === null) return Object.freeze({ name: 'cn', tenantFrom: null, groupsFrom: null, identities: Object.freeze({}) })
  const obj = objectWithKeys(raw, where, ['name', 'tenantFrom', 'groupsFrom', 'identities'])
  const oneOf = <T extends string>(value: unknown, allowed: readonly T[], key: string): T => {
    if (!allowed.includes(value as T)) throw new ConfigError(`${where}.${key}: expected one of ${allowed.join(', ')}`)
    return value as T
  }
  const name = obj.name === undefined ? 'cn' : oneOf(obj.name, NAME_FIELDS, 'name')
  const tenantFrom = obj.tenantFrom === undefined || obj.tenantFrom === null ? null : oneOf(obj.tenantFrom, SUBJECT_FIELDS, 'tenantFrom')
  const groupsFrom = obj.groupsFrom === undefined || obj.groupsFrom === null ? null : oneOf(obj.groupsFrom, SUBJECT_FIELDS, 'groupsFrom')
  const identities: Record<string, MtlsIdentityEntry> = {}
  if (obj.identities !== undefined && obj.identities !== null) {
    const map = obj.identities
    if (typeof map !== 'object' || Array.isArray(map)) {
      throw new ConfigError(`${where}.identities: expected a mapping of certificate names to { tenant, groups }`)
    }
    for (const [key, value] of Object.entries(map)) {
      const at = `${where}.identities.${key}`
      if (!isLabel(key)) throw new ConfigError(`${where}.identities: ${JSON.stringify(key)} has control characters, format or invisible characters, or surrounding spaces`)
      const entry = objectWithKeys(value ?? {}, at, ['tenant', 'groups'])
      // The key is the name; the shared checks (no control characters, no duplicate groups) apply to it too.
      const fields = parseIdentityFields({ ...entry, name: key }, at)
      identities[key] = Object.freeze({ tenant: fields.tenant, groups: fields.groups })
    }
  }
  return Object.freeze({ name, tenantFrom, groupsFrom, identities: Object.freeze(identities) })
}

/**
 * Identifies a request by the client certificate of its TLS connection: none (or not TLS) is
 * `absent`, one that did not verify (another CA, expired, not for client auth) or lacks the name
 * field is `rejected`, a verified one is `identified`.
 *
 * @example createMtlsAuthenticator({ name: 'cn', groupsFrom: 'ou' }).authenticate(req) // { kind: 'identified', identity: { name: 'alice', groups: ['dev'], … } }
 */
export function createMtlsAuthenticator (settings: MtlsSettings): Authenticator {
  const nameField = settings.name ?? 'cn'
  const tenantFrom = settings.tenantFrom ?? null
  const groupsFrom = settings.groupsFrom ?? null
  // A Map, so a certificate named `constructor` or `__proto__` finds nothing it should not.
  const identities = new Map(Object.entries(settings.identities ?? {}))
  // The certificate cannot change during a connection (renegotiation is off), so one answer per socket.
  const bySocket = new WeakMap<TLSSocket, AuthOutcome>()

  const judge = (socket: TLSSocket): AuthOutcome => {
    const cert = socket.getPeerCertificate()
    if (cert === null || cert === undefined || Object.keys(cert).length === 0) return ABSENT
    if (!socket.authorized) {
      return rejected(`client certificate ${describe(cert)} not accepted: ${String(socket.authorizationError ?? 'not verified')}`)
    }
    const name = certificateName(cert, nameField)
    if (typeof name !== 'string') return rejected(`client certificate ${describe(cert)}: ${name.problem}`)
    const explicit = identities.get(name)
    let tenant: string | null = null
    let groups: readonly string[] = []
    if (explicit !== undefined) {
      tenant = explicit.tenant ?? null
      groups = explicit.groups ?? []
    } else {
      if (tenantFrom !== null) {
        const values = subjectValues(cert, tenantFrom)
        if (values.length !== 1) return rejected(`client certificate ${describe(cert)}: tenantFrom ${tenantFrom} needs exactly one ${tenantFrom.toUpperCase()}, found ${values.length}`)
        tenant = values[0]!
      }
      if (groupsFrom !== null) groups = [...new Set(subjectValues(cert, groupsFrom))]
      const bad = [tenant, ...groups].find((v) => v !== null && !isLabel(v))
      if (bad !== undefined) return rejected(`client certificate ${describe(cert)}: ${JSON.stringify(bad)} cannot be a tenant or group`)
    }
    const identity: Identity = Object.freeze({ name, tenant, groups: Object.freeze([...groups]), method: 'mtls' })
    return Object.freeze({ kind: 'identified', identity })
  }

  return Object.freeze({
    method: 'mtls',
    authenticate: (req: IncomingMessage): AuthOutcome => {
      const socket = req.socket
      if (!(socket instanceof TLSSocket)) return ABSENT
      let outcome = bySocket.get(socket)
      if (outcome === undefined) {
        outcome = judge(socket)
        bySocket.set(socket, outcome)
      }
      return outcome
    }
  })
}

function rejected (reason: string): AuthOutcome {
  return Object.freeze({ kind: 'rejected', reason })
}

/** The name, or why the certificate has none usable. */
function certificateName (cert: PeerCertificate, field: MtlsNameField): string | { problem: string } {
  let values: string[]
  if (field === 'cn') {
    values = asList(cert.subject?.CN)
    // Two CNs: which one is meant is a guess, and guessing names is how impersonation starts.
    if (values.length > 1) return { problem: 'has more than one CN' }
  } else {
    const san = parseSubjectAltName(cert.subjectaltname ?? '')
    if (san === null) return { problem: 'subjectAltName cannot be read' }
    values = san.filter((e) => e.type === SAN_TYPE[field]).map((e) => e.value)
  }
  const name = values[0]
  if (name === undefined) return { problem: `has no ${field === 'cn' ? 'CN' : `${SAN_TYPE[field]} subjectAltName`}` }
  if (!isLabel(name)) return { problem: `name ${JSON.stringify(name)} has control characters, format or invisible characters, or surrounding spaces` }
  return name
}

/**
 * Node's `subjectaltname` string: `DNS:a, URI:spiffe://x/y, email:b@c`; a value with characters
 * that would make this ambiguous (`,`, `"`) is written as a JSON string. Null when it does not
 * parse, so nothing is ever half-read.
 *
 * @example parseSubjectAltName('DNS:a.example, URI:"http://x/a\\u002cb"') // [{ type: 'DNS', value: 'a.example' }, { type: 'URI', value: 'http://x/a,b' }]
 */
export function parseSubjectAltName (text: string): Array<{ type: string, value: string }> | null {
  const out: Array<{ type: string, value: string }> = []
  const entry = /([^:,"]+):("(?:[^"\\]|\\.)*"|[^,"]*)(?:, |$)/y
  while (entry.lastIndex < text.length) {
    const start = entry.lastIndex
    const m = entry.exec(text)
    if (m === null || m.index !== start) return null
    let value = m[2]!
    if (value.startsWith('"')) {
      try {
        value = JSON.parse(value) as string
      } catch {
        return null
      }
    }
    out.push({ type: m[1]!, value })
    // A separator promises another entry.
    if (entry.lastIndex === text.length && m[0].endsWith(', ')) return null
  }
  return out
}

function subjectValues (cert: PeerCertificate, field: SubjectField): string[] {
  return asList(field === 'o' ? cert.subject?.O : cert.subject?.OU)
}

// Node gives an attribute that occurs more than once (two OUs) as an array.
function asList (value: string | string[] | undefined): string[] {
  return value === undefined ? [] : Array.isArray(value) ? value : [value]
}

// What policies match on and logs print: nothing invisible, no padding.
function isLabel (value: string): boolean {
  return labelProblem(value) === null
}

// For log lines: the subject, with nothing that could forge a line.
function describe (cert: PeerCertificate): string {
  const parts: string[] = []
  for (const key of ['CN', 'O', 'OU'] as const) {
    for (const v of asList(cert.subject?.[key])) parts.push(`${key}=${v}`)
  }
  return JSON.stringify(parts.length === 0 ? '(empty subject)' : parts.join(','))
}
