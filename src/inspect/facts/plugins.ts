import { formValue, type GoQuery } from '../go-query.ts'
import { cleanHostPath } from '../host-path.ts'
import { normalizeImageRef } from '../image-reference.ts'
import type { JsonValue } from '../json-value.ts'
import type { RequestFacts } from '../request-facts.ts'
import { asObjectList, asString, asStringList, field } from './body.ts'
import { FactSheet } from './fact-sheet.ts'
import { normalizeCapability } from './security.ts'

/**
 * Plugin privileges: what a managed plugin may do on the host. The engine computes them from the
 * plugin's config and refuses a pull or upgrade whose accepted list differs (moby
 * plugin/backend_linux.go computePrivileges, validatePrivileges), so the list a client sends is
 * the list the plugin gets.
 */

/** The facts plugin privileges carry (for PluginPull/PluginUpgrade and service PluginSpec). */
export const PLUGIN_PRIVILEGE_LISTS = ['pluginPrivileges', 'hostPaths', 'capAdd', 'hostNamespaces', 'devices'] as const

/**
 * Records an array of `{Name, Description, Value[]}` privileges:
 * `network` with value `host` → the host network; `mount` values → host paths; `device` values
 * → devices; `allow-all-devices` → devices `ALL`; `host pid namespace`/`host ipc namespace` →
 * those host namespaces; `capabilities` values → added capabilities. Every name goes to
 * `pluginPrivileges`.
 *
 * @example recordPluginPrivileges(sheet, [{ Name: 'mount', Value: ['/var/lib'] }], 'body')
 */
export function recordPluginPrivileges (sheet: FactSheet, privileges: JsonValue | undefined, path: string): void {
  asObjectList(privileges, path).forEach((p, i) => {
    const name = asString(field(p, 'Name'), `${path}[${i}].Name`)
    const values = asStringList(field(p, 'Value'), `${path}[${i}].Value`)
    sheet.add('pluginPrivileges', name)
    switch (name) {
      case 'network':
        if (values.includes('host')) sheet.add('hostNamespaces', 'network')
        break
      case 'mount':
        sheet.add('hostPaths', ...values.filter((v) => v !== '').map(pluginHostPath))
        break
      case 'device':
        sheet.add('devices', ...values.filter((v) => v !== '').map(pluginHostPath))
        break
      case 'allow-all-devices':
        sheet.add('devices', 'ALL')
        break
      case 'host pid namespace':
        sheet.add('hostNamespaces', 'pid')
        break
      case 'host ipc namespace':
        sheet.add('hostNamespaces', 'ipc')
        break
      case 'capabilities':
        sheet.add('capAdd', ...values.map(normalizeCapability))
        break
    }
  })
}

/**
 * PluginPull and PluginUpgrade: the plugin reference (`remote`, normalized like an image) and the
 * privileges the body accepts.
 *
 * @example pluginPullFacts(parseGoQuery('remote=vieux/sshfs', 'PluginPull'), [{ Name: 'network', Value: ['host'] }])
 */
export function pluginPullFacts (query: GoQuery, body: JsonValue | undefined): RequestFacts {
  const sheet = new FactSheet().lists(...PLUGIN_PRIVILEGE_LISTS)
  sheet.facts.image = normalizeImageRef(formValue(query, 'remote'))
  recordPluginPrivileges(sheet, body, 'body')
  return sheet.facts
}

/**
 * A plugin mount or device source as a host path. The engine hands a relative one to runc, which
 * joins it with the plugin's bundle folder, so `..` climbs out of it: where it lands is not known
 * here, and it counts as the whole host.
 *
 * @example pluginHostPath('../../../etc') // '/'
 */
function pluginHostPath (value: string): string {
  return value.startsWith('/') ? cleanHostPath(value) : '/'
}

/**
 * PluginSet: each setting is `<name>[.<field>]=<value>` (moby plugin/v2 settable.go). A `source`
 * field re-points a settable plugin mount at a host path, a `path` field a settable device. With
 * no field the engine picks the object's only settable field, and only the plugin's config tells
 * whether `<name>` is a mount, a device or an environment variable: a value that is a path (absolute,
 * or relative with `..`) then counts as both a host path and a device. Other settings (env, args)
 * are not facts.
 *
 * @example pluginSetFacts(['data.source=/srv/data']) // { hostPaths: ['/srv/data'], devices: [] }
 */
export function pluginSetFacts (body: JsonValue | undefined): RequestFacts {
  const sheet = new FactSheet().lists('hostPaths', 'devices')
  for (const setting of asStringList(body, 'body')) {
    const eq = setting.indexOf('=')
    if (eq === -1) continue
    const key = setting.slice(0, eq)
    const value = setting.slice(eq + 1)
    if (value === '') continue
    const dot = key.lastIndexOf('.')
    const fieldName = dot > 0 ? key.slice(dot + 1) : ''
    if (fieldName === 'source') sheet.add('hostPaths', pluginHostPath(value))
    else if (fieldName === 'path') sheet.add('devices', pluginHostPath(value))
    else if (fieldName === '' && (value.startsWith('/') || value.split('/').includes('..'))) {
      sheet.add('hostPaths', pluginHostPath(value)).add('devices', pluginHostPath(value))
    }
  }
  return sheet.facts
}
