# Unit tests of authz.rego: `opa test policies/opa/` (not run by dockward's CI, which has no
# OPA binary). Inputs carry only the fields the rules read; dockward's real input document is
# described in README.md ("OPA users").
package dockward.authz_test

import rego.v1

import data.dockward.authz

create(facts) := {"operation": "ContainerCreate", "Method": "POST", "Query": {}, "facts": object.union(clean_create, facts)}

clean_create := {
	"privileged": false, "hostPaths": [], "volumeMounts": [], "volumeDrivers": [], "capAdd": [],
	"devices": [], "deviceRequests": [], "deviceCgroupRules": [], "hostNamespaces": [],
	"unconfined": [], "sysctls": [], "cgroupParent": "", "runtime": "", "logDriver": "",
}

test_plain_container_is_allowed if {
	d := authz.decision with input as create({})
	d.allow == true
	d.ruleId == "allow-developer-work"
	authz.allow with input as create({})
}

test_privileged_is_denied_first if {
	d := authz.decision with input as create({"privileged": true, "hostPaths": ["/"]})
	d.allow == false
	d.ruleId == "deny-privileged"
	not authz.allow with input as create({"privileged": true})
}

test_host_paths_are_denied if {
	d := authz.decision with input as create({"hostPaths": ["/var/run/docker.sock"]})
	d.ruleId == "deny-host-paths"
}

test_tmpfs_volumes_are_allowed_others_denied if {
	authz.decision.allow with input as create({"volumeMounts": ["tmpfs"]})
	d := authz.decision with input as create({"volumeMounts": ["tmpfs", "nfs"]})
	d.ruleId == "deny-volume-mounts"
}

test_runc_and_default_runtime_allowed if {
	authz.decision.allow with input as create({"runtime": "runc"})
	d := authz.decision with input as create({"runtime": "nvidia"})
	d.ruleId == "deny-runtime"
}

test_absent_string_facts_deny_nothing if {
	authz.decision.allow with input as {"operation": "ContainerStart", "Method": "POST", "Query": {}, "facts": {}}
}

test_log_drivers if {
	authz.decision.allow with input as create({"logDriver": "journald"})
	d := authz.decision with input as create({"logDriver": "syslog"})
	d.ruleId == "deny-log-driver"
}

test_build_in_host_network_is_denied if {
	d := authz.decision with input as {"operation": "ImageBuild", "Query": {"networkmode": ["host"]}, "facts": {"hostNamespaces": ["network"]}}
	d.ruleId == "deny-build-host-network"
}

test_remote_build_context if {
	authz.decision.allow with input as {"operation": "ImageBuild", "Query": {}, "facts": {"remoteContext": "client-session"}}
	d := authz.decision with input as {"operation": "ImageBuild", "Query": {}, "facts": {"remoteContext": "https://example.com/x.git"}}
	d.ruleId == "deny-remote-build-context"
}

test_network_options if {
	authz.decision.allow with input as {"operation": "NetworkCreate", "facts": {"networkDriver": "bridge", "networkOptions": ["com.docker.network.driver.mtu=1400"]}}
	d := authz.decision with input as {"operation": "NetworkCreate", "facts": {"networkDriver": "bridge", "networkOptions": ["com.docker.network.bridge.name=docker0"]}}
	d.ruleId == "deny-network-options"
}

test_plugins_and_swarm_are_denied if {
	p := authz.decision with input as {"operation": "PluginPull", "facts": {}}
	p.ruleId == "deny-plugins"
	s := authz.decision with input as {"operation": "SwarmInspect", "facts": {}}
	s.ruleId == "deny-swarm"
	c := authz.decision with input as {"operation": "ConfigList", "facts": {}}
	c.ruleId == "deny-swarm"
}

test_reads_are_allowed if {
	authz.decision.allow with input as {"operation": "ContainerList", "facts": {}}
	authz.decision.allow with input as {"operation": "SystemPing", "facts": {}}
}
