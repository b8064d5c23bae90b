package supervisor

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/kemudi/kemudi/internal/cri/supervisor/supervisortest"
)

// testNetNS makes a network namespace held by a bind mount, as the network
// package does, and removes it at the end of the test.
func testNetNS(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "net")
	err := onNewThread(func() error {
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			return err
		}
		return bindNamespace("/proc/thread-self/ns/net", p)
	})
	if err != nil {
		t.Fatalf("netns: %v", err)
	}
	t.Cleanup(func() { unbindNamespace(p) })
	return p
}

// podSpec joins the sandbox's namespaces by path (a new mount namespace
// and cgroup namespace of its own).
func podSpec(f *fixture, sb Sandbox, cgroup string, args ...string) *specs.Spec {
	s := supervisortest.Spec(f.rootfs, cgroup, args...)
	paths := map[specs.LinuxNamespaceType]string{
		specs.NetworkNamespace: sb.NetNS, specs.IPCNamespace: sb.IPCNS,
		specs.UTSNamespace: sb.UTSNS, specs.PIDNamespace: sb.PIDNS,
	}
	for i, ns := range s.Linux.Namespaces {
		if p, ok := paths[ns.Type]; ok {
			s.Linux.Namespaces[i].Path = p
		}
	}
	return s
}

func mounted(t *testing.T, path string) bool {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	return strings.Contains(string(b), " "+path+" ")
}

func TestSandbox(t *testing.T) {
	f := newFixture(t)
	netns := testNetNS(t)
	podCg := f.cgParent + "/pod"
	sb, err := f.c.CreateSandbox(ctx(t), SandboxSpec{
		ID: "pod", Hostname: "pod-host", NetNS: netns, SharePID: true, CgroupParent: podCg,
		Sysctls: map[string]string{"kernel.shmmax": "12345678", "net.ipv4.ip_forward": "1"},
	})
	if err != nil {
		t.Fatalf("CreateSandbox: %v", err)
	}
	if sb.NetNS != netns || sb.IPCNS == "" || sb.UTSNS == "" || sb.PIDNS == "" {
		t.Fatalf("sandbox %+v: want every namespace", sb)
	}
	if _, err := os.Stat(supervisortest.CgroupDir("memory", podCg)); err != nil {
		t.Errorf("pod cgroup: %v", err)
	}
	// The pause process is in a cgroup of its own under the pod's:
	// tearing the pod's down reaches it even without the supervisor, and
	// the pod's cgroup, holding no process itself, can give its
	// containers every controller on cgroup v2.
	pauseCg := supervisortest.CgroupDir("memory", podCg+"/pod")
	if procs, err := os.ReadFile(filepath.Join(pauseCg, "cgroup.procs")); err != nil ||
		!slices.Contains(strings.Fields(string(procs)), strconv.Itoa(pidOfNS(t, sb.PIDNS))) {
		t.Errorf("pause process %d not in %s: procs %q (%v)", pidOfNS(t, sb.PIDNS), pauseCg, procs, err)
	}
	if procs, err := os.ReadFile(filepath.Join(supervisortest.CgroupDir("memory", podCg), "cgroup.procs")); err != nil || len(strings.Fields(string(procs))) != 0 {
		t.Errorf("the pod's cgroup holds processes %q (%v), want none", procs, err)
	}
	if l, err := f.c.ListSandboxes(ctx(t)); err != nil || len(l) != 1 || l[0] != sb {
		t.Errorf("ListSandboxes: %+v %v, want the sandbox", l, err)
	}
	limited := podSpec(f, sb, podCg+"/c1", "sleep", "1000")
	limit := int64(48 << 20)
	limited.Linux.Resources.Memory = &specs.LinuxMemory{Limit: &limit}
	f.runSpec(ContainerSpec{ID: "c1", SandboxID: "pod", Spec: limited})
	controller, file := "memory", "memory.limit_in_bytes"
	if supervisortest.IsV2() {
		controller, file = "", "memory.max"
	}
	if got, err := supervisortest.CgroupFile(controller, podCg+"/c1", file); err != nil || got != strconv.FormatInt(limit, 10) {
		t.Errorf("memory limit of a pod's container: %q (%v), want %d", got, err, limit)
	}
	if st, err := f.c.SandboxStats(ctx(t), "pod"); err != nil || st.Pids < 1 || st.MemoryUsage == 0 {
		t.Errorf("SandboxStats with a container running: %+v %v, want its pids and memory", st, err)
	}
	log := f.logPath("c2")
	// An orphan's parent is the pause process, which must reap it.
	f.runSpec(ContainerSpec{ID: "c2", SandboxID: "pod", LogPath: log, Spec: podSpec(f, sb, podCg+"/c2", "sh", "-c",
		"hostname; cat /proc/sys/kernel/shmmax /proc/sys/net/ipv4/ip_forward; ps -o args; "+
			"(sleep 0.1 &); sleep 0.3; for i in $(seq 100); do z=$(grep -l ') Z ' /proc/[0-9]*/stat); [ -z \"$z\" ] && break; sleep 0.1; done; echo \"zombies:$z.\"")})
	if st := f.waitStatus(f.c, "c2", Exited); st.ExitCode != 0 {
		t.Fatalf("c2 exit code %d", st.ExitCode)
	}
	out := strings.Join(logEntries(t, log), "\n")
	// The hostname and sysctls of the pod, and the other container's
	// process and the pause process in the shared PID namespace.
	for _, want := range []string{"stdout F pod-host\n", "stdout F 12345678\n", "stdout F 1\n", "stdout F sleep 1000\n", "kemudi-pause", "stdout F zombies:."} {
		if !strings.Contains(out, want) {
			t.Errorf("c2's output lacks %q:\n%s", want, out)
		}
	}

	for _, id := range []string{"c1", "c2"} {
		f.c.Signal(ctx(t), id, unix.SIGKILL)
		f.waitStatus(f.c, id, Exited)
		if err := f.c.Delete(ctx(t), id); err != nil {
			t.Fatalf("Delete %s: %v", id, err)
		}
	}
	pausePid := pidOfNS(t, sb.PIDNS)
	if err := f.c.RemoveSandbox(ctx(t), "pod"); err != nil {
		t.Fatalf("RemoveSandbox: %v", err)
	}
	if processAlive(pausePid) {
		t.Errorf("pause process %d alive after RemoveSandbox", pausePid)
	}
	for _, p := range []string{sb.IPCNS, sb.UTSNS} {
		if mounted(t, p) {
			t.Errorf("%s still mounted", p)
		}
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("%s left: %v", p, err)
		}
	}
	if _, err := os.Stat(supervisortest.CgroupDir("memory", podCg)); !os.IsNotExist(err) {
		t.Errorf("pod cgroup left: %v", err)
	}
	if err := f.c.RemoveSandbox(ctx(t), "pod"); err != nil {
		t.Errorf("RemoveSandbox again: %v", err)
	}
	if l, err := f.c.ListSandboxes(ctx(t)); err != nil || len(l) != 0 {
		t.Errorf("ListSandboxes after removal: %+v %v", l, err)
	}
}

func pidOfNS(t *testing.T, path string) int {
	var pid int
	if _, err := fmtSscanf(path, "/proc/%d/ns/pid", &pid); err != nil {
		t.Fatalf("pid namespace path %q: %v", path, err)
	}
	return pid
}

func TestSandboxBadSysctl(t *testing.T) {
	f := newFixture(t)
	for _, tc := range []struct {
		name string
		spec SandboxSpec
	}{
		{"not namespaced", SandboxSpec{ID: "a", Sysctls: map[string]string{"vm.swappiness": "1"}}},
		{"net with host network", SandboxSpec{ID: "b", Sysctls: map[string]string{"net.ipv4.ip_forward": "1"}}},
		{"ipc with host ipc", SandboxSpec{ID: "c", HostIPC: true, Sysctls: map[string]string{"kernel.shmmax": "1"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := f.c.CreateSandbox(ctx(t), tc.spec)
			if err == nil || !strings.Contains(err.Error(), "sysctl") {
				t.Errorf("err %v, want a sysctl error", err)
			}
			if _, err := os.Stat(filepath.Join(f.root, "sandboxes", tc.spec.ID)); !os.IsNotExist(err) {
				t.Errorf("sandbox left: %v", err)
			}
		})
	}
}

var fmtSscanf = fmt.Sscanf

// In a shared PID namespace, the processes a container's init leaves
// behind end with it.
func TestSharedPIDLeftoversKilled(t *testing.T) {
	f := newFixture(t)
	podCg := f.cgParent + "/pod"
	sb, err := f.c.CreateSandbox(ctx(t), SandboxSpec{ID: "pod", SharePID: true, CgroupParent: podCg})
	if err != nil {
		t.Fatal(err)
	}
	f.runSpec(ContainerSpec{ID: "bg", SandboxID: "pod", Spec: podSpec(f, sb, podCg+"/bg", "sh", "-c", "sleep 1000 & exit 3")})
	if st := f.waitStatus(f.c, "bg", Exited); st.ExitCode != 3 {
		t.Errorf("exit code %d, want 3", st.ExitCode)
	}
	waitFor(t, 5*time.Second, "the background sleep gone", func() (bool, error) {
		procs, err := supervisortest.CgroupFile("pids", podCg+"/bg", "cgroup.procs")
		return err == nil && procs == "", err
	})
}

// TestSandboxUserNamespace: a sandbox with a user namespace makes its
// network, IPC, UTS and PID namespaces inside it; a container that joins
// them all is root in the namespace but host ID 3276800 outside, sees
// the pod's hostname and sysctls, and can mount sysfs (its network
// namespace belongs to the pod's user namespace). Removal leaves nothing.
func TestSandboxUserNamespace(t *testing.T) {
	f := newFixture(t)
	netns := filepath.Join(t.TempDir(), "net")
	t.Cleanup(func() { unbindNamespace(netns) })
	podCg := f.cgParent + "/pod"
	ids := []specs.LinuxIDMapping{{ContainerID: 0, HostID: 3276800, Size: 65536}}
	sb, err := f.c.CreateSandbox(ctx(t), SandboxSpec{
		ID: "pod", Hostname: "userns-host", NetNS: netns, SharePID: true, CgroupParent: podCg,
		Sysctls: map[string]string{"kernel.shmmax": "7654321", "net.ipv4.ip_forward": "1"},
		Userns:  &UserNamespace{UIDMappings: ids, GIDMappings: ids},
	})
	if err != nil {
		t.Fatalf("CreateSandbox: %v", err)
	}
	if sb.UserNS == "" || sb.NetNS != netns || sb.IPCNS == "" || sb.UTSNS == "" || sb.PIDNS == "" {
		t.Fatalf("sandbox %+v: want every namespace", sb)
	}
	spec := podSpec(f, sb, podCg+"/c", "sh", "-c", "cat /proc/self/uid_map /proc/self/gid_map; id -u; hostname; "+
		"cat /proc/sys/kernel/shmmax /proc/sys/net/ipv4/ip_forward; ls /sys/class/net; ps -o args")
	spec.Linux.Namespaces = append(spec.Linux.Namespaces, specs.LinuxNamespace{Type: specs.UserNamespace, Path: sb.UserNS})
	// The pod's root is no one on the host: it reaches the rootfs only
	// through directories others may search, as the runtime makes them.
	for d := filepath.Dir(f.rootfs); d != os.TempDir() && d != "/"; d = filepath.Dir(d) {
		if err := os.Chmod(d, 0o711); err != nil {
			t.Fatal(err)
		}
	}
	log := f.logPath("c")
	f.runSpec(ContainerSpec{ID: "c", SandboxID: "pod", LogPath: log, Spec: spec})
	st := f.waitStatus(f.c, "c", Exited)
	out := strings.Join(logEntries(t, log), "\n")
	if st.ExitCode != 0 {
		t.Fatalf("exit code %d:\n%s", st.ExitCode, out)
	}
	for _, want := range []string{"0    3276800      65536", "stdout F 0\n", "stdout F userns-host\n", "stdout F 7654321\n", "stdout F 1\n", "stdout F lo\n", "kemudi-pause"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if err := f.c.Delete(ctx(t), "c"); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	pausePid := pidOfNS(t, sb.PIDNS)
	if err := f.c.RemoveSandbox(ctx(t), "pod"); err != nil {
		t.Fatalf("RemoveSandbox: %v", err)
	}
	if processAlive(pausePid) {
		t.Errorf("pause process %d alive after RemoveSandbox", pausePid)
	}
	for _, p := range []string{sb.UserNS, sb.IPCNS, sb.UTSNS} {
		if mounted(t, p) {
			t.Errorf("%s still mounted", p)
		}
	}
}
