/**
 * What a request would make the engine do, reduced to named facts that policy rules test. Each
 * fact is filled by the operations it applies to (see `factCatalog`); an absent fact means the
 * operation does not have it. Facts come from the canonical body and query, so they describe what
 * the engine will see, not how the client spelled it.
 *
 * Values are booleans, numbers, strings or lists of strings, so rules, `policy explain`, audit
 * records and OPA input can all use them as they are.
 */
export interface RequestFacts {
  /**
   * Image to run or pull, normalized: `docker.io/library/busybox:latest`; an image id as written.
   * A pull of every tag (image create without a tag) is the bare name: `docker.io/library/busybox`.
   */
  image?: string
  /** Names an image gets: build `t`, commit `repo:tag`, tag, normalized like `image`. */
  tags?: string[]
  /** User the process runs as (`Config.User`, exec `User`, service `ContainerSpec.User`), as written. */
  user?: string
  /**
   * `HostConfig.Privileged`, or exec `Privileged`; or an existing container the request reaches
   * (see `reachedContainers`) is privileged.
   */
  privileged?: boolean
  /**
   * Host paths the request mounts, cleaned (`/a/../b/` → `/b`): `Binds`, `Mounts` of type bind,
   * local volumes whose driver options bind a host path (inline in the request, or an existing
   * named volume looked up in the engine), service bind mounts, plugin mount privileges, and
   * volume create options; and the host paths of existing containers the request reaches.
   */
  hostPaths?: string[]
  /** Local-driver volume mounts other than binds, by their `type` option (`tmpfs`, `nfs`, `ext4`, …). */
  volumeMounts?: string[]
  /** Named volumes mounted (from `Binds` and `Mounts` of type volume). */
  namedVolumes?: string[]
  /** Volume drivers named (`HostConfig.VolumeDriver`, mount driver configs, volume create `Driver`). */
  volumeDrivers?: string[]
  /** Containers whose volumes are mounted (`VolumesFrom`, without the `:ro`/`:rw` suffix). */
  volumesFrom?: string[]
  /** Added capabilities, upper-case with the `CAP_` prefix (`CAP_SYS_ADMIN`), or `ALL`. */
  capAdd?: string[]
  capDrop?: string[]
  /** Host devices (`Devices[].PathOnHost`, cleaned) and CDI device names; `ALL` for a plugin allowed every device. */
  devices?: string[]
  /** Device requests (`--gpus`), one entry per request: the driver, or `default`. */
  deviceRequests?: string[]
  deviceCgroupRules?: string[]
  /** Namespace modes as written ('' when not set). */
  pidMode?: string
  ipcMode?: string
  utsMode?: string
  networkMode?: string
  usernsMode?: string
  cgroupnsMode?: string
  /** Which of pid, ipc, uts, network, userns, cgroupns are the host's (those of reached containers included). */
  hostNamespaces?: string[]
  /** Containers whose namespaces are joined (`container:<id>` in any mode, and `HostConfig.Cgroup`). */
  containerNamespaces?: string[]
  /** Security options as written, legacy `key:value` turned into `key=value`. */
  securityOpt?: string[]
  /** Confinement turned off or replaced: `seccomp`, `apparmor`, `label`, `systempaths`, `cgroups` (writable). */
  unconfined?: string[]
  /** Sysctl names. */
  sysctls?: string[]
  cgroupParent?: string
  /** Container: the OCI runtime (`HostConfig.Runtime`); service: `TaskTemplate.Runtime` (`plugin`, …). */
  runtime?: string
  /** Host IPs of port bindings (`''` written as `0.0.0.0`: every interface). */
  portHostIps?: string[]
  /** Host ports of port bindings (`''` means an ephemeral port). */
  hostPorts?: string[]
  publishAllPorts?: boolean
  /** Resource limits; 0 means unset (the engine's default: unlimited). */
  memory?: number
  memorySwap?: number
  nanoCpus?: number
  cpuShares?: number
  cpuQuota?: number
  pidsLimit?: number
  shmSize?: number
  oomKillDisable?: boolean
  oomScoreAdj?: number
  /** Ulimit names set. */
  ulimits?: string[]
  logDriver?: string
  /** Extra `/etc/hosts` entries (container `ExtraHosts`, build `extrahosts`). */
  extraHosts?: string[]
  /** Build: the remote context URL the engine would fetch ('' for an uploaded context). */
  remoteContext?: string
  /** Build argument names (values are secrets and never become facts). */
  buildArgs?: string[]
  /** Build through BuildKit (`version=2`): its steps travel over `/session` and `/grpc`. */
  buildKit?: boolean
  /** Image create: '' (pull), `-` (import from the request body) or the URL the engine would fetch. */
  importSource?: string
  /** Archive PUT: the path in the container the archive is extracted to. */
  archivePath?: string
  /**
   * Existing containers whose host access is merged into this request's facts, as written (names,
   * ids or id prefixes): those a create body joins (`container:<x>` pid, network, IPC or cgroup
   * modes) or takes volumes from, a build's `networkmode=container:<x>`, and the container of an
   * exec create, exec start, attach, archive or export; then, recursively, the containers those
   * join. Their `privileged`, `hostPaths`, `volumeMounts`, `hostNamespaces`, `capAdd`, `devices`,
   * `deviceRequests`, `deviceCgroupRules` and `unconfined` are merged (`VolumesFrom`: host paths
   * and volume mounts only; a network or IPC join: that namespace only). Containers the engine
   * does not have are not listed.
   */
  reachedContainers?: string[]
  /** Network create: the driver and its option names=values. */
  networkDriver?: string
  networkOptions?: string[]
  /** Plugin pull/upgrade: the privilege names the client accepts (`network`, `mount`, `capabilities`, …). */
  pluginPrivileges?: string[]
  /** Secret and config create: a secret driver plugin and a templating driver. */
  secretDriver?: string
  templatingDriver?: string
  /**
   * Body keys dockward dropped because no engine version reads them (canonical paths), and query
   * parameters the operation does not take (`query.<name>`).
   */
  ignoredFields?: string[]
}

export type FactName = keyof RequestFacts
export type FactValue = boolean | number | string | string[]
