// Package cgroupv2 runs again, on a host with cgroup v2 alone, the tests
// whose outcome the host's cgroups decide: the container supervisor's (pod
// and container cgroups, limits, kills, stats), the runtime's metrics, the
// runtime's end-to-end tests with crictl and critest, the kubelet's pod
// cgroups and in-place resize, and a one-machine cluster running a
// Deployment. This machine has
// v1 controllers beside a v2 mount, as CI's does; most users' hosts
// (Debian 12 among them) have v2 alone. The host is a guest kernel under
// QEMU (internal/testvm), so these run several times slower than on the
// machine: only the tests that differ there run.
package cgroupv2

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/kemudi/kemudi/bench/harness"
	"github.com/kemudi/kemudi/internal/testvm"
)

// suite is one package's test binary and the tests of it to run.
type suite struct {
	name, pkg string
	// run is the -test.run pattern ("" runs all).
	run string
	// env is what the tests need beyond a root shell's.
	env []string
}

// TestMain removes the kemudi a test built when KEMUDI_BIN named none.
func TestMain(m *testing.M) {
	code := m.Run()
	harness.CleanupSharedBinary()
	os.Exit(code)
}

func TestOnCgroupV2(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("containers and QEMU's share of / need root")
	}
	k := testvm.Require(t)
	// go test runs in the package's directory, test/cgroupv2.
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	work := t.TempDir()
	kemudi := harness.BinaryWithSupervisor(t)
	e2eEnv := []string{"KEMUDI_BIN=" + kemudi}
	for _, tool := range []string{"CRICTL", "CRITEST", "CI"} {
		if v := os.Getenv(tool); v != "" {
			e2eEnv = append(e2eEnv, tool+"="+v)
		}
	}
	suites := []suite{
		{name: "supervisor", pkg: "./internal/cri/supervisor"},
		{name: "metrics", pkg: "./internal/cri/metrics"},
		// The runtime with crictl and critest, and a whole one-machine
		// cluster (kemudi server) running a Deployment.
		{name: "e2e", pkg: "./test/e2e", run: "^(TestRuntime.*|TestCritest|TestServerNodeRunsDeployment)$", env: e2eEnv},
		// The kubelet's pod cgroups, and their limits changed in place, on
		// kemudi's runtime (containerd's variants add nothing of ours).
		{name: "kubelet", pkg: "./internal/kubelet", run: "^(TestDeployment|TestInPlaceResize)$/^kemudi$", env: e2eEnv},
	}
	for _, s := range suites {
		t.Run(s.name, func(t *testing.T) {
			bin := filepath.Join(work, s.name+".test")
			build := exec.Command("go", "test", "-c", "-o", bin, s.pkg)
			build.Dir = root
			if out, err := build.CombinedOutput(); err != nil {
				t.Fatalf("go test -c %s: %v\n%s", s.pkg, err, out)
			}
			args := []string{filepath.Join(testvm.GuestWorkDir, s.name+".test"), "-test.v", "-test.timeout", "25m"}
			if s.run != "" {
				args = append(args, "-test.run", s.run)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
			defer cancel()
			res, err := testvm.Run(ctx, testvm.Config{
				Kernel:    k,
				MemoryMiB: 6144,
				WorkDir:   work,
				// The checkout and kemudi may be in /tmp (the guest's own).
				Keep: []string{root, filepath.Dir(kemudi)},
				Dir:  filepath.Join(root, s.pkg),
				// The host's PATH: go, crictl, runc and crun where CI put them.
				Env:  append([]string{"PATH=" + os.Getenv("PATH"), "GOPROXY=off"}, s.env...),
				Args: args,
			})
			t.Logf("%s in the guest: %s, %s", s.pkg, res.Elapsed.Round(time.Second), summary(res.Output))
			if err != nil {
				t.Fatalf("%v\nconsole:\n%s\noutput:\n%s", err, harness.LastBytes(res.Console, 4<<10), harness.LastBytes(res.Output, 64<<10))
			}
			if res.ExitCode != 0 {
				t.Errorf("%s failed on cgroup v2 (exit status %d):\n%s", s.pkg, res.ExitCode, failures(res.Output))
			}
		})
	}
}

var resultLine = regexp.MustCompile(`(?m)^--- (PASS|FAIL|SKIP): (\S+)`)

// summary counts the top-level tests that passed, failed and were skipped,
// and names the skipped.
func summary(out string) string {
	n := map[string]int{}
	var skipped []string
	for _, m := range resultLine.FindAllStringSubmatch(out, -1) {
		n[m[1]]++
		if m[1] == "SKIP" {
			skipped = append(skipped, m[2])
		}
	}
	s := fmt.Sprintf("%d passed, %d failed, %d skipped", n["PASS"], n["FAIL"], n["SKIP"])
	if len(skipped) > 0 {
		s += " (" + strings.Join(skipped, ", ") + ")"
	}
	return s
}

// failures is what the tests that failed logged: go test -v heads each
// stretch of a test's lines with "=== RUN", "=== CONT" or "=== NAME" and
// its name.
func failures(out string) string {
	blocks := map[string]*strings.Builder{}
	var failed []string
	name := ""
	for _, l := range strings.Split(out, "\n") {
		if h, ok := strings.CutPrefix(l, "=== "); ok {
			if f := strings.Fields(h); len(f) == 2 {
				name = f[1]
			}
		}
		if f := strings.Fields(l); len(f) >= 3 && f[0] == "---" && f[1] == "FAIL:" {
			failed = append(failed, f[2])
		}
		if blocks[name] == nil {
			blocks[name] = new(strings.Builder)
		}
		blocks[name].WriteString(l + "\n")
	}
	var b strings.Builder
	for _, n := range failed {
		if blk := blocks[n]; blk != nil {
			b.WriteString(blk.String())
		}
	}
	if b.Len() == 0 {
		return harness.LastBytes(out, 16<<10)
	}
	return harness.LastBytes(b.String(), 64<<10)
}
