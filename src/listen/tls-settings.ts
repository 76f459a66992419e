import { constants as cryptoConstants, createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto'
import { readFileSync } from 'node:fs'
import tls from 'node:tls'
import { ConfigError } from '../core/errors.ts'

/**
 * A TLS listener's files, as `dockerd --tlsverify` takes them. `clientCa` present means client
 * certificates are requested and verified against it; whether a request without one is let in is
 * for the authenticators to decide (another method may identify it).
 */
export interface TlsSettings {
  /** PEM certificate, optionally followed by its intermediates. */
  readonly cert: string
  /** PEM private key of `cert`, unencrypted. */
  readonly key: string
  /** PEM bundle of the CAs that sign client certificates. */
  readonly clientCa?: string
  readonly minVersion?: 'TLSv1.2' | 'TLSv1.3'
}

const KEYS = ['cert', 'key', 'clientCa', 'minVersion']
const VERSIONS = ['TLSv1.2', 'TLSv1.3'] as const

/**
 * Reads a listener's `tls` mapping; errors name the key under `where`.
 *
 * @example parseTlsSettings({ cert: '/etc/dockward/server.pem', key: '/etc/dockward/server-key.pem', clientCa: '/etc/dockward/ca.pem' }, 'listen[0].tls')
 */
export function parseTlsSettings (raw: unknown, where: string): TlsSettings {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new ConfigError(`${where}: expected a mapping with ${KEYS.join(', ')}`)
  }
  const obj = raw as Record<string, unknown>
  for (const key of Object.keys(obj)) {
    if (!KEYS.includes(key)) throw new ConfigError(`${where}.${key}: unknown setting (${KEYS.join(', ')})`)
  }
  const path = (key: string): string => {
    const v = obj[key]
    if (typeof v !== 'string' || v === '') throw new ConfigError(`${where}.${key}: expected a file path`)
    return v
  }
  const settings: { -readonly [K in keyof TlsSettings]: TlsSettings[K] } = { cert: path('cert'), key: path('key') }
  if (obj.clientCa !== undefined && obj.clientCa !== null) settings.clientCa = path('clientCa')
  if (obj.minVersion !== undefined && obj.minVersion !== null) {
    const v = obj.minVersion
    if (!VERSIONS.includes(v as typeof VERSIONS[number])) {
      throw new ConfigError(`${where}.minVersion: expected ${VERSIONS.join(' or ')}`)
    }
    settings.minVersion = v as typeof VERSIONS[number]
  }
  return Object.freeze(settings)
}

/**
 * Reads the files of `settings` into options for `tls.createServer` / `setSecureContext`, and
 * checks them first, so a wrong path or a key of another certificate is a clear start-up (or
 * reload) error instead of OpenSSL's words on the first handshake.
 *
 * @example tls.createServer({ ...loadSecureContextOptions(settings), requestCert: true })
 */
export function loadSecureContextOptions (settings: TlsSettings): tls.SecureContextOptions {
  const certPem = read(settings.cert, 'certificate')
  const keyPem = read(settings.key, 'private key')
  let cert: X509Certificate
  try {
    cert = new X509Certificate(certPem)
  } catch {
    throw new ConfigError(`TLS certificate ${settings.cert}: no PEM certificate in the file`)
  }
  let key: KeyObject
  try {
    key = createPrivateKey(keyPem)
  } catch (err) {
    // PKCS#8 and the traditional form; OpenSSL reports a missing passphrase in several ways.
    const encrypted = (err as NodeJS.ErrnoException).code === 'ERR_MISSING_PASSPHRASE' ||
      /-----BEGIN ENCRYPTED PRIVATE KEY-----|Proc-Type: 4,ENCRYPTED/.test(keyPem.toString('latin1'))
    throw new ConfigError(encrypted
      ? `TLS private key ${settings.key} is encrypted; dockward needs it unencrypted (openssl pkey -in … -out …)`
      : `TLS private key ${settings.key}: no PEM private key in the file`)
  }
  if (!cert.checkPrivateKey(key)) {
    throw new ConfigError(`TLS private key ${settings.key} does not belong to the certificate in ${settings.cert}`)
  }
  const options: tls.SecureContextOptions = {
    cert: certPem,
    key: keyPem,
    minVersion: settings.minVersion ?? 'TLSv1.2'
  }
  if (settings.clientCa !== undefined) {
    const caPem = read(settings.clientCa, 'client CA bundle')
    const blocks = caPem.toString('latin1').match(/-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g) ?? []
    if (blocks.length === 0) throw new ConfigError(`TLS client CA bundle ${settings.clientCa}: no PEM certificate in the file`)
    for (const [i, block] of blocks.entries()) {
      try {
        void new X509Certificate(block)
      } catch {
        throw new ConfigError(`TLS client CA bundle ${settings.clientCa}: certificate ${i + 1} cannot be read`)
      }
    }
    options.ca = caPem
  }
  try {
    // Whatever else OpenSSL objects to (an unsupported key type, say) shows here and not per connection.
    tls.createSecureContext(options)
  } catch (err) {
    throw new ConfigError(`TLS settings (${settings.cert}, ${settings.key}): ${(err as Error).message}`)
  }
  return options
}

function read (path: string, what: string): Buffer {
  try {
    return readFileSync(path)
  } catch (err) {
    throw new ConfigError(`cannot read TLS ${what} ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`)
  }
}

/**
 * The options a TLS server gets at start and on every reload, for the proxied listeners and the
 * admin API alike: setSecureContext() resets what it is not given. A new context also has new
 * session ticket keys, so sessions from before a reload (verified against the old client CAs)
 * are not resumed after it.
 */
export function secureContextOptions (settings: TlsSettings): tls.SecureContextOptions {
  return {
    ...loadSecureContextOptions(settings),
    // Client certificates are only ever checked in the first handshake; no renegotiation.
    secureOptions: cryptoConstants.SSL_OP_NO_RENEGOTIATION
  }
}
