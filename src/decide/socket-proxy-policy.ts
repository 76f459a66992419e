import { readFileSync } from 'node:fs'
import { Document, isMap, isScalar, isSeq, parseDocument, visit } from 'yaml'
import { ConfigError } from '../core/errors.ts'
import { routeTable, type HttpMethod } from '../route/route-table.ts'

/**
 * dockward's drop-in mode for users of Tecnativa's HAProxy-based docker-socket-proxy: the same
 * environment variables, turned into a dockward policy at start-up. The two rule sets are that
 * project's `haproxy.cfg` (released images, `classic`) and its templated configuration on the
 * master branch (`granular`: per-method toggles and per-subpath `ALLOW_*` gates). Sources:
 * Tecnativa/docker-socket-proxy `haproxy.cfg`, `Dockerfile` (defaults) and
 * `system_files/usr/local/etc/haproxy/haproxy.cfg.template`.
 */
export type SocketProxyVariant = 'classic' | 'granular'

/** The policy names that select this mode, for `--policy` and `policy:`. */
export const SOCKET_PROXY_POLICIES: Readonly<Record<string, SocketProxyVariant>> = {
  'socket-proxy-env': 'classic',
  'socket-proxy-env-granular': 'granular'
}

/**
 * The API sections: a variable grants the routes whose first path segment is its name in lower
 * case (`CONTAINERS` → `/containers/…`), except PING (`/_ping`). EVENTS, PING and VERSION are on
 * unless set, as the upstream image's `ENV` has it; every other variable is off.
 */
export const SOCKET_PROXY_SECTIONS = [
  'AUTH', 'BUILD', 'COMMIT', 'CONFIGS', 'CONTAINERS', 'DISTRIBUTION', 'EVENTS', 'EXEC', 'GRPC',
  'IMAGES', 'INFO', 'NETWORKS', 'NODES', 'PING', 'PLUGINS', 'SECRETS', 'SERVICES', 'SESSION',
  'SWARM', 'SYSTEM', 'TASKS', 'VERSION', 'VOLUMES'
] as const

const ON_BY_DEFAULT = new Set(['EVENTS', 'PING', 'VERSION'])

/** Operations a container-action variable allows on its own (with the method allowed). */
const ACTIONS: Readonly<Record<string, readonly string[]>> = {
  // haproxy.cfg: `/containers/[a-zA-Z0-9_.-]+/((stop)|(restart)|(kill))`
  ALLOW_RESTARTS: ['ContainerStop', 'ContainerRestart', 'ContainerKill'],
  ALLOW_START: ['ContainerStart'],
  ALLOW_STOP: ['ContainerStop'],
  // granular only
  ALLOW_PAUSE: ['ContainerPause'],
  ALLOW_UNPAUSE: ['ContainerUnpause']
}

/**
 * Granular only: container sub-paths that stay denied, even with CONTAINERS=1 or ALLOW_RESTARTS=1,
 * unless their own variable is on. These deny rules come before every allow in the template.
 */
const GATES: Readonly<Record<string, readonly string[]>> = {
  ALLOW_EXEC: ['ContainerExec'],
  ALLOW_KILL: ['ContainerKill'],
  ALLOW_ATTACH: ['ContainerAttach', 'ContainerAttachWebsocket'],
  ALLOW_ARCHIVE: ['ContainerArchive', 'ContainerArchiveInfo', 'PutContainerArchive'],
  ALLOW_EXPORT: ['ContainerExport'],
  ALLOW_LOGS: ['ContainerLogs']
}

/** Granular only: methods other than GET and HEAD, each with its own variable. */
const METHOD_VARIABLES: Readonly<Record<SocketProxyVariant, Readonly<Record<string, readonly HttpMethod[]>>>> = {
  // `http-request deny unless METH_GET || { env(POST) -m bool }`: POST opens every method.
  classic: { POST: ['POST', 'PUT', 'DELETE'] },
  granular: { POST: ['POST'], PUT: ['PUT'], DELETE: ['DELETE'], PATCH: [] }
}

const GRANULAR_ONLY = ['PUT', 'DELETE', 'PATCH', ...Object.keys(GATES), 'ALLOW_PAUSE', 'ALLOW_UNPAUSE']

/** Variables of docker-socket-proxy's image that configure HAProxy, not permissions (SOCKET_PATH is read: see config.ts). */
const NOT_PERMISSIONS: Readonly<Record<string, string>> = {
  LOG_LEVEL: 'dockward logs start-up, reloads and refusals on stderr',
  DISABLE_IPV6: 'choose the address with --listen',
  BIND_CONFIG: 'choose the address with --listen'
}

/** What a variable was set to and how HAProxy reads it. */
export interface SocketProxyValue {
  readonly name: string
  /** The text in the environment, or undefined when unset (then the default applies). */
  readonly raw: string | undefined
  readonly on: boolean
}

/** The variables as read, and what deserves a loud line at start-up. */
export interface SocketProxySettings {
  readonly variant: SocketProxyVariant
  readonly values: readonly SocketProxyValue[]
  readonly warnings: readonly string[]
}

/**
 * HAProxy's `env(X) -m bool`: an unset variable is false; a set one is cast to an integer the way
 * `c_str2int`/`read_int64` do (an optional sign, then leading digits; no digit at all is 0) and is
 * true when that is not 0. So `1`, `2` and `1yes` are on; `0`, `''`, `true` and `yes` are off.
 *
 * @example haproxyBool('true') // false
 */
export function haproxyBool (raw: string | undefined): boolean {
  if (raw === undefined) return false
  const m = /^[+-]?(\d+)/.exec(raw)
  return m !== null && /[1-9]/.test(m[1]!)
}

/**
 * Reads docker-socket-proxy's variables from an environment. Throws a ConfigError when a variable
 * of the granular rules is set while the classic rules are in force: its meaning (deny a subpath
 * or a method) cannot be honoured there, and ignoring it would allow what the operator denied.
 *
 * @example readSocketProxyEnv({ CONTAINERS: '1' }, 'classic').values.find((v) => v.name === 'CONTAINERS')?.on // true
 */
export function readSocketProxyEnv (env: NodeJS.ProcessEnv, variant: SocketProxyVariant): SocketProxySettings {
  if (variant === 'classic') {
    const granular = GRANULAR_ONLY.filter((n) => env[n] !== undefined)
    if (granular.length > 0) {
      throw new ConfigError(`policy socket-proxy-env: ${granular.join(', ')} ${granular.length === 1 ? 'is a variable' : 'are variables'} of docker-socket-proxy's granular rules, which the classic rules cannot honour; use --policy socket-proxy-env-granular`)
    }
  }
  const names = [
    ...SOCKET_PROXY_SECTIONS,
    ...Object.keys(METHOD_VARIABLES[variant]),
    ...Object.keys(ACTIONS).filter((n) => variant === 'granular' || !GRANULAR_ONLY.includes(n)),
    ...(variant === 'granular' ? Object.keys(GATES) : [])
  ]
  const warnings: string[] = []
  const values = names.map((name): SocketProxyValue => {
    const raw = env[name]
    const on = raw === undefined ? ON_BY_DEFAULT.has(name) : haproxyBool(raw)
    // HAProxy reads `true` or `yes` as off; same decision here, but say so, since it surprises.
    if (raw !== undefined && !/^[+-]?\d+$/.test(raw)) {
      warnings.push(`${name}=${JSON.stringify(raw)} is read as ${on ? 'on' : 'off'}, as docker-socket-proxy (HAProxy) reads it; write 1 or 0`)
    }
    return { name, raw, on }
  })
  for (const [name, instead] of Object.entries(NOT_PERMISSIONS)) {
    if (env[name] !== undefined) warnings.push(`${name} configures docker-socket-proxy's HAProxy and is not read by dockward: ${instead}`)
  }
  // Forks and intermediate versions of that project have more switches (ALLOW_DELETE,
  // CONTAINERS_DELETE, …). One set to deny something must not pass unnoticed.
  const known = new Set([...names, ...GRANULAR_ONLY, ...Object.keys(NOT_PERMISSIONS)])
  for (const name of Object.keys(env).sort()) {
    if (known.has(name) || !/^(ALLOW_[A-Z0-9_]+|[A-Z0-9]+_(DELETE|POST|PUT|PATCH|GET|HEAD))$/.test(name)) continue
    warnings.push(`${name} is not a variable of docker-socket-proxy's ${variant} rules and is ignored: what it was meant to allow or deny is decided by the variables listed in the README`)
  }
  return { variant, values, warnings }
}

/** The route's first path segment as docker-socket-proxy names it (`/_ping` → PING). */
function sectionOf (template: string): string {
  const first = template.split('/')[1]!
  return first === '_ping' ? 'PING' : first.toUpperCase()
}

interface Rule {
  readonly id: string
  readonly allow?: string
  readonly deny?: string
  readonly match?: Record<string, unknown>
}

/**
 * The policy source (dockward's YAML policy language) for these settings: the rules decide every
 * request exactly as docker-socket-proxy would, and in front of them come the host-escape denials
 * of the shipped `default` policy (every deny rule there that tests facts or the query), which
 * docker-socket-proxy cannot make because it never reads a body. The text is deterministic, so
 * its digest names the settings.
 *
 * @example socketProxyPolicySource(readSocketProxyEnv(process.env, 'classic'), 'policies/default.yaml')
 */
export function socketProxyPolicySource (settings: SocketProxySettings, defaultPolicyFile: string): string {
  const on = new Map(settings.values.map((v) => [v.name, v.on]))
  const isOn = (name: string): boolean => on.get(name) === true
  const methods = new Set<string>(['GET', 'HEAD'])
  for (const [name, list] of Object.entries(METHOD_VARIABLES[settings.variant])) {
    if (isOn(name)) for (const m of list) methods.add(m)
  }
  const routes = routeTable.map((r) => ({ op: r.operation, method: r.method, section: sectionOf(r.template) }))
  const opsWhere = (test: (r: typeof routes[number]) => boolean): string[] => [...new Set(routes.filter(test).map((r) => r.op))]
  const setting = (name: string): string => `${name}=${isOn(name) ? 1 : 0}`

  const rules: Rule[] = []
  const closed = opsWhere((r) => !methods.has(r.method))
  if (closed.length > 0) {
    const offs = Object.keys(METHOD_VARIABLES[settings.variant]).filter((n) => !isOn(n))
    rules.push({
      id: 'socket-proxy-method',
      deny: `${[...new Set(closed.map((op) => routes.find((r) => r.op === op)!.method))].join(', ')} requests are off (${offs.map((n) => `${n}=0`).join(', ')}); docker-socket-proxy allows ${[...methods].join(', ')}`,
      match: { operations: closed }
    })
  }
  if (settings.variant === 'granular') {
    for (const [name, ops] of Object.entries(GATES)) {
      if (isOn(name)) continue
      rules.push({ id: `socket-proxy-${kebab(name)}`, deny: `${name}=0: docker-socket-proxy denies this even with CONTAINERS=1`, match: { operations: ops } })
    }
  }
  rules.push(...hostEscapeRules(defaultPolicyFile))
  for (const section of SOCKET_PROXY_SECTIONS) {
    const ops = opsWhere((r) => r.section === section && methods.has(r.method))
    if (isOn(section) && ops.length > 0) rules.push({ id: `socket-proxy-${kebab(section)}`, allow: `${setting(section)}: docker-socket-proxy's ${pathOf(section)} section`, match: { operations: ops } })
  }
  for (const [name, list] of Object.entries(ACTIONS)) {
    if (!on.has(name) || !isOn(name)) continue
    const ops = list.filter((op) => routes.some((r) => r.op === op && methods.has(r.method)))
    if (ops.length > 0) rules.push({ id: `socket-proxy-${kebab(name)}`, allow: setting(name), match: { operations: ops } })
  }
  // Not needed for the decision (default-deny would refuse these too), but a reason that names the
  // variable tells the operator what to turn on.
  for (const section of SOCKET_PROXY_SECTIONS) {
    if (isOn(section)) continue
    rules.push({ id: `socket-proxy-${kebab(section)}-off`, deny: `${setting(section)}: docker-socket-proxy's ${pathOf(section)} section is off`, match: { operations: opsWhere((r) => r.section === section) } })
  }

  const header = [
    `Generated by dockward from docker-socket-proxy's environment variables (${settings.variant} rules).`,
    'The socket-proxy-* rules decide like docker-socket-proxy; the deny-* rules before them are the',
    "host-escape denials of dockward's default policy, which dockward adds in this mode.",
    '',
    ...settings.values.map((v) => `${v.name}=${v.on ? 1 : 0}${v.raw === undefined ? ' (unset: default)' : v.raw === String(Number(v.on)) ? '' : ` (set to ${JSON.stringify(v.raw)})`}`)
  ]
  const doc = new Document({ policy: settings.variant === 'classic' ? 'socket-proxy-env' : 'socket-proxy-env-granular', version: 1, mode: 'enforce', rules })
  // Lists of names on one line, as the shipped policies write them.
  visit(doc, { Seq: (_, node) => { if (node.items.every((i) => isScalar(i))) node.flow = true } })
  const body = doc.toString({ lineWidth: 0, flowCollectionPadding: false })
  return `${header.map((l) => l === '' ? '#' : `# ${l}`).join('\n')}\n\n${body}`
}

/** The deny rules of the default policy that look at facts or the query, as plain data. */
function hostEscapeRules (file: string): Rule[] {
  const doc = parseDocument(readFileSync(file, 'utf8'))
  const rules = doc.get('rules')
  if (!isSeq(rules)) throw new ConfigError(`${file}: no rules to take the host-escape denials from`)
  const out: Rule[] = []
  for (const item of rules.items) {
    if (!isMap(item) || !item.has('deny')) continue
    const match = item.get('match')
    if (!isMap(match) || !(match.has('facts') || match.has('query'))) continue
    out.push(item.toJSON() as Rule)
  }
  return out
}

function pathOf (section: string): string {
  return section === 'PING' ? '/_ping' : `/${section.toLowerCase()}`
}

function kebab (name: string): string {
  return name.toLowerCase().replaceAll('_', '-')
}
