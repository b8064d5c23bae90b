package cri

import (
	specs "github.com/opencontainers/runtime-spec/specs-go"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// namespaces joins the sandbox's network, IPC and UTS namespaces by path
// (or none, the host's, when the pod uses the node's), gives the container
// a mount namespace of its own, and a pid namespace by mode: CONTAINER a
// new one, POD the sandbox's, NODE the host's, TARGET another container's.
func namespaces(in specInput) ([]specs.LinuxNamespace, error) {
	sb := in.Sandbox
	ns := []specs.LinuxNamespace{{Type: specs.MountNamespace}}
	join := func(t specs.LinuxNamespaceType, path string) {
		if path != "" {
			ns = append(ns, specs.LinuxNamespace{Type: t, Path: path})
		}
	}
	join(specs.NetworkNamespace, sb.NetNS)
	join(specs.IPCNamespace, sb.IPCNS)
	join(specs.UTSNamespace, sb.UTSNS)
	// The pod's user namespace, joined by path: its mappings are the
	// namespace's own, so the spec names none.
	if podUserns(in.Config.GetLinux().GetSecurityContext().GetNamespaceOptions().GetUsernsOptions()) != nil && sb.UserNS == "" {
		return nil, invalidArg(usernsField+".mode", "POD, but the sandbox has no user namespace of its own")
	}
	join(specs.UserNamespace, sb.UserNS)
	mode := in.Config.GetLinux().GetSecurityContext().GetNamespaceOptions().GetPid()
	switch mode {
	case runtimeapi.NamespaceMode_CONTAINER:
		ns = append(ns, specs.LinuxNamespace{Type: specs.PIDNamespace})
	case runtimeapi.NamespaceMode_POD:
		if sb.PIDNS == "" {
			return nil, invalidArg("config.linux.security_context.namespace_options.pid", "POD, but the sandbox has no shared pid namespace")
		}
		join(specs.PIDNamespace, sb.PIDNS)
	case runtimeapi.NamespaceMode_NODE:
		// the host's: no entry
	case runtimeapi.NamespaceMode_TARGET:
		if in.TargetPIDNS == "" {
			return nil, invalidArg("config.linux.security_context.namespace_options.target_id", "TARGET needs a running target container")
		}
		join(specs.PIDNamespace, in.TargetPIDNS)
	default:
		return nil, invalidArg("config.linux.security_context.namespace_options.pid", "unknown mode %v", mode)
	}
	return ns, nil
}
