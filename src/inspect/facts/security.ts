import type { FactSheet } from './fact-sheet.ts'

/**
 * Go's strings.ToUpper, close enough for capability names: per code point, the simple upper-case
 * mapping. JavaScript's full mappings that expand (`ß` → `SS`, `ﬅ` → `ST`) are not Go's, so such
 * characters stay as they are.
 */
function goToUpper (s: string): string {
  if (/^[\x00-\x7f]*$/.test(s)) return s.toUpperCase()
  let out = ''
  for (const ch of s) {
    const up = ch.toUpperCase()
    out += [...up].length === 1 ? up : ch
  }
  return out
}

/**
 * A capability as the engine normalizes `CapAdd`/`CapDrop` (moby oci/caps
 * NormalizeLegacyCapabilities): upper-cased, `CAP_` prefixed, `ALL` kept as the magic value.
 * Unknown names are kept (the engine refuses them).
 *
 * @example normalizeCapability('sys_admin') // 'CAP_SYS_ADMIN'
 */
export function normalizeCapability (cap: string): string {
  const up = goToUpper(cap)
  if (up === 'ALL') return 'ALL'
  return up.startsWith('CAP_') ? up : 'CAP_' + up
}

/** Go's strconv.ParseBool, true side. */
function parseGoBoolTrue (v: string): boolean {
  return ['1', 't', 'T', 'TRUE', 'true', 'True'].includes(v)
}

/**
 * Records `HostConfig.SecurityOpt` the way the engine parses it (moby daemon parseSecurityOpt):
 * `no-new-privileges`, a bare `writable-cgroups` and a bare `disable` (SELinux labels off) are
 * special; otherwise the key is split from the value at the first `=`, or, if there is none, at
 * the first `:` (the legacy form). Each option is recorded as `key=value` (`disable` as
 * `label=disable`, `writable-cgroups` as `writable-cgroups=true`), and `unconfined` gets what is
 * turned off or replaced:
 * - `seccomp` for any profile but the default ('' or `builtin`): `unconfined`, or a custom
 *   profile, which replaces the default one;
 * - `apparmor` for any profile but the default ('' or `docker-default`);
 * - `label` for any SELinux label option (`disable`, or a `type`/`level`/`user`/`role` that
 *   replaces the container's own);
 * - `systempaths` for `systempaths=unconfined` (the CLI's spelling; the engine itself clears
 *   `MaskedPaths`/`ReadonlyPaths`, which the container facts read as `systempaths` too);
 * - `cgroups` for a writable cgroup filesystem, `writable-cgroups[=true]` (engine 28+).
 *
 * @example recordSecurityOpt(sheet, ['seccomp:unconfined']) // securityOpt += 'seccomp=unconfined', unconfined += 'seccomp'
 */
export function recordSecurityOpt (sheet: FactSheet, opts: readonly string[]): void {
  for (const opt of opts) {
    if (opt === 'no-new-privileges') {
      sheet.add('securityOpt', opt)
      continue
    }
    if (opt === 'writable-cgroups') {
      sheet.add('securityOpt', 'writable-cgroups=true').add('unconfined', 'cgroups')
      continue
    }
    if (opt === 'disable') {
      sheet.add('securityOpt', 'label=disable').add('unconfined', 'label')
      continue
    }
    const sep = opt.includes('=') ? '=' : opt.includes(':') ? ':' : ''
    if (sep === '') {
      // The engine refuses it ("invalid --security-opt"); keep it visible.
      sheet.add('securityOpt', opt)
      continue
    }
    const at = opt.indexOf(sep)
    const key = opt.slice(0, at)
    const value = opt.slice(at + 1)
    sheet.add('securityOpt', `${key}=${value}`)
    switch (key) {
      case 'seccomp':
        if (value !== '' && value !== 'builtin') sheet.add('unconfined', 'seccomp')
        break
      case 'apparmor':
        if (value !== '' && value !== 'docker-default') sheet.add('unconfined', 'apparmor')
        break
      case 'label':
        sheet.add('unconfined', 'label')
        break
      case 'systempaths':
        if (value === 'unconfined') sheet.add('unconfined', 'systempaths')
        break
      case 'writable-cgroups':
        if (parseGoBoolTrue(value)) sheet.add('unconfined', 'cgroups')
        break
    }
  }
}

