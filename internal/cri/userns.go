package cri

import (
	specs "github.com/opencontainers/runtime-spec/specs-go"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/kemudi/kemudi/internal/cri/supervisor"
)

// A pod with UsernsOptions mode POD runs in a user namespace of its own
// (the kubelet's spec.hostUsers false): the supervisor makes it with the
// kubelet's mappings and the pod's other namespaces inside it; every
// container joins it, sees its rootfs through idmapped layers and its
// bind mounts idmapped too, so that the host's root files are its root's.

const usernsField = "config.linux.security_context.namespace_options.userns_options"

// validateUserns checks a sandbox's user namespace options as containerd
// does: NODE (or none) is the host's; POD needs mappings of IDs and may
// not share the host's other namespaces.
func validateUserns(cfg *runtimeapi.PodSandboxConfig) error {
	nso := cfg.GetLinux().GetSecurityContext().GetNamespaceOptions()
	u := nso.GetUsernsOptions()
	if u == nil {
		return nil // the host's (POD is the enum's zero: not to be read off nil)
	}
	switch u.GetMode() {
	case runtimeapi.NamespaceMode_NODE:
		if len(u.GetUids())+len(u.GetGids()) > 0 {
			return invalidArg(usernsField, "mappings are not allowed with mode NODE")
		}
		return nil
	case runtimeapi.NamespaceMode_POD:
	default:
		return invalidArg(usernsField+".mode", "unsupported user namespace mode %v (NODE or POD)", u.GetMode())
	}
	// containerd's rules, which critest checks: one mapping each, the
	// pod's root mapped.
	if len(u.GetUids()) != 1 || len(u.GetGids()) != 1 {
		return invalidArg(usernsField, "mode POD needs exactly one uid and one gid mapping, not %d and %d", len(u.GetUids()), len(u.GetGids()))
	}
	for _, m := range []*runtimeapi.IDMapping{u.GetUids()[0], u.GetGids()[0]} {
		if m.GetContainerId() != 0 || m.GetLength() == 0 {
			return invalidArg(usernsField, "a mapping must map container ID 0 and more: %d-%d to host %d", m.GetContainerId(), int64(m.GetContainerId())+int64(m.GetLength())-1, m.GetHostId())
		}
	}
	for _, host := range []struct {
		name string
		mode runtimeapi.NamespaceMode
	}{{"network", nso.GetNetwork()}, {"pid", nso.GetPid()}, {"ipc", nso.GetIpc()}} {
		if host.mode == runtimeapi.NamespaceMode_NODE {
			return invalidArg(usernsField, "a pod in its own user namespace cannot use the host's %s namespace", host.name)
		}
	}
	return nil
}

// podUserns is u when it asks for a namespace of the pod's own, else nil.
func podUserns(u *runtimeapi.UserNamespace) *runtimeapi.UserNamespace {
	if u != nil && u.GetMode() == runtimeapi.NamespaceMode_POD {
		return u
	}
	return nil
}

// sandboxUserns is what the supervisor makes of a pod's user namespace
// options: nil for the host's.
func sandboxUserns(u *runtimeapi.UserNamespace) *supervisor.UserNamespace {
	if u == nil {
		return nil
	}
	return &supervisor.UserNamespace{UIDMappings: specIDMaps(u.GetUids()), GIDMappings: specIDMaps(u.GetGids())}
}

func specIDMaps(in []*runtimeapi.IDMapping) []specs.LinuxIDMapping {
	out := make([]specs.LinuxIDMapping, len(in))
	for i, m := range in {
		out[i] = specs.LinuxIDMapping{ContainerID: m.GetContainerId(), HostID: m.GetHostId(), Size: m.GetLength()}
	}
	return out
}

// usernsRoot is the host IDs of the pod's root, which owns a container's
// writable layer; ok is false when the pod has no user namespace or does
// not map its root.
func usernsRoot(sb sandbox) (uid, gid int, ok bool) {
	u := sb.usernsOptions()
	if u == nil {
		return 0, 0, false
	}
	uid, uok := hostID(u.GetUids(), 0)
	gid, gok := hostID(u.GetGids(), 0)
	return uid, gid, uok && gok
}

func hostID(maps []*runtimeapi.IDMapping, id uint32) (int, bool) {
	for _, m := range maps {
		if id >= m.GetContainerId() && id-m.GetContainerId() < m.GetLength() {
			return int(m.GetHostId() + id - m.GetContainerId()), true
		}
	}
	return 0, false
}
