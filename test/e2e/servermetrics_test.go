package e2e

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kemudi/kemudi/bench/harness"
)

// TestServerControllerManagerMetrics: the controller manager inside
// `kemudi server` serves its work queue metrics on its own address, as
// `kemudi controller-manager --metrics-address` does (upstream's
// kube-controller-manager serves them on its own port, 10257).
func TestServerControllerManagerMetrics(t *testing.T) {
	t.Parallel()
	bin, err := harness.SharedBinary()
	if err != nil {
		t.Fatal(err)
	}
	port, err := harness.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	srv, err := harness.Start(context.Background(), harness.Options{Binary: bin, Args: []string{"--controller-manager-metrics-address", addr}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)

	kubectl(t, bin, srv, "create", "deployment", "web", "--image=nginx:1.27", "--replicas=0")
	waitOutput(t, 30*time.Second, "a ReplicaSet for web", func() string {
		return kubectl(t, bin, srv, "get", "rs", "-l", "app=web", "-o", "name")
	}, "replicaset.apps/web-")

	want := []string{
		`workqueue_adds_total\{name="deployment"\} [1-9]`,
		`workqueue_adds_total\{name="replicaset"\} [1-9]`,
		`workqueue_depth\{name="deployment"\} \d`,
		`workqueue_work_duration_seconds_count\{name="deployment"\} [1-9]`,
		`workqueue_retries_total\{name="job"\} \d`,
	}
	var metrics string
	deadline := time.Now().Add(30 * time.Second)
	for {
		metrics = getMetrics(t, addr)
		missing := ""
		for _, re := range want {
			if !regexp.MustCompile(re).MatchString(metrics) {
				missing = re
				break
			}
		}
		if missing == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("http://%s/metrics has no %s:\n%s", addr, missing, lastLines(metrics, 40))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func getMetrics(t *testing.T, addr string) string {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: %s: %s", resp.Status, body)
	}
	return string(body)
}

// TestServerStopsWhenAComponentKeepsFailing: a controller manager that
// cannot start (its metrics port is taken) is restarted with backoff,
// then `kemudi server` stops, exiting non-zero with a one-line reason,
// rather than running on without controllers.
func TestServerStopsWhenAComponentKeepsFailing(t *testing.T) {
	t.Parallel()
	bin, err := harness.SharedBinary()
	if err != nil {
		t.Fatal(err)
	}
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { taken.Close() })
	port, err := harness.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	// Restarts after 1, 2, 4, 8 and 16 s, then the server gives up.
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "server", "--data-dir", t.TempDir(), "--disable-agent", "--disable", "registry",
		"--https-listen-port", strconv.Itoa(port), "--bind-address", "127.0.0.1", "--advertise-address", "127.0.0.1",
		"--controller-manager-metrics-address", taken.Addr().String())
	var out procLog
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	err = cmd.Run()
	exit, ok := err.(*exec.ExitError)
	if !ok || exit.ExitCode() <= 0 {
		t.Fatalf("kemudi server: %v after %s, want a non-zero exit; output:\n%s", err, time.Since(start).Round(time.Second), lastLines(out.String(), 30))
	}
	t.Logf("exited %d after %s", exit.ExitCode(), time.Since(start).Round(time.Second))
	lines := strings.Split(strings.TrimRight(out.String(), "\n"), "\n")
	last := lines[len(lines)-1]
	want := fmt.Sprintf("Error: controller-manager failed 6 times in a row: metrics address: listen tcp %s: bind: address already in use", taken.Addr())
	if last != want {
		t.Errorf("last line %q, want %q", last, want)
	}
	// Each failure logged once: five restarts at warn, then the end at error.
	for re, n := range map[string]int{
		`level=WARN msg="component failed; restarting" .*component=controller-manager`:       5,
		`level=ERROR msg="component keeps failing; stopping" .*component=controller-manager`: 1,
	} {
		if got := len(regexp.MustCompile(re).FindAllString(out.String(), -1)); got != n {
			t.Errorf("%d lines matching %s, want %d; output:\n%s", got, re, n, lastLines(out.String(), 30))
		}
	}
}
