package streambench

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/kemudi/kemudi/bench/harness"
	"github.com/kemudi/kemudi/internal/kubelet/kubelettest"
)

// node is `kemudi server` with its kubelet on one runtime, all inside
// the runtime's network namespace; for "upstream", the server runs no
// node and upstream's kubelet on containerd joins it there.
type node struct {
	name       string // the column's: the runtime's, or "upstream"
	bin        string
	rt         *kubelettest.Runtime
	kubeconfig string
	server     *harness.Process
	kubelet    *harness.Process // upstream's, a process of its own; else nil
	config     *rest.Config     // dials inside the namespace
	client     kubernetes.Interface
	spdy       bool // client-go's exec fell back to SPDY
}

// startNode starts the runtime, then the server whose kubelet uses it.
func startNode(b *testing.B, column string) *node {
	b.Helper()
	bin := harness.BinaryWithSupervisor(b)
	var upstream string
	if column == "upstream" {
		var err error
		if upstream, err = harness.UpstreamKubeletBinary(); err != nil {
			b.Fatal(err)
		}
	}
	var rt *kubelettest.Runtime
	if column == "kemudi" {
		rt = kubelettest.StartKemudi(b, bin)
	} else {
		rt = kubelettest.StartContainerd(b)
	}
	n := &node{name: column, bin: bin, rt: rt}
	var srv *harness.RuntimeServer
	if upstream != "" {
		srv = harness.StartControlPlane(b, bin, rt)
		n.kubelet = startUpstreamKubelet(b, srv, rt, upstream)
	} else {
		// The 100 MiB log is read whole, not rotated away; this shared
		// machine's disk must not evict or collect the benchmark's pods.
		srv = harness.StartRuntimeServer(b, bin, rt, append([]string{"--container-log-max-size", "1Gi"}, harness.NodeDiskFlags()...)...)
	}
	n.server, n.kubeconfig, n.config = srv.Process, srv.Kubeconfig, srv.Config
	var err error
	if n.client, err = kubernetes.NewForConfig(srv.Config); err != nil {
		b.Fatal(err)
	}
	return n
}

// startUpstreamKubelet joins upstream's kubelet bin to srv as a node
// joins a cluster: TLS bootstrap with the server's bootstrap token, its
// API authenticated and authorized through the server, its serving
// certificate from a CSR the server approves.
func startUpstreamKubelet(b *testing.B, srv *harness.RuntimeServer, rt *kubelettest.Runtime, bin string) *harness.Process {
	b.Helper()
	dir := filepath.Join(rt.Dir, "kubelet")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.Fatal(err)
	}
	boot := filepath.Join(dir, "bootstrap.kubeconfig")
	if err := srv.WriteBootstrapKubeconfig(boot, "https://"+net.JoinHostPort(rt.NodeIP.String(), "6443")); err != nil {
		b.Fatal(err)
	}
	p, _ := harness.StartUpstreamKubelet(b, bin, rt, harness.UpstreamKubelet{
		NodeName:            "node-1",
		Kubeconfig:          filepath.Join(dir, "kubelet.kubeconfig"),
		BootstrapKubeconfig: boot,
		ClientCAFile:        filepath.Join(srv.DataDir, "tls", "ca.crt"),
		// The 100 MiB log is read whole, not rotated away.
		Config: "containerLogMaxSize: 1Gi\n",
	})
	return p
}

// serverPIDs are the processes of the API server and the kubelet.
func (n *node) serverPIDs() []int {
	if n.kubelet != nil {
		return []int{n.server.PID, n.kubelet.PID}
	}
	return []int{n.server.PID}
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
