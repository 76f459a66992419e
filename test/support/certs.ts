import { execFileSync } from 'node:child_process'
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

/** Paths of one certificate and its private key (PEM). */
export interface CertFiles { readonly cert: string, readonly key: string }

/** What a client certificate says about its holder. */
export interface ClientCertOptions {
  /** Several for a certificate with more than one CN. */
  readonly cn?: string | readonly string[]
  readonly o?: readonly string[]
  readonly ou?: readonly string[]
  /** subjectAltName entries as openssl writes them: `DNS:ci.example`, `URI:spiffe://x/y`, `email:a@b`. */
  readonly san?: readonly string[]
  /** Extended key usage; `clientAuth` unless told otherwise. */
  readonly eku?: string
  /** notBefore/notAfter as openssl's YYYYMMDDHHMMSSZ, for expired or not-yet-valid certificates. */
  readonly startDate?: string
  readonly endDate?: string
}

/** A throwaway PKI in a temp dir, made with the openssl CLI. */
export interface TestPki {
  readonly dir: string
  /** The CA the listener trusts for client certificates, and that signed the server certificate. */
  readonly ca: CertFiles
  /** For 127.0.0.1 and localhost (SAN IP and DNS), serverAuth. */
  readonly server: CertFiles
  /** CN=alice, O=acme, OU=dev and OU=ops, clientAuth. */
  readonly alice: CertFiles
  /** CN=bob, O=globex, OU=ci, SAN DNS/URI/email, clientAuth. */
  readonly bob: CertFiles
  /** A second CA the listener does not trust, and a client certificate it signed (CN=mallory). */
  readonly otherCa: CertFiles
  readonly otherClient: CertFiles
  /** Signed by `ca`, CN=old, valid in 2020 only. */
  readonly expiredClient: CertFiles
  /** Issues another certificate from `ca` (or the CA given). */
  issue: (name: string, options: ClientCertOptions, issuer?: CertFiles) => CertFiles
  /**
   * A directory as the docker CLI reads `$DOCKER_CERT_PATH`: `ca.pem` (the CA that signed the
   * server), `cert.pem` and `key.pem` (the client's).
   */
  dockerCertPath: (client: CertFiles, ca?: CertFiles) => string
  cleanup: () => void
}

/**
 * Makes a CA, a server certificate for 127.0.0.1/localhost, client certificates, a second CA with
 * its own client and an expired client, all EC P-256 (quick to generate).
 *
 * @example
 * const pki = makeTestPki()
 * t.after(pki.cleanup)
 * startListener(parseListenUrl('tls://127.0.0.1:0', { tls: { cert: pki.server.cert, key: pki.server.key, clientCa: pki.ca.cert } }), …)
 */
export function makeTestPki (): TestPki {
  const dir = mkdtempSync(join(tmpdir(), 'dw-pki-'))
  let serial = 1
  const path = (name: string): string => join(dir, name)
  const openssl = (...args: string[]): void => {
    execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] })
  }
  const newKey = (name: string): string => {
    const key = path(`${name}-key.pem`)
    openssl('genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', key)
    return key
  }
  const makeCa = (name: string, cn: string): CertFiles => {
    const key = newKey(name)
    const cert = path(`${name}.pem`)
    openssl('req', '-x509', '-new', '-key', key, '-out', cert, '-days', '30', '-subj', `/CN=${cn}`,
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign')
    return { cert, key }
  }
  const sign = (name: string, subject: string, extensions: string[], issuer: CertFiles, dates?: { start: string, end: string }): CertFiles => {
    const key = newKey(name)
    const csr = path(`${name}.csr`)
    const cert = path(`${name}.pem`)
    const ext = path(`${name}.ext`)
    openssl('req', '-new', '-key', key, '-out', csr, '-subj', subject)
    writeFileSync(ext, `[v3]\n${extensions.join('\n')}\n`)
    if (dates === undefined) {
      openssl('x509', '-req', '-in', csr, '-CA', issuer.cert, '-CAkey', issuer.key, '-set_serial', String(serial++),
        '-days', '30', '-out', cert, '-extfile', ext, '-extensions', 'v3')
    } else {
      // `openssl x509` of OpenSSL 3.0 cannot set dates in the past; `openssl ca` can.
      const db = path(`${name}-db`)
      mkdirSync(db)
      writeFileSync(join(db, 'index.txt'), '')
      writeFileSync(join(db, 'serial'), `${(serial++).toString(16).padStart(2, '0')}\n`)
      const conf = path(`${name}-ca.cnf`)
      writeFileSync(conf, [
        '[ca]', 'default_ca = dw', '[dw]', `dir = ${db}`, 'database = $dir/index.txt', 'serial = $dir/serial',
        'new_certs_dir = $dir', 'default_md = sha256', 'policy = any', 'unique_subject = no', 'copy_extensions = none',
        '[any]', 'commonName = supplied', 'organizationName = optional', 'organizationalUnitName = optional',
        `[v3]`, ...extensions, ''
      ].join('\n'))
      openssl('ca', '-batch', '-notext', '-config', conf, '-cert', issuer.cert, '-keyfile', issuer.key, '-in', csr, '-out', cert,
        '-startdate', dates.start, '-enddate', dates.end, '-extensions', 'v3', '-preserveDN')
    }
    return { cert, key }
  }

  const ca = makeCa('ca', 'dockward test CA')
  const otherCa = makeCa('other-ca', 'some other CA')
  const server = sign('server', '/CN=127.0.0.1', [
    'basicConstraints = CA:FALSE', 'keyUsage = critical, digitalSignature', 'extendedKeyUsage = serverAuth',
    'subjectAltName = IP:127.0.0.1, DNS:localhost'
  ], ca)
  const issue = (name: string, options: ClientCertOptions, issuer: CertFiles = ca): CertFiles => {
    const subject = [
      ...(options.cn === undefined ? [] : typeof options.cn === 'string' ? [`CN=${options.cn}`] : options.cn.map((cn) => `CN=${cn}`)),
      ...(options.o ?? []).map((o) => `O=${o}`),
      ...(options.ou ?? []).map((ou) => `OU=${ou}`)
    ]
    const extensions = ['basicConstraints = CA:FALSE', 'keyUsage = critical, digitalSignature', `extendedKeyUsage = ${options.eku ?? 'clientAuth'}`]
    if (options.san !== undefined && options.san.length > 0) extensions.push(`subjectAltName = ${options.san.join(', ')}`)
    // openssl needs some subject; a certificate that names its holder only in SANs gets an O.
    const subj = subject.length === 0 ? '/O=nameless' : `/${subject.join('/')}`
    const dates = options.startDate !== undefined || options.endDate !== undefined
      ? { start: options.startDate ?? '20200101000000Z', end: options.endDate ?? '20200102000000Z' }
      : undefined
    return sign(name, subj, extensions, issuer, dates)
  }
  const alice = issue('alice', { cn: 'alice', o: ['acme'], ou: ['dev', 'ops'] })
  const bob = issue('bob', { cn: 'bob', o: ['globex'], ou: ['ci'], san: ['DNS:ci.globex.example', 'URI:spiffe://globex.example/ci/runner', 'email:bob@globex.example'] })
  const otherClient = issue('mallory', { cn: 'mallory', o: ['acme'] }, otherCa)
  const expiredClient = issue('expired', { cn: 'old', startDate: '20200101000000Z', endDate: '20200102000000Z' })

  let dockerDirs = 0
  return {
    dir,
    ca,
    server,
    alice,
    bob,
    otherCa,
    otherClient,
    expiredClient,
    issue,
    dockerCertPath: (client, serverCa = ca) => {
      const d = path(`docker-${++dockerDirs}`)
      mkdirSync(d)
      copyFileSync(serverCa.cert, join(d, 'ca.pem'))
      copyFileSync(client.cert, join(d, 'cert.pem'))
      copyFileSync(client.key, join(d, 'key.pem'))
      return d
    },
    cleanup: () => rmSync(dir, { recursive: true, force: true })
  }
}
