package supervisor

import (
	"path/filepath"
	"strings"

	"github.com/opencontainers/cgroups"
	"github.com/opencontainers/runc/libcontainer/configs"
	"golang.org/x/sys/unix"
)

// cgroupV1View makes a container's cgroup v1 mount (/sys/fs/cgroup) from
// the node's hierarchies, read once when the supervisor starts, instead of
// leaving it to runc's init. The init would list them from its own
// /proc/self/mountinfo, which holds every pod's mounts (its network
// namespace, IPC and UTS holders, shm, rootfs): with 100 pods that read
// was 15% of an init's CPU, and it grows with each pod.
//
// The result is what the init would have mounted: a tmpfs, then a bind of
// the container's own cgroup in each hierarchy. Where runc would do more
// or otherwise (cgroup v2, hierarchies that share a mount, such as
// cpu,cpuacct and their links; a hierarchy the container's cgroup manager
// does not join; a user or cgroup namespace), the mount is left to runc.
type cgroupV1View struct {
	hierarchies []cgroups.Mount // nil: leave the mount to runc
}

func newCgroupV1View() cgroupV1View {
	if cgroups.IsCgroup2UnifiedMode() {
		return cgroupV1View{}
	}
	hs, err := cgroups.GetCgroupMounts(false)
	if err != nil {
		return cgroupV1View{}
	}
	return viewOf(hs)
}

// viewOf is the view of the hierarchies hs, empty when one of them is
// mounted with others (runc links their names to it).
func viewOf(hs []cgroups.Mount) cgroupV1View {
	for _, h := range hs {
		if len(h.Subsystems) == 0 || strings.Contains(filepath.Base(h.Mountpoint), ",") {
			return cgroupV1View{}
		}
	}
	return cgroupV1View{hierarchies: hs}
}

// expand replaces cfg's cgroup mount; paths are the container's cgroup
// directories by subsystem, as its cgroup manager made them.
func (v cgroupV1View) expand(cfg *configs.Config, paths map[string]string) {
	if v.hierarchies == nil || cfg.Namespaces.Contains(configs.NEWUSER) || cfg.Namespaces.Contains(configs.NEWCGROUP) {
		return
	}
	for i, m := range cfg.Mounts {
		if m.Device != "cgroup" {
			continue
		}
		mounts, ok := v.mounts(m, paths)
		if !ok {
			return
		}
		cfg.Mounts = append(cfg.Mounts[:i:i], append(mounts, cfg.Mounts[i+1:]...)...)
		return
	}
}

// mounts are runc's for m (mountCgroupV1, without a cgroup namespace).
func (v cgroupV1View) mounts(m *configs.Mount, paths map[string]string) ([]*configs.Mount, bool) {
	out := []*configs.Mount{{
		Source: "tmpfs", Device: "tmpfs", Destination: m.Destination,
		Flags: unix.MS_NOEXEC | unix.MS_NOSUID | unix.MS_NODEV, Data: "mode=755",
		PropagationFlags: m.PropagationFlags,
	}}
	for _, h := range v.hierarchies {
		// runc binds the init's cgroup of the hierarchy's first subsystem.
		src, ok := paths[h.Subsystems[0]]
		if !ok {
			src, ok = paths[cgroups.CgroupNamePrefix+h.Subsystems[0]]
		}
		if !ok || !strings.HasPrefix(src+"/", h.Mountpoint+"/") {
			return nil, false
		}
		out = append(out, &configs.Mount{
			Source: src, Device: "bind",
			Destination:      filepath.Join(m.Destination, filepath.Base(h.Mountpoint)),
			Flags:            unix.MS_BIND | unix.MS_REC | m.Flags,
			PropagationFlags: m.PropagationFlags,
		})
	}
	return out, true
}
