package e2e

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kemudi/kemudi/bench/harness"
)

// TestServerRefusesTakenPorts: `kemudi server` with its default ports
// (API 6443, kubelet 10250, proxy health 10256, registry 5000), on
// a machine (a network namespace of the test's) where another program
// holds some of them, names each taken port, its component and the
// program, and exits non-zero before anything starts: no data directory,
// no runtime socket, no log of a component starting.
func TestServerRefusesTakenPorts(t *testing.T) {
	t.Parallel()
	if os.Geteuid() != 0 {
		t.Skip("network namespaces need root")
	}
	bin, err := harness.SharedBinary()
	if err != nil {
		t.Fatal(err)
	}
	holder := fmt.Sprintf("by e2e.test (pid %d)", os.Getpid())
	tests := []struct {
		name  string
		taken []string // held inside the namespace before the server starts
		want  []string // in the error line, in this order
	}{
		{name: "API server", taken: []string{"0.0.0.0:6443"},
			want: []string{"port 6443 (API server) is in use " + holder}},
		{name: "kubelet, held on loopback only", taken: []string{"127.0.0.1:10250"},
			want: []string{"port 10250 (kubelet) is in use " + holder}},
		{name: "proxy health", taken: []string{"0.0.0.0:10256"},
			want: []string{"port 10256 (proxy health) is in use " + holder}},
		{name: "registry", taken: []string{"0.0.0.0:5000"},
			want: []string{"port 5000 (registry) is in use " + holder}},
		{name: "every conflict at once", taken: []string{"127.0.0.1:10256", "0.0.0.0:6443", "0.0.0.0:10250", "127.0.0.1:5000"},
			want: []string{"port 6443 (API server)", "port 10250 (kubelet)", "port 10256 (proxy health)", "port 5000 (registry)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			nsPath := newLoopbackNetns(t)
			for _, addr := range tt.taken {
				l, err := listenIn(nsPath, addr)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { l.Close() })
			}
			tmp := t.TempDir()
			dataDir, sock := filepath.Join(tmp, "data"), filepath.Join(tmp, "cri.sock")
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			// Only the paths are the test's: a server that did start would
			// stay inside the namespace and the temporary directory.
			cmd := exec.CommandContext(ctx, "nsenter", "--net="+nsPath, bin, "server", "--data-dir", dataDir,
				"--cri-socket", sock, "--runtime-state-dir", filepath.Join(tmp, "state"),
				"--pod-log-dir", filepath.Join(tmp, "pods"), "--cgroup-root", "/"+filepath.Base(nsPath))
			out, err := cmd.CombinedOutput()
			t.Cleanup(func() { killWithArg(tmp) })
			var exit *exec.ExitError
			if !errors.As(err, &exit) || exit.ExitCode() <= 0 {
				t.Fatalf("kemudi server: %v, want a non-zero exit; output:\n%s", err, out)
			}
			lines := strings.Split(strings.TrimRight(string(out), "\n"), "\n")
			if len(lines) != 1 {
				t.Errorf("want one line (nothing started, nothing logged), got:\n%s", out)
			}
			rest := lines[len(lines)-1]
			if !strings.HasPrefix(rest, "Error: nothing started: ") {
				t.Errorf("last line %q, want it to start with %q", rest, "Error: nothing started: ")
			}
			for _, w := range tt.want {
				i := strings.Index(rest, w)
				if i < 0 {
					t.Fatalf("output does not say %q (in this order):\n%s", w, out)
				}
				rest = rest[i+len(w):]
			}
			for _, p := range []string{dataDir, sock} {
				if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
					t.Errorf("%s exists (err %v): the server started something", p, err)
				}
			}
		})
	}
}

// newLoopbackNetns is a network namespace with only loopback, up,
// removed when the test ends.
func newLoopbackNetns(t *testing.T) string {
	t.Helper()
	name := "kemudi-e2e-" + randHex(4)
	run(t, "ip", "netns", "add", name)
	t.Cleanup(func() { run(t, "ip", "netns", "del", name) })
	path := "/var/run/netns/" + name
	nsRun(t, path, "ip", "link", "set", "lo", "up")
	return path
}

// listenIn listens on addr (TCP) inside the network namespace at nsPath:
// a socket stays in the namespace it was made in.
func listenIn(nsPath, addr string) (net.Listener, error) {
	var l net.Listener
	err := harness.InNetns(nsPath, func() (err error) {
		l, err = net.Listen("tcp", addr)
		return err
	})
	if err != nil && l != nil {
		l.Close()
		return nil, err
	}
	return l, err
}

// TestAgentRefusesTakenPorts: `kemudi agent` checks the kubelet's and the
// proxy's ports the same way, before it joins: nothing is written.
func TestAgentRefusesTakenPorts(t *testing.T) {
	t.Parallel()
	if os.Geteuid() != 0 {
		t.Skip("network namespaces need root")
	}
	bin, err := harness.SharedBinary()
	if err != nil {
		t.Fatal(err)
	}
	nsPath := newLoopbackNetns(t)
	for _, addr := range []string{"0.0.0.0:10250", "0.0.0.0:10256"} {
		l, err := listenIn(nsPath, addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { l.Close() })
	}
	tmp := t.TempDir()
	dataDir := filepath.Join(tmp, "data")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, "nsenter", "--net="+nsPath, bin, "agent",
		"--server", "https://127.0.0.1:6443", "--token-file", filepath.Join(tmp, "node-token"), "--data-dir", dataDir,
		"--cri-socket", filepath.Join(tmp, "cri.sock"), "--runtime-state-dir", filepath.Join(tmp, "state"),
		"--pod-log-dir", filepath.Join(tmp, "pods"), "--cgroup-root", "/"+filepath.Base(nsPath)).CombinedOutput()
	t.Cleanup(func() { killWithArg(tmp) })
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() <= 0 {
		t.Fatalf("kemudi agent: %v, want a non-zero exit; output:\n%s", err, out)
	}
	holder := fmt.Sprintf("by e2e.test (pid %d)", os.Getpid())
	want := "Error: nothing started: port 10250 (kubelet) is in use " + holder
	if !strings.HasPrefix(string(out), want) || !strings.Contains(string(out), "port 10256 (proxy health) is in use "+holder) ||
		strings.Count(strings.TrimRight(string(out), "\n"), "\n") != 0 {
		t.Errorf("want one line starting %q and naming port 10256; got:\n%s", want, out)
	}
	if _, err := os.Stat(dataDir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("%s exists (err %v): the agent started something", dataDir, err)
	}
}
