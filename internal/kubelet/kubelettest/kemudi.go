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
	Skip(t)
	dir, err := os.MkdirTemp("", "kk")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { removeDir(dir) })
	c := &Runtime{Dir: dir, Endpoint: "unix://" + filepath.Join(dir, "cri.sock"),
		NodeIP: net.ParseIP("10.99.0.2"), CgroupRoot: randName("kemudi-test-"), Images: map[string]string{}, Name: "kemudi"}
	c.makeNetNS(t)
	t.Cleanup(func() { removeCgroups(c.CgroupRoot) })
	root := filepath.Join(dir, "root")
	// The supervisor outlives the runtime by design: end it (found by the
	// test's own root in its command line) after the runtime stopped.
	t.Cleanup(func() { killWithArg(root) })
	c.startRegistry(t)
	c.serve(t, "kemudi-runtime", bin, "runtime", "--root", root, "--state-dir", filepath.Join(dir, "state"),
		"--listen", filepath.Join(dir, "cri.sock"), "--cgroup-parent", "/"+c.CgroupRoot)
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
