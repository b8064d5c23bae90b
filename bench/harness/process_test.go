package harness

import (
	"context"
	"strings"
	"syscall"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestProcess runs a shell that logs a warning and a ready line, then
// waits for SIGTERM and exits cleanly.
func TestProcess(t *testing.T) {
	var out strings.Builder
	script := `trap 'exit 0' TERM; echo 'level=WARN msg=slow'; echo 'msg="nodes registered"'; while :; do sleep 0.1; done`
	p, err := StartProcess("sim", "/bin/sh", "nodes registered", &out, "-c", script)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Kill)
	if err := p.WaitReady(10 * time.Second); err != nil {
		t.Fatal(err)
	}
	if err := p.Stop(10 * time.Second); err != nil {
		t.Errorf("Stop: %v", err)
	}
	if l := p.Logs(); l.Warnings != 1 || l.Errors != 0 || len(l.Samples) != 1 {
		t.Errorf("Logs() = %+v, want one warning", l)
	}
	if !strings.HasPrefix(out.String(), "sim: level=WARN") {
		t.Errorf("output forwarded as %q, want lines prefixed %q", out.String(), "sim: ")
	}
	if err := p.Stop(time.Second); err == nil || !strings.Contains(err.Error(), "already exited") {
		t.Errorf("second Stop = %v, want already exited", err)
	}
	if err := syscall.Kill(p.PID, 0); err == nil {
		t.Errorf("pid %d still exists after Stop", p.PID)
	}

	early, err := StartProcess("early", "/bin/sh", "ready", nil, "-c", "echo failing; exit 3")
	if err != nil {
		t.Fatal(err)
	}
	if err := early.WaitReady(10 * time.Second); err == nil || !strings.Contains(err.Error(), "failing") {
		t.Errorf("WaitReady of a process that exits = %v, want an error with its output", err)
	}
}

// TestCluster starts a server with three simulated nodes and a
// namespace, and checks Close ends the server.
func TestCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a server process")
	}
	ctx := context.Background()
	var steps []string
	c, err := StartCluster(ctx, Options{TempRoot: t.TempDir()}, 3, "bench", func(format string, args ...any) { steps = append(steps, format) })
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	if got := len(c.Nodes.Names()); got != 3 {
		t.Errorf("%d nodes, want 3", got)
	}
	if _, err := c.Client.CoreV1().Namespaces().Get(ctx, "bench", metav1.GetOptions{}); err != nil {
		t.Errorf("namespace: %v", err)
	}
	if len(steps) != 2 {
		t.Errorf("progress steps %q, want 2", steps)
	}
	c.Close()
	if !c.Server.Exited() {
		t.Error("server still runs after Close")
	}
}
