package harness

import (
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/kemudi/kemudi/internal/kubelet/kubelettest"
)

// NodeDiskFlags keep a test or benchmark node's kubelet off this machine's
// disk level: the disk is shared and often near the disk eviction
// thresholds and 85% image GC, and a node that reports DiskPressure is
// tainted and schedules nothing (as kind's nodes, which set these
// thresholds to 0%). Memory pressure still counts.
func NodeDiskFlags() []string {
	return []string{"--image-gc-high-threshold", "100", "--eviction-hard", "memory.available<100Mi"}
}

// RuntimeServer is `kemudi server` whose kubelet uses rt, run inside rt's
// network namespace, with its data under rt's directory (which
// kubelettest unmounts and removes when the test ends).
type RuntimeServer struct {
	Process    *Process
	Kubeconfig string
	DataDir    string // the server's --data-dir
	// Config reaches the server from this process, through a loopback
	// relay into the namespace (client-go's WebSocket executor dials for
	// itself); it is not rate-limited.
	Config *rest.Config
}

// StartRuntimeServer starts the server on rt with extra flags added and
// waits until it serves. It stops when tb ends: registered after rt's
// clean-ups, it runs before them.
func StartRuntimeServer(tb testing.TB, bin string, rt *kubelettest.Runtime, extra ...string) *RuntimeServer {
	tb.Helper()
	ip := rt.NodeIP.String()
	return startServer(tb, bin, rt, append([]string{"--node-name", "node-1", "--node-ip", ip,
		"--runtime-endpoint", rt.Endpoint,
		"--pod-log-dir", filepath.Join(rt.Dir, "pods"), "--cgroup-root", rt.CgroupRoot,
	}, extra...))
}

// StartControlPlane starts the server in rt's network namespace without
// a node of its own (--disable-agent): a kubelet of another make joins
// it there. It stops when tb ends, as StartRuntimeServer's.
func StartControlPlane(tb testing.TB, bin string, rt *kubelettest.Runtime, extra ...string) *RuntimeServer {
	tb.Helper()
	return startServer(tb, bin, rt, append([]string{"--disable-agent"}, extra...))
}

func startServer(tb testing.TB, bin string, rt *kubelettest.Runtime, extra []string) *RuntimeServer {
	tb.Helper()
	dir := filepath.Join(rt.Dir, "server")
	s := &RuntimeServer{Kubeconfig: filepath.Join(dir, "admin.kubeconfig"), DataDir: dir}
	// The server's service CIDR and cluster routes need a default route.
	if out, err := exec.Command("nsenter", "--net="+rt.NetNS, "ip", "route", "add", "default", "via", "10.99.0.254").CombinedOutput(); err != nil {
		tb.Fatalf("default route in the namespace: %v: %s", err, out)
	}
	args := append([]string{"--net=" + rt.NetNS, bin, "server", "--data-dir", dir,
		"--https-listen-port", "6443", "--advertise-address", rt.NodeIP.String(),
	}, extra...)
	p, err := StartProcess("server", "nsenter", "API server ready", nil, args...)
	if err != nil {
		tb.Fatal(err)
	}
	s.Process = p
	tb.Cleanup(func() {
		if !p.Exited() {
			_ = p.Stop(30 * time.Second)
		}
		if tb.Failed() {
			tb.Logf("server (tail):\n%s", p.Tail())
		}
	})
	if err := p.WaitReady(3 * time.Minute); err != nil {
		tb.Fatalf("server: %v\n%s", err, p.Tail())
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", s.Kubeconfig)
	if err != nil {
		tb.Fatal(err)
	}
	RelayConfig(tb, cfg, rt.Dial)
	cfg.QPS, cfg.Burst = -1, 0
	s.Config = cfg
	return s
}
