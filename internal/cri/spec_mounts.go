package cri

import (
	"path/filepath"
	"strconv"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// defaultMounts are the file systems every container gets (containerd's
// defaults). /sys and its cgroup mount are writable only when privileged.
func defaultMounts(privileged bool) []specs.Mount {
	sysOpt := "ro"
	if privileged {
		sysOpt = "rw"
	}
	return []specs.Mount{
		{Destination: "/proc", Type: "proc", Source: "proc", Options: []string{"nosuid", "noexec", "nodev"}},
		{Destination: "/dev", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "strictatime", "mode=755", "size=65536k"}},
		{Destination: "/dev/pts", Type: "devpts", Source: "devpts", Options: []string{"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}},
		{Destination: "/dev/mqueue", Type: "mqueue", Source: "mqueue", Options: []string{"nosuid", "noexec", "nodev"}},
		{Destination: "/dev/shm", Type: "tmpfs", Source: "shm", Options: []string{"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}},
		{Destination: "/sys", Type: "sysfs", Source: "sysfs", Options: []string{"nosuid", "noexec", "nodev", sysOpt}},
		{Destination: "/sys/fs/cgroup", Type: "cgroup", Source: "cgroup", Options: []string{"nosuid", "noexec", "nodev", "relatime", sysOpt}},
	}
}

// mounts are the defaults, then the sandbox's /etc/hostname, /etc/hosts
// and /etc/resolv.conf, then the CRI's mounts; a later mount at a
// destination replaces an earlier one there (the kubelet mounts its own
// /etc/hosts for pods off the host network).
func mounts(in specInput) ([]specs.Mount, error) {
	cfg := in.Config
	sc := cfg.GetLinux().GetSecurityContext()
	var out []specs.Mount
	put := func(m specs.Mount) {
		for i := range out {
			if filepath.Clean(out[i].Destination) == filepath.Clean(m.Destination) {
				out = append(out[:i], out[i+1:]...)
				break
			}
		}
		out = append(out, m)
	}
	for _, m := range defaultMounts(sc.GetPrivileged()) {
		put(m)
	}
	sb := in.Sandbox
	fileOpt := "rw"
	if sc.GetReadonlyRootfs() {
		fileOpt = "ro"
	}
	if sb.ShmPath != "" {
		put(specs.Mount{Destination: "/dev/shm", Type: "bind", Source: sb.ShmPath, Options: []string{"rbind", "rprivate", "rw"}})
	}
	for _, f := range []struct{ dst, src string }{
		{"/etc/hostname", sb.hostnamePath()},
		{"/etc/hosts", sb.hostsPath()},
		{"/etc/resolv.conf", sb.resolvPath()},
	} {
		put(specs.Mount{Destination: f.dst, Type: "bind", Source: f.src, Options: []string{"rbind", "rprivate", fileOpt}})
	}
	// An image volume's overlay is already the pod's (idmapped layers:
	// container_imagemount.go); overlayfs could not be idmapped again.
	premapped := map[string]bool{}
	for i, m := range cfg.GetMounts() {
		bm, err := bindMount(i, m)
		if err != nil {
			return nil, err
		}
		put(bm)
		premapped[filepath.Clean(bm.Destination)] = m.GetImage() != nil
	}
	if sb.UserNS != "" {
		// Through the pod's user namespace: the host root's files are
		// its root's (runc idmaps them by the namespace joined).
		for i := range out {
			if out[i].Type == "bind" && !premapped[filepath.Clean(out[i].Destination)] {
				out[i].Options = append(out[i].Options, "ridmap")
			}
		}
	}
	return out, nil
}

func bindMount(i int, m *runtimeapi.Mount) (specs.Mount, error) {
	field := func(f string) string { return "config.mounts[" + strconv.Itoa(i) + "]." + f }
	if !filepath.IsAbs(m.GetContainerPath()) {
		return specs.Mount{}, invalidArg(field("container_path"), "%q is not an absolute path", m.GetContainerPath())
	}
	if !filepath.IsAbs(m.GetHostPath()) {
		return specs.Mount{}, invalidArg(field("host_path"), "%q is not an absolute path", m.GetHostPath())
	}
	opts := []string{"rbind"}
	switch m.GetPropagation() {
	case runtimeapi.MountPropagation_PROPAGATION_PRIVATE:
		opts = append(opts, "rprivate")
	case runtimeapi.MountPropagation_PROPAGATION_HOST_TO_CONTAINER:
		opts = append(opts, "rslave")
	case runtimeapi.MountPropagation_PROPAGATION_BIDIRECTIONAL:
		opts = append(opts, "rshared")
	default:
		return specs.Mount{}, invalidArg(field("propagation"), "unknown propagation %v", m.GetPropagation())
	}
	if m.GetRecursiveReadOnly() && m.GetPropagation() != runtimeapi.MountPropagation_PROPAGATION_PRIVATE {
		// a read-only tree that mounts may enter later could not stay read-only
		return specs.Mount{}, invalidArg(field("recursive_read_only"), "needs propagation PROPAGATION_PRIVATE, not %v", m.GetPropagation())
	}
	if m.GetReadonly() {
		opts = append(opts, "ro")
		if m.GetRecursiveReadOnly() {
			opts = append(opts, "rro")
		}
	} else {
		if m.GetRecursiveReadOnly() {
			return specs.Mount{}, invalidArg(field("recursive_read_only"), "needs readonly")
		}
		opts = append(opts, "rw")
	}
	return specs.Mount{Destination: m.GetContainerPath(), Type: "bind", Source: m.GetHostPath(), Options: opts}, nil
}
