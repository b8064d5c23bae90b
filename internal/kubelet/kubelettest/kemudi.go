package kubelettest

import (
	"bytes"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

// StartKemudi runs kemudi's own runtime (`bin runtime`) in a new network
// namespace, with a registry holding busybox beside it.
func StartKemudi(t testing.TB, bin string) *Runtime {
	t.Helper()
	c := newKemudiNode(t, "kk")
	root := filepath.Join(c.Dir, "root")
	c.serve(t, "kemudi-runtime", bin, "runtime", "--root", root, "--state-dir", filepath.Join(c.Dir, "state"),
		"--listen", filepath.Join(c.Dir, "cri.sock"), "--cgroup-parent", "/"+c.CgroupRoot)
	return c
}

// NewKemudiAgentNode prepares a node for `kemudi agent` (kemudi's kubelet
// with its runtime embedded): a new network namespace, with a registry
// holding busybox beside it. Start the agent with StartAgent; what it
// needs first (a relay to the API server in the namespace) goes between.
func NewKemudiAgentNode(t testing.TB) *Runtime {
	t.Helper()
	return newKemudiNode(t, "ka")
}

// StartAgent runs `bin agent` in the node's namespace with its data,
// sockets, logs and cgroups under the node's, and args (its kubeconfig,
// node name and what it leaves out), until the test ends; it returns once
// its runtime answers the CRI on Endpoint.
func (c *Runtime) StartAgent(t testing.TB, bin string, args ...string) {
	t.Helper()
	c.serve(t, "kemudi-agent", append([]string{bin, "agent",
		"--data-dir", filepath.Join(c.Dir, "data"),
		"--cri-socket", filepath.Join(c.Dir, "cri.sock"),
		"--runtime-state-dir", filepath.Join(c.Dir, "state"),
		"--pod-log-dir", filepath.Join(c.Dir, "pods"),
		"--cgroup-root", c.CgroupRoot,
		"--node-ip", c.NodeIP.String(),
	}, args...)...)
}

// newKemudiNode makes the directory, network namespace, cgroup root and
// registry of a node whose runtime is kemudi's, each removed when the
// test ends.
func newKemudiNode(t testing.TB, prefix string) *Runtime {
	t.Helper()
	Skip(t)
	dir, err := os.MkdirTemp("", prefix)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { removeDir(dir) })
	c := &Runtime{Dir: dir, Endpoint: "unix://" + filepath.Join(dir, "cri.sock"),
		NodeIP: net.ParseIP("10.99.0.2"), CgroupRoot: randName("kemudi-test-"), Images: map[string]string{}, Name: "kemudi"}
	c.makeNetNS(t)
	t.Cleanup(func() { removeCgroups(c.CgroupRoot) })
	// The supervisor outlives the runtime by design: end it (found by a
	// path under the test's directory in its command line; the slash keeps
	// /tmp/kk1 from matching /tmp/kk12's) after the runtime stopped.
	t.Cleanup(func() { killWithArg(dir + "/") })
	c.startRegistry(t)
	return c
}

// killWithArg kills the processes whose command line mentions s, by pid.
func killWithArg(s string) {
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err == nil && bytes.Contains(b, []byte(s)) {
			if p, err := os.FindProcess(pid); err == nil {
				_ = p.Kill()
			}
		}
	}
}
