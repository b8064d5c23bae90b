package e2e

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kemudi/kemudi/bench/harness"
	"github.com/kemudi/kemudi/internal/testimages"
)

// crictlVersion is the crictl the runtime e2e tests drive; CI installs it
// the same way: GOBIN=<cache>/bin go install sigs.k8s.io/cri-tools/cmd/crictl@<version>.
const crictlVersion = "v1.37.0"

// crictlBinary returns $CRICTL, else crictl from the test cache, built
// from the Go module proxy the first time.
func crictlBinary(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("CRICTL"); p != "" {
		return p
	}
	dir := os.Getenv("KEMUDI_E2E_CACHE")
	if dir == "" {
		c, err := os.UserCacheDir()
		if err != nil {
			t.Fatal(err)
		}
		dir = filepath.Join(c, "kemudi-e2e")
	}
	bin := filepath.Join(dir, "bin", "crictl-"+crictlVersion)
	if _, err := os.Stat(bin); err == nil {
		return bin
	}
	gobin := filepath.Join(dir, "bin", "install-"+randHex(4))
	defer os.RemoveAll(gobin)
	cmd := exec.Command("go", "install", "sigs.k8s.io/cri-tools/cmd/crictl@"+crictlVersion)
	cmd.Env = append(os.Environ(), "GOBIN="+gobin, "GOFLAGS=")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go install crictl: %v\n%s", err, out)
	}
	if err := os.Rename(filepath.Join(gobin, "crictl"), bin); err != nil {
		t.Fatal(err)
	}
	return bin
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// runtimeNode is one `kemudi runtime` inside a network namespace the test
// made (the node), with a registry on that namespace's loopback.
type runtimeNode struct {
	t                    *testing.T
	bin, crictlBin       string
	netnsName, netnsPath string
	root, stateDir, sock string
	logDir, crictlConfig string
	cgroupParent         string
	registry             *testimages.Registry
	proc                 *harness.Process
	args                 []string // more flags of `kemudi runtime`
}

// newRuntimeNode makes the node's network namespace, a registry in it with
// a busybox image as busybox:1, and starts the runtime, with args as more
// flags.
func newRuntimeNode(t *testing.T, args ...string) *runtimeNode {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("the runtime needs root")
	}
	n := &runtimeNode{t: t, crictlBin: crictlBinary(t), bin: kemudiWithSupervisor(t), args: args}
	tmp := t.TempDir()
	n.root, n.stateDir = filepath.Join(tmp, "root"), filepath.Join(tmp, "state")
	n.sock, n.logDir = filepath.Join(tmp, "cri.sock"), filepath.Join(tmp, "logs")
	// crictl's own config, so that nothing comes from the host's /etc/crictl.yaml
	n.crictlConfig = filepath.Join(tmp, "crictl.yaml")
	if err := os.WriteFile(n.crictlConfig, []byte("runtime-endpoint: unix://"+n.sock+"\nimage-endpoint: unix://"+n.sock+"\ntimeout: 60\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	n.netnsName = "kemudi-e2e-" + randHex(4)
	n.cgroupParent = "/" + n.netnsName
	t.Cleanup(func() { removeCgroup(t, n.cgroupParent) })
	n.netnsPath = "/var/run/netns/" + n.netnsName
	run(t, "ip", "netns", "add", n.netnsName)
	t.Cleanup(func() { run(t, "ip", "netns", "del", n.netnsName) })
	run(t, "nsenter", "--net="+n.netnsPath, "ip", "link", "set", "lo", "up")
	t.Cleanup(n.killSupervisor) // after the runtime has stopped (cleanups run last first)
	n.registry = registryIn(t, n.netnsPath)
	t.Cleanup(n.registry.Close)
	img, err := testimages.Busybox()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := n.registry.Push("busybox:1", img); err != nil {
		t.Fatal(err)
	}
	n.start()
	t.Cleanup(func() {
		// whatever a failed test left: pods first, while the runtime runs
		if out, err := n.tryCrictl("rmp", "-a", "-f"); err != nil {
			t.Logf("crictl rmp -a -f: %v\n%s", err, out)
		}
		if n.proc != nil && !n.proc.Exited() {
			if err := n.proc.Stop(30 * time.Second); err != nil {
				t.Errorf("stop runtime: %v", err)
			}
		}
	})
	return n
}

// start runs `kemudi runtime` inside the node's namespace and waits until
// it serves.
func (n *runtimeNode) start() {
	t := n.t
	t.Helper()
	args := append([]string{"--net=" + n.netnsPath, n.bin, "runtime", "--root", n.root, "--state-dir", n.stateDir,
		"--listen", n.sock, "--pod-cidr", "10.42.0.0/24", "--cgroup-parent", n.cgroupParent}, n.args...)
	p, err := harness.StartProcess("runtime", "nsenter", "serving CRI", nil, args...)
	if err != nil {
		t.Fatal(err)
	}
	n.proc = p
	if err := p.WaitReady(2 * time.Minute); err != nil {
		t.Fatalf("runtime: %v\n%s", err, p.Tail())
	}
}

// killSupervisor ends the supervisor processes this node's runtime started
// (found by the node's unique root in their command line), by pid.
func (n *runtimeNode) killSupervisor() {
	for _, pid := range harness.ProcessesMentioning(n.root) {
		p, err := os.FindProcess(pid)
		if err == nil {
			_ = p.Kill()
		}
	}
}

// crictl runs crictl against the node's runtime and returns its stdout.
func (n *runtimeNode) crictl(args ...string) string {
	n.t.Helper()
	out, err := n.tryCrictl(args...)
	if err != nil {
		n.t.Fatalf("crictl %s: %v\n%s\nruntime log:\n%s", strings.Join(args, " "), err, out, n.proc.Tail())
	}
	return out
}

func (n *runtimeNode) tryCrictl(args ...string) (string, error) {
	full := append([]string{"--config", n.crictlConfig, "--runtime-endpoint", "unix://" + n.sock, "--image-endpoint", "unix://" + n.sock, "--timeout", "60s"}, args...)
	cmd := exec.Command(n.crictlBin, full...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if err != nil {
		return stdout.String() + stderr.String(), err
	}
	return stdout.String(), nil
}

// crictlJSON runs crictl with -o json and decodes its output.
func (n *runtimeNode) crictlJSON(v any, args ...string) {
	n.t.Helper()
	out := n.crictl(append([]string{args[0], "-o", "json"}, args[1:]...)...)
	if err := json.Unmarshal([]byte(out), v); err != nil {
		n.t.Fatalf("crictl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// writeJSON writes v as a file for crictl and returns its path.
func (n *runtimeNode) writeJSON(name string, v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		n.t.Fatal(err)
	}
	p := filepath.Join(n.t.TempDir(), name)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		n.t.Fatal(err)
	}
	return p
}

// registryIn starts a test registry listening on the loopback of the
// network namespace at path, its requests through wrap.
func registryIn(t *testing.T, path string, wrap ...testimages.Middleware) *testimages.Registry {
	t.Helper()
	var reg *testimages.Registry
	if err := harness.InNetns(path, func() (err error) {
		reg, err = testimages.NewRegistry(wrap...)
		return err
	}); err != nil {
		if reg != nil {
			reg.Close()
		}
		t.Fatal(err)
	}
	return reg
}

// kemudiWithSupervisor is the kemudi binary, with a kemudi-supervisor
// beside it when it has none embedded.
func kemudiWithSupervisor(t *testing.T) string {
	t.Helper()
	return harness.BinaryWithSupervisor(t)
}

func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// eventually polls cond until it holds or timeout passes.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, detail := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s: %s", what, timeout, detail)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// mountsUnder lists mount points below dir.
func mountsUnder(dir string) []string {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return []string{err.Error()}
	}
	var out []string
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) > 4 && strings.HasPrefix(f[4], dir) {
			out = append(out, f[4])
		}
	}
	return out
}

// cgroupDirs lists the directories of a cgroupfs path that exist in any
// hierarchy (v1 controllers, the v2 mount).
func cgroupDirs(path string) []string {
	var out []string
	ents, _ := os.ReadDir("/sys/fs/cgroup")
	for _, e := range ents {
		p := filepath.Join("/sys/fs/cgroup", e.Name(), path)
		if _, err := os.Stat(p); err == nil {
			out = append(out, p)
		}
	}
	if _, err := os.Stat(filepath.Join("/sys/fs/cgroup", path)); err == nil {
		out = append(out, filepath.Join("/sys/fs/cgroup", path))
	}
	return out
}

func fmtList(v []string) string { return fmt.Sprintf("%q", v) }

func itoa(i int) string { return strconv.Itoa(i) }

// removeCgroup removes an (empty) cgroupfs path from every hierarchy.
func removeCgroup(t *testing.T, path string) {
	for _, d := range cgroupDirs(path) {
		if err := os.Remove(d); err != nil {
			t.Errorf("remove cgroup %s: %v", d, err)
		}
	}
}

// startEvents runs `crictl events` for the rest of the test and returns
// a function that gives what it printed so far.
func (n *runtimeNode) startEvents() func() string {
	n.t.Helper()
	var buf syncBuffer
	cmd := exec.Command(n.crictlBin, "--config", n.crictlConfig, "events", "-o", "json")
	cmd.Stdout, cmd.Stderr = &buf, &buf
	if err := cmd.Start(); err != nil {
		n.t.Fatal(err)
	}
	n.t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	return buf.String
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
