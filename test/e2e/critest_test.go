package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/kemudi/kemudi/bench/harness"
	"github.com/kemudi/kemudi/internal/testimages"
)

// critestSkips are the critest specs kemudi runtime is not asked to pass,
// each a regular expression over the spec's full text, with the reason.
// Everything else must pass. critest itself also skips, by what the
// runtime reports: image volumes (CreateContainer answers Unimplemented),
// user namespaces and SupplementalGroupsPolicy (not in the runtime's
// features), the CRI metrics endpoints if unimplemented, NRI (no
// -nri-socket), and its benchmarks.
var critestSkips = []struct{ spec, why string }{
	{`public image with digest should be pulled and removed`,
		"names gcr.io/k8s-staging-cri-tools/test-image-digest@sha256:9700f9a2…: that manifest cannot be rebuilt here without the internet (a digest is the hash of the original bytes)"},
	{`runtime should support MaskedPaths`,
		"checks that `sh -c ls` fails once /bin/ls is masked; Debian's busybox-static is built as a standalone shell (ash runs its applets in process, never exec'ing /bin/ls), so no image made here can show it; the runtime does mask the path (libcontainer's maskedPaths)"},
	{`AppArmor`, "AppArmor is not supported by kemudi runtime (critest skips it itself where the host has no AppArmor)"},
	{`SELinux`, "SELinux is not supported by kemudi runtime (critest skips it itself where the host has no SELinux)"},
}

// TestCritest runs cri-tools' validation suite, critest, against kemudi
// runtime in a network namespace of its own, with every image critest
// names served from a loopback registry through the runtime's registry
// mirrors (--registry-config). $CRITEST is the critest binary (built with
// `go test -c ./cmd/critest` in cri-tools v1.37.0); without it the test
// is skipped, except in CI ($CI set), where it fails. KEMUDI_CRITEST_FOCUS
// runs only the specs matching it; KEMUDI_CRITEST_LOG keeps critest's
// whole output in that file; KEMUDI_CRITEST_OCI_RUNTIME runs the runtime
// with --oci-runtime that binary (runc) instead of its libcontainer.
func TestCritest(t *testing.T) {
	t.Parallel()
	bin := os.Getenv("CRITEST")
	if bin == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("CI must set $CRITEST to cri-tools' critest (v1.37.0): see .ci/run")
		}
		t.Skip("$CRITEST is not set (cri-tools' critest binary)")
	}
	if os.Geteuid() != 0 {
		t.Skip("the runtime needs root")
	}
	n := newCritestNode(t)
	args := []string{"--net=" + n.netnsPath, bin,
		"--runtime-endpoint", "unix://" + n.sock, "--image-endpoint", "unix://" + n.sock,
		"--config", filepath.Join(n.dir, "crictl.yaml"),
		"--ginkgo.no-color", "--ginkgo.timeout", "40m",
		"--report-dir", n.dir,
	}
	for _, s := range critestSkips {
		args = append(args, "--ginkgo.skip", s.spec)
	}
	if focus := os.Getenv("KEMUDI_CRITEST_FOCUS"); focus != "" {
		args = append(args, "--ginkgo.focus", focus)
	}
	cmd := exec.Command("nsenter", args...)
	cmd.Dir = n.dir
	var out syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	err := cmd.Run()
	text := out.String()
	summary := regexp.MustCompile(`Ran \d+ of \d+ Specs[^\n]*\n[^\n]*`).FindString(text)
	t.Logf("critest (%s): %s", time.Since(start).Round(time.Second), summary)
	if p := os.Getenv("KEMUDI_CRITEST_LOG"); p != "" {
		_ = os.WriteFile(p, []byte(text+"\n--- runtime log ---\n"+n.proc.Tail()), 0o644)
	}
	if err != nil || !strings.Contains(text, "SUCCESS!") {
		t.Errorf("critest: %v\n%s\nruntime log:\n%s", err, critestFailures(text), n.proc.Tail())
	}
}

// critestFailures is the part of critest's output that says what failed:
// its summary of failures, else its last lines.
func critestFailures(out string) string {
	if i := strings.LastIndex(out, "Summarizing"); i >= 0 {
		return out[i:]
	}
	return lastLines(out, 80)
}

type critestNode struct {
	dir, netnsPath, sock string
	proc                 *harness.Process
}

// newCritestNode makes a network namespace with a registry on its
// loopback holding critest's images, and starts kemudi runtime in it with
// a registries.yaml that mirrors critest's registries to that registry.
func newCritestNode(t *testing.T) *critestNode {
	t.Helper()
	kemudi := kemudiWithSupervisor(t)
	n := &critestNode{dir: t.TempDir()}
	root, state := filepath.Join(n.dir, "root"), filepath.Join(n.dir, "state")
	n.sock = filepath.Join(n.dir, "cri.sock")
	// critest reads endpoints from a crictl config when flags are missing:
	// this one, never the host's /etc/crictl.yaml.
	if err := os.WriteFile(filepath.Join(n.dir, "crictl.yaml"), []byte("runtime-endpoint: unix://"+n.sock+"\nimage-endpoint: unix://"+n.sock+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	name := "kemudi-critest-" + randHex(4)
	cgroupParent := "/" + name
	t.Cleanup(func() { removeCgroup(t, cgroupParent) })
	n.netnsPath = "/var/run/netns/" + name
	run(t, "ip", "netns", "add", name)
	t.Cleanup(func() { run(t, "ip", "netns", "del", name) })
	run(t, "nsenter", "--net="+n.netnsPath, "ip", "link", "set", "lo", "up")
	t.Cleanup(func() {
		for _, pid := range harness.ProcessesMentioning(root) {
			if p, err := os.FindProcess(pid); err == nil {
				_ = p.Kill()
			}
		}
	})
	reg := registryIn(t, n.netnsPath)
	t.Cleanup(reg.Close)
	if err := reg.PushCRITestImages(); err != nil {
		t.Fatal(err)
	}
	registries := filepath.Join(n.dir, "registries.yaml")
	if err := os.WriteFile(registries, []byte(testimages.CRITestRegistriesYAML(reg.Host)), 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{"--net=" + n.netnsPath, kemudi, "runtime", "--root", root, "--state-dir", state,
		"--listen", n.sock, "--pod-cidr", "10.42.0.0/24", "--cgroup-parent", cgroupParent,
		"--registry-config", registries}
	if bin := os.Getenv("KEMUDI_CRITEST_OCI_RUNTIME"); bin != "" {
		args = append(args, "--oci-runtime", bin)
	}
	p, err := harness.StartProcess("runtime", "nsenter", "serving CRI", nil, args...)
	if err != nil {
		t.Fatal(err)
	}
	n.proc = p
	crictl := crictlBinary(t)
	t.Cleanup(func() {
		// whatever a failed spec left: pods first, while the runtime runs
		if out, err := exec.Command(crictl, "--config", filepath.Join(n.dir, "crictl.yaml"), "rmp", "-a", "-f").CombinedOutput(); err != nil {
			t.Logf("crictl rmp -a -f: %v\n%s", err, out)
		}
		if !p.Exited() {
			if err := p.Stop(30 * time.Second); err != nil {
				t.Errorf("stop runtime: %v", err)
			}
		}
		unmountUnder(t, n.dir)
	})
	if err := p.WaitReady(2 * time.Minute); err != nil {
		t.Fatalf("runtime: %v\n%s", err, p.Tail())
	}
	return n
}
