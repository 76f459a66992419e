# dockward's built-in `default` policy (policies/default.yaml) in Rego, for organisations that
# keep their policies in Open Policy Agent. It decides on the facts dockward extracts from the
# canonical request (input.facts; see policies/README.md#fact-catalog), so a rule cannot be
# dodged by spelling a body key differently, by a legacy field, or by borrowing host access
# from an existing container.
#
# Build (OPA v0.59 or later; dockward's CI does not compile this file, see README.md here):
#   opa build -t wasm -e dockward/authz/decision -e dockward/authz/allow \
#     --ignore '*_test.rego' -o bundle.tar.gz policies/opa/
#
# Two entrypoints: `decision` (an object: allow, ruleId, reason) names the rule that decided, as
# the built-in engine does; `allow` is the plain boolean opa-docker-authz users know.
package dockward.authz

import rego.v1

default decision := {"allow": false, "ruleId": "default-deny", "reason": "no rule of this policy allows the operation"}

# The first denial in file order decides, like the first matching rule of a YAML policy.
decision := {"allow": false, "ruleId": d.id, "reason": d.reason} if {
	count(denials) > 0
	d := first_denial
}

# Every operation that is not denied is developer or CI work (the YAML policy's
# allow-developer-work: system reads, registry, containers, exec, images, build, volumes,
# networks; plugins and swarm are denied below).
decision := {"allow": true, "ruleId": "allow-developer-work", "reason": "developer and CI operations on a shared engine"} if {
	count(denials) == 0
}

allow := decision.allow

first_denial := d if {
	some d in denials
	every other in denials {
		other.order >= d.order
	}
}

# --- containers and exec: the host's root, devices and kernel -----------------------------------

denials contains {"order": 1, "id": "deny-privileged", "reason": "privileged containers and exec sessions are not allowed on this engine, nor joining, exec-ing into, attaching to or copying files of an existing privileged container (they have full root access to the host)"} if {
	input.facts.privileged == true
}

denials contains {"order": 2, "id": "deny-host-paths", "reason": "host paths are not allowed on this engine, neither mounted directly nor reached through an existing container that mounts them (volumes-from, its pid namespace, exec, attach, copying files); use a named volume instead"} if {
	count(input.facts.hostPaths) > 0
}

denials contains {"order": 3, "id": "deny-volume-mounts", "reason": "volumes that mount a device or network filesystem on the host are not allowed, directly or through an existing container that has them; only tmpfs volume options are"} if {
	some t in input.facts.volumeMounts
	t != "tmpfs"
}

denials contains {"order": 4, "id": "deny-volume-drivers", "reason": "volume drivers other than local are not allowed on this engine"} if {
	some d in input.facts.volumeDrivers
	not d in {"", "local"}
}

denials contains {"order": 5, "id": "deny-capabilities", "reason": "adding capabilities is not allowed on this engine, directly or through an existing container that has added ones"} if {
	count(input.facts.capAdd) > 0
}

denials contains {"order": 6, "id": "deny-devices", "reason": "host devices are not allowed on this engine, directly or through an existing container that has them"} if {
	count(input.facts.devices) > 0
}

denials contains {"order": 7, "id": "deny-device-requests", "reason": "device requests (such as --gpus) are not allowed on this engine, directly or through an existing container that has them"} if {
	count(input.facts.deviceRequests) > 0
}

denials contains {"order": 8, "id": "deny-device-cgroup-rules", "reason": "device cgroup rules are not allowed on this engine, directly or through an existing container that has them"} if {
	count(input.facts.deviceCgroupRules) > 0
}

# The query as the engine parses it: every value of each parameter.
denials contains {"order": 9, "id": "deny-build-host-network", "reason": "builds in the host network are not allowed on this engine"} if {
	input.operation == "ImageBuild"
	"host" in input.Query.networkmode
}

denials contains {"order": 10, "id": "deny-host-namespaces", "reason": "host namespaces (pid, ipc, uts, network, userns, cgroupns) are not allowed on this engine, directly or through an existing container that is in them (joining it, exec, attach, copying files)"} if {
	count(input.facts.hostNamespaces) > 0
}

denials contains {"order": 11, "id": "deny-unconfined", "reason": "turning off seccomp, AppArmor, SELinux labels or masked system paths is not allowed on this engine, directly or through an existing container that has them off"} if {
	count(input.facts.unconfined) > 0
}

denials contains {"order": 12, "id": "deny-sysctls", "reason": "setting sysctls is not allowed on this engine"} if {
	count(input.facts.sysctls) > 0
}

denials contains {"order": 13, "id": "deny-cgroup-parent", "reason": "choosing the cgroup parent is not allowed on this engine"} if {
	input.facts.cgroupParent != ""
}

# String facts are absent for operations that cannot carry them: bind the value first, so
# `not ... in` never holds for an absent fact.
denials contains {"order": 14, "id": "deny-runtime", "reason": "runtimes other than the engine's default (runc) are not allowed on this engine"} if {
	runtime := input.facts.runtime
	not runtime in {"", "runc"}
}

denials contains {"order": 15, "id": "deny-log-driver", "reason": "this log driver is not allowed on this engine (allowed are json-file, local, journald and none)"} if {
	driver := input.facts.logDriver
	not driver in {"", "json-file", "local", "none", "journald"}
}

# --- builds and image imports: the engine must not fetch URLs ------------------------------------

denials contains {"order": 16, "id": "deny-remote-build-context", "reason": "remote build contexts are not allowed on this engine (the engine would fetch the URL itself); send the context from the client instead"} if {
	context := input.facts.remoteContext
	not context in {"", "client-session"}
}

denials contains {"order": 17, "id": "deny-import-url", "reason": "importing images from a URL is not allowed on this engine (the engine would fetch it itself); send the tarball from the client instead"} if {
	source := input.facts.importSource
	not source in {"", "-"}
}

# --- networks: only the built-in bridge driver ---------------------------------------------------

denials contains {"order": 18, "id": "deny-network-driver", "reason": "network drivers other than bridge are not allowed on this engine"} if {
	driver := input.facts.networkDriver
	not driver in {"", "bridge"}
}

allowed_network_options := {
	"com.docker.network.driver.mtu=",
	"com.docker.network.bridge.enable_icc=",
	"com.docker.network.bridge.enable_ip_masquerade=",
	"com.docker.network.container_iface_prefix=",
}

denials contains {"order": 19, "id": "deny-network-options", "reason": "this network driver option is not allowed on this engine (allowed are the MTU, ICC, masquerading and interface prefix)"} if {
	some option in input.facts.networkOptions
	not option_allowed(option)
}

option_allowed(option) if {
	some prefix in allowed_network_options
	startswith(option, prefix)
}

# --- the engine itself ---------------------------------------------------------------------------

denials contains {"order": 20, "id": "deny-plugins", "reason": "managing plugins is not allowed on this engine"} if {
	plugin_operation
}

plugin_operation if startswith(input.operation, "Plugin")

plugin_operation if input.operation == "GetPluginPrivileges"

denials contains {"order": 21, "id": "deny-swarm", "reason": "swarm mode (swarm, nodes, services, tasks, secrets, configs) is not available through this gateway"} if {
	some prefix in {"Swarm", "Node", "Service", "Task", "Secret", "Config"}
	startswith(input.operation, prefix)
}
