package testvm

import (
	"context"
	"os"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestGuestIsCgroupV2Only boots a guest and checks, from inside, what the
// tests that use it rely on: cgroup v2 alone with its controllers given to
// children, the machine's files beneath a writable overlay, the modules
// loaded on demand, no network but loopback, and the command's output,
// environment and exit status carried back.
func TestGuestIsCgroupV2Only(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("QEMU's 9p shares of / need root")
	}
	k := Require(t)
	work := t.TempDir()
	if err := os.WriteFile(work+"/shared", []byte("shared file\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	kept := t.TempDir() // in the host's /tmp, which the guest mounts its own over
	if err := os.WriteFile(kept+"/kept", []byte("kept file\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	osRelease, err := os.ReadFile("/etc/os-release")
	if err != nil {
		t.Fatal(err)
	}
	hostOS, _, _ := strings.Cut(string(osRelease), "\n")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	res, err := Run(ctx, Config{
		Kernel:  k,
		WorkDir: work,
		Keep:    []string{kept},
		Dir:     "/",
		Env:     []string{"GREETING=it's me"},
		Command: `
echo "greeting: $GREETING"
echo "fs: $(stat -f -c %T /sys/fs/cgroup)"
echo "subtree: $(cat /sys/fs/cgroup/cgroup.subtree_control)"
echo "self: $(cat /proc/self/cgroup)"
mkdir /tmp/v1 && mount -t cgroup -o memory none /tmp/v1 2>/dev/null && echo "v1: mounted" || echo "v1: refused"
echo "host file: $(head -n1 /etc/os-release)"
echo "shared file: $(cat ` + GuestWorkDir + `/shared)"
echo "kept file: $(cat ` + kept + `/kept)"
echo new >` + kept + `/new && echo "kept dir: writable"
echo written >/etc/testvm-wrote && echo "overlay: $(cat /etc/testvm-wrote)"
grep -q '^overlay ' /proc/modules || { mkdir -p /tmp/o/l /tmp/o/u /tmp/o/w /tmp/o/m && mount -t overlay -o lowerdir=/tmp/o/l,upperdir=/tmp/o/u,workdir=/tmp/o/w o /tmp/o/m; }
ip link add testvm0 type veth peer name testvm1 && echo "veth: made"
echo "links: $(ls /sys/class/net | grep -v testvm | tr '\n' ' ')"
exit 7
`,
	})
	if err != nil {
		t.Fatalf("%v\nconsole:\n%s\noutput:\n%s", err, res.Console, res.Output)
	}
	t.Logf("guest ran in %s", res.Elapsed.Round(time.Millisecond))
	if res.ExitCode != 7 {
		t.Errorf("exit code %d, want 7", res.ExitCode)
	}
	for _, want := range []string{
		"greeting: it's me",
		"fs: cgroup2fs",
		"self: 0::/init.scope",
		"v1: refused",
		"host file: " + hostOS,
		"shared file: shared file",
		"kept file: kept file",
		"kept dir: writable",
		"overlay: written",
		"veth: made",
		"links: lo \n",
	} {
		if !strings.Contains(res.Output, want) {
			t.Errorf("the guest's output lacks %q:\n%s", want, res.Output)
		}
	}
	subtree := ""
	for _, l := range strings.Split(res.Output, "\n") {
		if v, ok := strings.CutPrefix(l, "subtree: "); ok {
			subtree = v
		}
	}
	for _, c := range []string{"cpu", "memory", "pids", "io"} {
		if !slices.Contains(strings.Fields(subtree), c) {
			t.Errorf("controller %s not given to the root's children: subtree_control %q", c, subtree)
		}
	}
	for _, p := range []string{"/etc/testvm-wrote", kept + "/new"} {
		if _, err := os.Stat(p); err == nil {
			t.Errorf("the guest's write reached the host's %s", p)
		}
	}
}
