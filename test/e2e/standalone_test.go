// Package e2e drives the kemudi binary as a user would: separate
// processes started with its commands and flags, talking only through
// the API.
package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kemudi/kemudi/bench/harness"
)

// TestStandaloneComponents: `kemudi server --disable scheduler,controller-manager`
// leaves the kubeconfigs of the components it does not run in its data
// directory, and `kemudi scheduler` and `kemudi controller-manager` run
// with them as processes of their own: a Deployment on two `kemudi
// sim-nodes` rolls out.
func TestStandaloneComponents(t *testing.T) {
	t.Parallel()
	bin, err := harness.SharedBinary()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	srv, err := harness.Start(ctx, harness.Options{Binary: bin, Args: []string{"--disable", "scheduler,controller-manager"}})
	if err != nil {
		t.Fatal(err)
	}
	// Cleanups run last first: the components stop before the server.
	t.Cleanup(srv.Close)

	start := func(name, ready string, args ...string) {
		t.Helper()
		p, err := harness.StartProcess(name, bin, ready, nil, args...)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if err := p.Stop(30 * time.Second); err != nil {
				t.Errorf("stop %s: %v", name, err)
			}
			if l := p.Logs(); l.Errors > 0 {
				t.Errorf("%s logged %d errors: %q", name, l.Errors, l.Samples)
			}
		})
		if err := p.WaitReady(time.Minute); err != nil {
			t.Fatalf("%s: %v\n%s", name, err, p.Tail())
		}
	}
	start("scheduler", "scheduler started", "scheduler", "--kubeconfig", filepath.Join(srv.DataDir, "scheduler.kubeconfig"))
	start("controller-manager", "controllers starting", "controller-manager", "--kubeconfig", filepath.Join(srv.DataDir, "controller-manager.kubeconfig"))
	start("sim-nodes", "nodes registered", "sim-nodes", "--kubeconfig", srv.Kubeconfig, "--count", "2")

	kubectl(t, bin, srv, "create", "deployment", "web", "--image=nginx:1.27", "--replicas=3")
	if out := kubectl(t, bin, srv, "rollout", "status", "deploy/web", "--timeout=60s"); !strings.Contains(out, "successfully rolled out") {
		t.Errorf("rollout status:\n%s", out)
	}
	out := kubectl(t, bin, srv, "get", "pods", "-o", "wide")
	if strings.Count(out, "Running") != 3 || !strings.Contains(out, "node-000") {
		t.Errorf("kubectl get pods -o wide:\n%s", out)
	}
	if out := kubectl(t, bin, srv, "get", "events"); !strings.Contains(out, "Successfully assigned default/web-") {
		t.Errorf("no Scheduled event:\n%s", out)
	}
}

// TestServerRefusesUnknownComponent: a misspelt --disable is an error,
// not a component silently left running.
func TestServerRefusesUnknownComponent(t *testing.T) {
	t.Parallel()
	bin, err := harness.SharedBinary()
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, "server", "--data-dir", t.TempDir(), "--disable", "schedular").CombinedOutput()
	if err == nil || !strings.Contains(string(out), "--disable schedular: not a component") {
		t.Errorf("err %v, output:\n%s", err, out)
	}
}

func TestMain(m *testing.M) {
	code := m.Run()
	harness.CleanupSharedBinary()
	os.Exit(code)
}
