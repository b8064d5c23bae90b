package cri

import (
	"slices"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// seccompProfile chooses the container's filter: none for Unconfined (and
// for privileged containers, and when nothing is asked for, as containerd
// does by default), the built-in default for RuntimeDefault, a node file
// for Localhost (read by the caller).
func seccompProfile(sc *runtimeapi.LinuxContainerSecurityContext, localhost *specs.LinuxSeccomp, hostCaps []string) (*specs.LinuxSeccomp, error) {
	if sc.GetPrivileged() {
		return nil, nil
	}
	kind, ref := seccompRequest(sc)
	switch kind {
	case runtimeapi.SecurityProfile_Unconfined:
		return nil, nil
	case runtimeapi.SecurityProfile_RuntimeDefault:
		return defaultSeccomp(capabilities(sc, hostCaps).Bounding), nil
	case runtimeapi.SecurityProfile_Localhost:
		if localhost == nil {
			return nil, invalidArg("config.linux.security_context.seccomp.localhost_ref", "profile %q not loaded", ref)
		}
		return localhost, nil
	}
	return nil, invalidArg("config.linux.security_context.seccomp.profile_type", "unknown profile type %v", kind)
}

// seccompRequest reads the profile asked for, from the field or from the
// deprecated seccomp_profile_path ("runtime/default", "unconfined",
// "localhost/<path>").
func seccompRequest(sc *runtimeapi.LinuxContainerSecurityContext) (runtimeapi.SecurityProfile_ProfileType, string) {
	if p := sc.GetSeccomp(); p != nil {
		return p.GetProfileType(), p.GetLocalhostRef()
	}
	switch path := sc.GetSeccompProfilePath(); {
	case path == "runtime/default" || path == "docker/default":
		return runtimeapi.SecurityProfile_RuntimeDefault, ""
	case len(path) > len("localhost/") && path[:len("localhost/")] == "localhost/":
		return runtimeapi.SecurityProfile_Localhost, path[len("localhost/"):]
	}
	return runtimeapi.SecurityProfile_Unconfined, ""
}

// defaultSeccomp builds the default profile for a container with the given
// bounding capabilities.
func defaultSeccomp(caps []string) *specs.LinuxSeccomp {
	eperm := uint(1)
	s := &specs.LinuxSeccomp{
		DefaultAction:   specs.ActErrno,
		DefaultErrnoRet: &eperm,
		Architectures:   append([]specs.Arch{}, defaultSeccompArchitectures...),
	}
	has := func(list []string) bool {
		for _, c := range list {
			if slices.Contains(caps, c) {
				return true
			}
		}
		return false
	}
	for _, r := range defaultSeccompRules {
		if len(r.caps) > 0 && !has(r.caps) {
			continue
		}
		if len(r.notCaps) > 0 && has(r.notCaps) {
			continue
		}
		sys := specs.LinuxSyscall{Names: append([]string{}, r.names...), Action: specs.ActAllow, Args: r.args}
		if r.errno != 0 {
			e := r.errno
			sys.Action, sys.ErrnoRet = specs.ActErrno, &e
		}
		s.Syscalls = append(s.Syscalls, sys)
	}
	return s
}
