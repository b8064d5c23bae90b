package supervisor

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/opencontainers/cgroups"
	"github.com/opencontainers/runc/libcontainer/configs"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/kemudi/kemudi/internal/cri/supervisor/supervisortest"
)

func TestCgroupV1ViewExpand(t *testing.T) {
	const ro = unix.MS_NOSUID | unix.MS_NOEXEC | unix.MS_NODEV | unix.MS_RDONLY
	hierarchies := []cgroups.Mount{
		{Mountpoint: "/sys/fs/cgroup/memory", Root: "/", Subsystems: []string{"memory"}},
		{Mountpoint: "/sys/fs/cgroup/systemd", Root: "/", Subsystems: []string{"systemd"}},
	}
	paths := map[string]string{"memory": "/sys/fs/cgroup/memory/pod/c", "name=systemd": "/sys/fs/cgroup/systemd/pod/c", "": "/sys/fs/cgroup/unified/pod/c"}
	proc := &configs.Mount{Device: "proc", Destination: "/proc"}
	cgroupMount := &configs.Mount{Device: "cgroup", Source: "cgroup", Destination: "/sys/fs/cgroup", Flags: ro, PropagationFlags: []int{unix.MS_SLAVE}}
	hosts := &configs.Mount{Device: "bind", Source: "/h", Destination: "/etc/hosts"}
	expanded := []*configs.Mount{
		proc,
		{Device: "tmpfs", Source: "tmpfs", Destination: "/sys/fs/cgroup", Flags: unix.MS_NOEXEC | unix.MS_NOSUID | unix.MS_NODEV, Data: "mode=755", PropagationFlags: []int{unix.MS_SLAVE}},
		{Device: "bind", Source: "/sys/fs/cgroup/memory/pod/c", Destination: "/sys/fs/cgroup/memory", Flags: unix.MS_BIND | unix.MS_REC | ro, PropagationFlags: []int{unix.MS_SLAVE}},
		{Device: "bind", Source: "/sys/fs/cgroup/systemd/pod/c", Destination: "/sys/fs/cgroup/systemd", Flags: unix.MS_BIND | unix.MS_REC | ro, PropagationFlags: []int{unix.MS_SLAVE}},
		hosts,
	}
	unchanged := []*configs.Mount{proc, cgroupMount, hosts}
	for _, tc := range []struct {
		name        string
		hierarchies []cgroups.Mount
		paths       map[string]string
		namespaces  configs.Namespaces
		want        []*configs.Mount
	}{
		{"each hierarchy bound at the container's cgroup", hierarchies, paths, nil, expanded},
		{"hierarchies mounted together are left to runc", append([]cgroups.Mount{{Mountpoint: "/sys/fs/cgroup/cpu,cpuacct", Subsystems: []string{"cpu", "cpuacct"}}}, hierarchies...), paths, nil, unchanged},
		{"a hierarchy the manager does not join", hierarchies, map[string]string{"memory": "/sys/fs/cgroup/memory/pod/c"}, nil, unchanged},
		{"a path outside its hierarchy", hierarchies, map[string]string{"memory": "/elsewhere/pod/c", "name=systemd": "/sys/fs/cgroup/systemd/pod/c"}, nil, unchanged},
		{"a user namespace", hierarchies, paths, configs.Namespaces{{Type: configs.NEWUSER}}, unchanged},
		{"a cgroup namespace", hierarchies, paths, configs.Namespaces{{Type: configs.NEWCGROUP}}, unchanged},
		{"no hierarchies (cgroup v2)", nil, paths, nil, unchanged},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := &configs.Config{Mounts: []*configs.Mount{proc, cgroupMount, hosts}, Namespaces: tc.namespaces}
			viewOf(tc.hierarchies).expand(cfg, tc.paths)
			if !reflect.DeepEqual(cfg.Mounts, tc.want) {
				var got []string
				for _, m := range cfg.Mounts {
					got = append(got, m.Device+" "+m.Source+" "+m.Destination)
				}
				t.Errorf("mounts:\n%s", strings.Join(got, "\n"))
			}
		})
	}
}

// A container without a cgroup namespace (the CRI's on cgroup v1) sees at
// /sys/fs/cgroup what runc's init makes of the spec's cgroup mount: its own
// cgroup in each hierarchy, read-only, on a writable tmpfs. Compared with a
// container whose mount runc makes itself (one with a cgroup namespace).
func TestCgroupV1View(t *testing.T) {
	if viewOf(mustCgroupMounts(t)).hierarchies == nil {
		t.Skip("runc mounts the cgroups itself on this host (cgroup v2, or hierarchies mounted together)")
	}
	f := newFixture(t)
	const script = "ls /sys/fs/cgroup; ls /sys/fs/cgroup/memory; cat /sys/fs/cgroup/memory/memory.limit_in_bytes; " +
		"touch /sys/fs/cgroup/memory/x /sys/fs/cgroup/x 2>&1; ls /sys/fs/cgroup; " +
		"grep ' /sys/fs/cgroup/memory ' /proc/self/mountinfo | cut -d' ' -f4,6 >&2"
	limit := int64(64 << 20)
	out := map[bool][]string{}
	for _, cgroupNS := range []bool{false, true} {
		id := fmt.Sprintf("c-cgroupns-%v", cgroupNS)
		s := supervisortest.Spec(f.rootfs, f.cgroup(id), "sh", "-c", script)
		s.Linux.Resources = &specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: &limit}}
		if !cgroupNS {
			s.Linux.Namespaces = slices.DeleteFunc(s.Linux.Namespaces, func(ns specs.LinuxNamespace) bool { return ns.Type == specs.CgroupNamespace })
		}
		f.runSpec(ContainerSpec{ID: id, LogPath: f.logPath(id), Spec: s})
		if st := f.waitStatus(f.c, id, Exited); st.ExitCode != 0 {
			t.Fatalf("%s exit code %d: %q", id, st.ExitCode, logEntries(t, f.logPath(id)))
		}
		out[cgroupNS] = logEntries(t, f.logPath(id))
	}
	stdout := func(entries []string) (o []string) {
		for _, e := range entries {
			if strings.HasPrefix(e, "stdout") {
				o = append(o, e)
			}
		}
		return o
	}
	if got, want := stdout(out[false]), stdout(out[true]); !slices.Equal(got, want) {
		t.Errorf("/sys/fs/cgroup seen by the container:\n%s\nwhen runc mounts it:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	for _, want := range []string{"stdout F 67108864", "stdout F touch: /sys/fs/cgroup/memory/x: Read-only file system",
		"stderr F " + f.cgroup("c-cgroupns-false") + " ro,nosuid,nodev,noexec,relatime"} {
		if !slices.Contains(out[false], want) {
			t.Errorf("the container's output lacks %q:\n%s", want, strings.Join(out[false], "\n"))
		}
	}
}

func mustCgroupMounts(t *testing.T) []cgroups.Mount {
	t.Helper()
	if cgroups.IsCgroup2UnifiedMode() {
		return nil
	}
	hs, err := cgroups.GetCgroupMounts(false)
	if err != nil {
		t.Fatal(err)
	}
	return hs
}
