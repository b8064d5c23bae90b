package streambench

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

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
	// The 100 MiB log is read whole, not rotated away; this shared
	// machine's disk must not evict or collect the benchmark's pods.
	srv := harness.StartRuntimeServer(b, bin, rt, append([]string{"--container-log-max-size", "1Gi"}, harness.NodeDiskFlags()...)...)
	n.server, n.kubeconfig, n.config = srv.Process, srv.Kubeconfig, srv.Config
	var err error
	if n.client, err = kubernetes.NewForConfig(srv.Config); err != nil {
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
