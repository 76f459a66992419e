import { BadRequestBodyError } from '../../core/errors.ts'
import { normalizeImageRef } from '../image-reference.ts'
import type { JsonObject, JsonValue } from '../json-value.ts'
import type { RequestFacts } from '../request-facts.ts'
import { asBool, asNumber, asObject, asObjectList, asString, asStringList, asStringMap, field } from './body.ts'
import { recordEndpointSysctls } from './container.ts'
import type { EngineLookup } from './engine-lookup.ts'
import { FactSheet } from './fact-sheet.ts'
import { PLUGIN_PRIVILEGE_LISTS, recordPluginPrivileges } from './plugins.ts'
import { normalizeCapability } from './security.ts'
import { recordMount } from './volumes.ts'

/**
 * ServiceCreate and ServiceUpdate: the swarm ServiceSpec (moby api/types/swarm). Tasks run on
 * any node, so a named volume looked up here describes this engine's volume of that name only.
 */

/**
 * The one of several spellings of a field that is present. `PluginSpec` is a protobuf type whose
 * Go JSON names (`privileges`, `remote`) differ from the API spec's (`PluginPrivilege`,
 * `Remote`); every spelling is read, and two at once are refused rather than guessed at.
 */
function fieldOf (obj: JsonObject | undefined, names: readonly string[], path: string): JsonValue | undefined {
  const present = names.filter((n) => field(obj, n) !== undefined)
  if (present.length > 1) throw new BadRequestBodyError(`request body: ${path} sets ${present.join(' and ')}; give only one`)
  return present.length === 1 ? field(obj, present[0]!) : undefined
}

/**
 * Seccomp, AppArmor and SELinux settings of `ContainerSpec.Privileges` as `unconfined` entries:
 * seccomp mode `unconfined` or `custom` (a profile replacing the default), AppArmor mode
 * `disabled`, SELinux disabled or any label part replaced.
 */
function recordPrivileges (sheet: FactSheet, privileges: JsonObject | undefined, path: string): void {
  const seccomp = asObject(field(privileges, 'Seccomp'), `${path}.Seccomp`)
  const seccompMode = asString(field(seccomp, 'Mode'), `${path}.Seccomp.Mode`)
  if (seccompMode === 'unconfined' || seccompMode === 'custom') sheet.add('unconfined', 'seccomp')
  const apparmor = asObject(field(privileges, 'AppArmor'), `${path}.AppArmor`)
  if (asString(field(apparmor, 'Mode'), `${path}.AppArmor.Mode`) === 'disabled') sheet.add('unconfined', 'apparmor')
  const selinux = asObject(field(privileges, 'SELinuxContext'), `${path}.SELinuxContext`)
  const labelParts = ['User', 'Role', 'Type', 'Level'].map((k) => asString(field(selinux, k), `${path}.SELinuxContext.${k}`))
  if (asBool(field(selinux, 'Disable'), `${path}.SELinuxContext.Disable`) || labelParts.some((p) => p !== '')) {
    sheet.add('unconfined', 'label')
  }
}

/** Network attachments (`TaskTemplate.Networks`, and the deprecated `Networks`): the host network, endpoint sysctls. */
function recordNetworks (sheet: FactSheet, networks: JsonValue | undefined, path: string): void {
  asObjectList(networks, path).forEach((n, i) => {
    const p = `${path}[${i}]`
    if (asString(field(n, 'Target'), `${p}.Target`) === 'host') sheet.add('hostNamespaces', 'network')
    recordEndpointSysctls(sheet, n, p)
  })
}

/**
 * Facts of a service spec: the container spec (image, user, mounts, capabilities, sysctls,
 * confinement, hosts, ulimits), the plugin spec when `TaskTemplate.Runtime` is `plugin` (image
 * from `Remote`, privileges), resources, log driver, networks, and published ports. Every
 * published port counts, `ingress` ones too: the routing mesh opens them on every node, on all
 * interfaces.
 *
 * @example await serviceFacts({ TaskTemplate: { ContainerSpec: { Image: 'nginx' } } }, offlineLookup)
 */
export async function serviceFacts (body: JsonObject | undefined, lookup: EngineLookup): Promise<RequestFacts> {
  const sheet = new FactSheet().lists(
    'hostPaths', 'volumeMounts', 'namedVolumes', 'volumeDrivers', 'capAdd', 'capDrop', 'sysctls', 'unconfined',
    'hostNamespaces', 'extraHosts', 'portHostIps', 'hostPorts', 'ulimits', ...PLUGIN_PRIVILEGE_LISTS
  )
  const facts = sheet.facts
  const task = asObject(field(body, 'TaskTemplate'), 'TaskTemplate')
  const runtime = asString(field(task, 'Runtime'), 'TaskTemplate.Runtime')
  facts.runtime = runtime

  const cs = asObject(field(task, 'ContainerSpec'), 'TaskTemplate.ContainerSpec')
  const at = (key: string): string => `TaskTemplate.ContainerSpec.${key}`
  const containerImage = normalizeImageRef(asString(field(cs, 'Image'), at('Image')))
  facts.user = asString(field(cs, 'User'), at('User'))
  const mounts = asObjectList(field(cs, 'Mounts'), at('Mounts'))
  await sheet.recordAll(mounts, async (s, m, i) => { await recordMount(s, m, `${at('Mounts')}[${i}]`, lookup) })
  sheet.add('capAdd', ...asStringList(field(cs, 'CapabilityAdd'), at('CapabilityAdd')).map(normalizeCapability))
  sheet.add('capDrop', ...asStringList(field(cs, 'CapabilityDrop'), at('CapabilityDrop')).map(normalizeCapability))
  sheet.add('sysctls', ...asStringMap(field(cs, 'Sysctls'), at('Sysctls')).map(([k]) => k))
  recordPrivileges(sheet, asObject(field(cs, 'Privileges'), at('Privileges')), at('Privileges'))
  sheet.add('extraHosts', ...asStringList(field(cs, 'Hosts'), at('Hosts')))
  asObjectList(field(cs, 'Ulimits'), at('Ulimits')).forEach((u, i) => {
    sheet.add('ulimits', asString(field(u, 'Name'), `${at('Ulimits')}[${i}].Name`))
  })

  const plugin = asObject(field(task, 'PluginSpec'), 'TaskTemplate.PluginSpec')
  const pluginRemote = asString(fieldOf(plugin, ['Remote', 'remote'], 'TaskTemplate.PluginSpec'), 'TaskTemplate.PluginSpec.Remote')
  recordPluginPrivileges(sheet, fieldOf(plugin, ['PluginPrivilege', 'Privileges', 'privileges'], 'TaskTemplate.PluginSpec'), 'TaskTemplate.PluginSpec.PluginPrivilege')
  facts.image = runtime === 'plugin' ? normalizeImageRef(pluginRemote) : containerImage

  const resources = asObject(field(task, 'Resources'), 'TaskTemplate.Resources')
  const limits = asObject(field(resources, 'Limits'), 'TaskTemplate.Resources.Limits')
  facts.memory = asNumber(field(limits, 'MemoryBytes'), 'TaskTemplate.Resources.Limits.MemoryBytes')
  facts.nanoCpus = asNumber(field(limits, 'NanoCPUs'), 'TaskTemplate.Resources.Limits.NanoCPUs')
  facts.pidsLimit = Math.max(0, asNumber(field(limits, 'Pids'), 'TaskTemplate.Resources.Limits.Pids'))
  const logDriver = asObject(field(task, 'LogDriver'), 'TaskTemplate.LogDriver')
  facts.logDriver = asString(field(logDriver, 'Name'), 'TaskTemplate.LogDriver.Name')

  recordNetworks(sheet, field(task, 'Networks'), 'TaskTemplate.Networks')
  recordNetworks(sheet, field(body, 'Networks'), 'Networks')

  const endpoint = asObject(field(body, 'EndpointSpec'), 'EndpointSpec')
  asObjectList(field(endpoint, 'Ports'), 'EndpointSpec.Ports').forEach((port, i) => {
    const published = asNumber(field(port, 'PublishedPort'), `EndpointSpec.Ports[${i}].PublishedPort`)
    sheet.add('portHostIps', '0.0.0.0')
    sheet.add('hostPorts', published === 0 ? '' : String(published))
  })
  return facts
}
