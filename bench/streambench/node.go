package streambench

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/kemudi/kemudi/bench/harness"
	"github.com/kemudi/kemudi/internal/kubelet/kubelettest"
)

// node is `kemudi server` with its kubelet on one runtime, all inside
// the runtime's network namespace.
type node struct {
	name       string // the runtime's
	bin        string
	rt         *kubelettest.Runtime
	kubeconfig string
	server     *harness.Process
	config     *rest.Config // dials inside the namespace
	client     kubernetes.Interface
	spdy       bool // client-go's exec fell back to SPDY
}

// startNode starts the runtime, then the server whose kubelet uses it.
func startNode(b *testing.B, runtime string) *node {
	b.Helper()
	bin := harness.BinaryWithSupervisor(b)
	var rt *kubelettest.Runtime
	if runtime == "containerd" {
		rt = kubelettest.StartContainerd(b)
	} else {
		rt = kubelettest.StartKemudi(b, bin)
	}
	n := &node{name: runtime, bin: bin, rt: rt}
	ip := rt.NodeIP.String()
	// The server's data lives under the runtime's directory, which
	// kubelettest unmounts and removes when the benchmark ends.
	dir := filepath.Join(rt.Dir, "server")
	n.kubeconfig = filepath.Join(dir, "admin.kubeconfig")
	if out, err := exec.Command("nsenter", "--net="+rt.NetNS, "ip", "route", "add", "default", "via", "10.99.0.254").CombinedOutput(); err != nil {
		b.Fatalf("default route in the namespace: %v: %s", err, out)
	}
	p, err := harness.StartProcess("server", "nsenter", "API server ready", nil,
		"--net="+rt.NetNS, bin, "server", "--data-dir", dir,
		"--https-listen-port", "6443", "--advertise-address", ip,
		"--node-name", "node-1", "--node-ip", ip,
		"--runtime-endpoint", rt.Endpoint,
		"--pod-log-dir", filepath.Join(rt.Dir, "pods"), "--cgroup-root", rt.CgroupRoot,
		// The 100 MiB log is read whole, not rotated away; this shared
		// machine's disk must not evict or collect the benchmark's pods.
		"--container-log-max-size", "1Gi", "--image-gc-high-threshold", "100",
		"--eviction-hard", "memory.available<100Mi")
	if err != nil {
		b.Fatal(err)
	}
	n.server = p
	// Registered after the runtime's clean-ups, so it runs before them.
	b.Cleanup(func() {
		if !p.Exited() {
			_ = p.Stop(30 * time.Second)
		}
		if b.Failed() {
			b.Logf("server (tail):\n%s", p.Tail())
		}
	})
	if err := p.WaitReady(3 * time.Minute); err != nil {
		b.Fatalf("server: %v\n%s", err, p.Tail())
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", n.kubeconfig)
	if err != nil {
		b.Fatal(err)
	}
	// client-go's WebSocket executor dials for itself: a relay on this
	// process's loopback into the namespace.
	harness.RelayConfig(b, cfg, rt.Dial)
	cfg.QPS, cfg.Burst = -1, 0
	n.config = cfg
	if n.client, err = kubernetes.NewForConfig(cfg); err != nil {
		b.Fatal(err)
	}
	return n
}

// kubectl runs `kemudi kubectl args...` in the namespace.
func (n *node) kubectl(ctx context.Context, args ...string) (string, error) {
	return n.kubectlEnv(ctx, nil, args...)
}

// kubectlEnv is kubectl with env added to its environment.
func (n *node) kubectlEnv(ctx context.Context, env []string, args ...string) (string, error) {
	var out bytes.Buffer
	cmd := n.kubectlCmd(ctx, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

func (n *node) kubectlCmd(ctx context.Context, args ...string) *exec.Cmd {
	full := append([]string{"--net=" + n.rt.NetNS, n.bin, "kubectl", "--kubeconfig", n.kubeconfig}, args...)
	return exec.CommandContext(ctx, "nsenter", full...)
}

// waitKubectl runs kubectl until its output, trimmed, satisfies ok.
func (n *node) waitKubectl(ctx context.Context, what string, timeout time.Duration, ok func(string) bool, args ...string) error {
	deadline := time.Now().Add(timeout)
	for {
		out, err := n.kubectl(ctx, args...)
		if err == nil && ok(strings.TrimSpace(out)) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s: not after %s: %s %v", what, timeout, out, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}
