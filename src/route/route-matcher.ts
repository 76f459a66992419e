import type { HttpMethod, RouteSpec } from './route-table.ts'
import { upgradeByOperation, type UpgradeProtocol } from './hijack-routes.ts'

/** The operation a request names, with its decoded path parameters. */
export interface RouteMatch {
  readonly operation: string
  readonly route: RouteSpec
  readonly params: Readonly<Record<string, string>>
  /** The protocol this operation may upgrade to, or null when it never switches protocols. */
  readonly upgrade: UpgradeProtocol | null
}

export type RouteMatcher = (method: string, path: string) => RouteMatch | null

interface PatternRoute {
  readonly route: RouteSpec
  readonly regex: RegExp
  readonly names: readonly string[]
  readonly literalLength: number
}

const NO_PARAMS: Readonly<Record<string, string>> = Object.freeze({})

/**
 * Compiles the route table into a matcher. Literal templates are a Map lookup (the hot routes:
 * `/_ping`, `/version`, `/containers/json`); templates with parameters are regexes grouped by
 * method and first segment, tried most-literal first so `/images/json` never reads as an image
 * named "json" would.
 *
 * @example createRouteMatcher(routeTable)('GET', '/images/library/busybox:latest/json')
 * // { operation: 'ImageInspect', params: { name: 'library/busybox:latest' }, ... }
 */
export function createRouteMatcher (table: readonly RouteSpec[]): RouteMatcher {
  const literal = new Map<string, RouteMatch>()
  const patterns = new Map<string, PatternRoute[]>()

  for (const route of table) {
    const upgrade = upgradeByOperation.get(route.operation) ?? null
    if (!route.template.includes('{')) {
      literal.set(`${route.method} ${route.template}`, Object.freeze({ operation: route.operation, route, params: NO_PARAMS, upgrade }))
      continue
    }
    const names: string[] = []
    const source = route.template.replace(/[.*+?^$()|[\]\\]|\{([A-Za-z_][A-Za-z0-9_]*)(\*?)\}/g, (m, name: string | undefined, multi: string) => {
      if (name === undefined) return '\\' + m
      names.push(name)
      // `{name*}` spans segments (image, plugin and distribution names hold '/'); others are one segment.
      return multi === '*' ? '(.+)' : '([^/]+)'
    })
    const key = `${route.method} ${firstSegment(route.template)}`
    const list = patterns.get(key) ?? []
    list.push({ route, regex: new RegExp(`^${source}$`), names, literalLength: route.template.replace(/\{[^}]*\}/g, '').length })
    patterns.set(key, list)
  }
  for (const list of patterns.values()) list.sort((a, b) => b.literalLength - a.literalLength)

  return function matchRoute (method: string, path: string): RouteMatch | null {
    const hit = literal.get(`${method} ${path}`)
    if (hit !== undefined) return hit
    const list = patterns.get(`${method} ${firstSegment(path)}`)
    if (list === undefined) return null
    for (const p of list) {
      const m = p.regex.exec(path)
      if (m === null) continue
      const params: Record<string, string> = {}
      for (let i = 0; i < p.names.length; i++) params[p.names[i]!] = m[i + 1]!
      return { operation: p.route.operation, route: p.route, params, upgrade: upgradeByOperation.get(p.route.operation) ?? null }
    }
    return null
  }
}

function firstSegment (path: string): string {
  const end = path.indexOf('/', 1)
  return end === -1 ? path : path.slice(0, end)
}

export type { HttpMethod }
