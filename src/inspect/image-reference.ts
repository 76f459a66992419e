/**
 * Image references normalized the way the engine does it with the distribution reference library
 * (github.com/distribution/reference, normalize.go and regexp.go): familiar names get the
 * `docker.io` domain and the `library/` namespace, `index.docker.io` is `docker.io`, names must be
 * lower case. A reference the library refuses is returned as written: the engine refuses it too.
 */

// The grammar of regexp.go, as JavaScript sources. Every quantified part is delimited by
// characters it cannot contain, so matching stays linear.
const ALNUM = '[a-z0-9]+'
const SEPARATOR = '(?:[._]|__|[-]+)'
const PATH_COMPONENT = `${ALNUM}(?:${SEPARATOR}${ALNUM})*`
const REMOTE_NAME = `${PATH_COMPONENT}(?:/${PATH_COMPONENT})*`
const DOMAIN_COMPONENT = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])'
const DOMAIN_NAME = `${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*`
const HOST = `(?:${DOMAIN_NAME}|\\[(?:[a-fA-F0-9:]+)\\])`
const NAME = `(?:${HOST}(?::[0-9]+)?/)?${REMOTE_NAME}`
const TAG = '[\\w][\\w.-]{0,127}'
const DIGEST = '[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*[:][0-9A-Fa-f]{32,}'
const REFERENCE = new RegExp(`^(${NAME})(?::(${TAG}))?(?:@(${DIGEST}))?$`)
const ANCHORED_TAG = new RegExp(`^${TAG}$`)
const IDENTIFIER = /^[a-f0-9]{64}$/
// go-digest algorithms the engine has compiled in, and the length of their hex encoding.
const DIGEST_HEX_LENGTH: Readonly<Record<string, number>> = { sha256: 64, sha384: 96, sha512: 128 }
const NAME_TOTAL_LENGTH_MAX = 255
// Far above any valid reference (255 + 128 + a sha512 digest); bounds the regex work.
const MAX_REFERENCE_LENGTH = 1024

interface Reference {
  /** `domain/path`, as normalized. */
  readonly name: string
  readonly tag: string
  readonly digest: string
}

/** go-digest's `digest.Parse` succeeds: a known algorithm and lower-case hex of its length. */
function isValidDigest (s: string): boolean {
  const colon = s.indexOf(':')
  if (colon === -1) return false
  const length = DIGEST_HEX_LENGTH[s.slice(0, colon)]
  const hex = s.slice(colon + 1)
  return length !== undefined && hex.length === length && /^[a-f0-9]+$/.test(hex)
}

/** The library's `splitDockerDomain` (current rules; see the module comment). */
function splitDockerDomain (name: string): { domain: string, remainder: string } {
  const slash = name.indexOf('/')
  if (slash === -1) return { domain: 'docker.io', remainder: 'library/' + name }
  const first = name.slice(0, slash)
  const rest = name.slice(slash + 1)
  let domain: string
  let remainder: string
  if (first === 'localhost') [domain, remainder] = [first, rest]
  else if (first === 'index.docker.io') [domain, remainder] = ['docker.io', rest]
  else if (/[.:]/.test(first)) [domain, remainder] = [first, rest]
  // Upper case is not allowed in a namespace, so such a first element is taken for a domain.
  else if (first.toLowerCase() !== first) [domain, remainder] = [first, rest]
  else [domain, remainder] = ['docker.io', name]
  if (domain === 'docker.io' && !remainder.includes('/')) remainder = 'library/' + remainder
  return { domain, remainder }
}

/** `reference.ParseNormalizedNamed`, or null where it returns an error. */
function parseNormalizedNamed (s: string): Reference | null {
  if (s.length > MAX_REFERENCE_LENGTH || IDENTIFIER.test(s)) return null
  const { domain, remainder } = splitDockerDomain(s)
  const colon = remainder.indexOf(':')
  const remote = colon === -1 ? remainder : remainder.slice(0, colon)
  if (remote.toLowerCase() !== remote) return null
  const m = REFERENCE.exec(`${domain}/${remainder}`)
  if (m === null) return null
  const name = m[1]!
  const digest = m[3] ?? ''
  if (name.length > NAME_TOTAL_LENGTH_MAX) return null
  if (digest !== '' && !isValidDigest(digest)) return null
  return { name, tag: m[2] ?? '', digest }
}

function format (r: Reference): string {
  return r.name + (r.tag === '' ? '' : ':' + r.tag) + (r.digest === '' ? '' : '@' + r.digest)
}

/**
 * An image reference as the engine resolves it to a name: `busybox` →
 * `docker.io/library/busybox:latest`, `user/app` → `docker.io/user/app:latest`,
 * `localhost:5000/x` → `localhost:5000/x:latest`; a digest reference keeps its digest and gets no
 * tag, a reference with tag and digest keeps both. An image id (64 hex digits, or a digest such
 * as `sha256:<hex>`) and anything the library refuses are returned as written.
 *
 * Note: the engine looks a name up as a tag first and then as an id prefix, so a short hex string
 * such as `d1165f` normalizes to a Docker Hub name but may run a local image by id.
 *
 * @example normalizeImageRef('busybox') // 'docker.io/library/busybox:latest'
 */
export function normalizeImageRef (ref: string): string {
  if (IDENTIFIER.test(ref) || isValidDigest(ref)) return ref
  const r = parseNormalizedNamed(ref)
  if (r === null) return ref
  return format(r.tag === '' && r.digest === '' ? { ...r, tag: 'latest' } : r)
}

/**
 * What image create pulls for `fromImage` and `tag` (moby's postImagesCreate / PullImage): one
 * trailing `:` is dropped (`docker pull -a` sends it), a `tag` that is a digest replaces tag and
 * digest, any other `tag` replaces the tag. Without any tag or digest the engine pulls EVERY tag
 * of the repository, and the result is the bare name (`docker.io/library/busybox`).
 *
 * @example pullImageRef('busybox', '1.36') // 'docker.io/library/busybox:1.36'
 */
export function pullImageRef (fromImage: string, tag: string): string {
  const written = tag === '' ? fromImage : `${fromImage}:${tag}`
  const r = parseNormalizedNamed(fromImage.endsWith(':') ? fromImage.slice(0, -1) : fromImage)
  if (r === null) return written
  if (tag === '') return format(r)
  if (isValidDigest(tag)) return format({ name: r.name, tag: '', digest: tag })
  if (!ANCHORED_TAG.test(tag)) return written
  return format({ ...r, tag })
}

/**
 * The name an image gets from a `repo` and `tag` pair (commit, import, tag, and build `t` with an
 * empty `tag`), as moby's httputils.RepoTagReference and TagImage build it: `tag` replaces the
 * repository's own tag, `latest` when neither gives one. A digest in `repo` is refused by the
 * engine and returned as written.
 *
 * @example repoTagRef('user/app', 'v1') // 'docker.io/user/app:v1'
 */
export function repoTagRef (repo: string, tag: string): string {
  const written = tag === '' ? repo : `${repo}:${tag}`
  const r = parseNormalizedNamed(repo)
  if (r === null) return written
  if (tag !== '') return ANCHORED_TAG.test(tag) ? format({ name: r.name, tag, digest: '' }) : written
  if (r.digest !== '') return written
  return format({ ...r, tag: r.tag === '' ? 'latest' : r.tag })
}

/**
 * Whether the engine reads `ref` as an image name (`reference.ParseNormalizedNamed` succeeds).
 *
 * @example isImageName('docker.io/library/busybox:latest') // true
 * @example isImageName('victim:zzz:latest') // false
 */
export function isImageName (ref: string): boolean {
  return parseNormalizedNamed(ref) !== null
}

// Text the engine's image store may read as an id or id prefix (go-digest: bare hex, or a sha256
// digest cut short). Any other text it reads as a name only.
const ID_PREFIX = /^(?:sha256:)?[0-9a-f]{1,64}$/

/**
 * Text the engine can only read as the image `id` that `ref` resolved to when it was checked.
 * The engine reads a reference as a name first and, for hex text, then as an id prefix: if the
 * name is gone by the time the engine reads the client's text (untagged in between), the same
 * text may be a prefix of another image's id. Hex that named the image by id becomes the full id
 * (what the engine's own "is this an id prefix" test would find too); hex that was a name becomes
 * the name qualified and tagged (`docker.io/library/f9:latest`), which is never an id prefix.
 * Other names are kept as written, or qualified and tagged with `qualify` (an image export of a
 * name without a tag exports every tag of its repository).
 *
 * @example exactImageRef('f9', 'sha256:f9b7…') // 'sha256:f9b7…'
 * @example exactImageRef('f9', 'sha256:0c1d…') // 'docker.io/library/f9:latest'
 * @example exactImageRef('app', 'sha256:0c1d…', true) // 'docker.io/library/app:latest'
 */
export function exactImageRef (ref: string, id: string, qualify = false): string {
  if (ID_PREFIX.test(ref)) {
    const hex = ref.startsWith('sha256:') ? ref.slice('sha256:'.length) : ref
    return id.startsWith(`sha256:${hex}`) ? id : normalizeImageRef(ref)
  }
  return qualify ? normalizeImageRef(ref) : ref
}
