package e2e

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/kemudi/kemudi/bench/harness"
)

// Short leader-election timings, so that a handover takes seconds; the
// defaults (15s, 10s, 2s) behave the same, only slower.
const (
	e2eLeaseDuration = 6 * time.Second
	e2eRenewDeadline = 4 * time.Second
	e2eRetryPeriod   = time.Second
)

var leaseFlags = []string{
	"--leader-elect-lease-duration", e2eLeaseDuration.String(),
	"--leader-elect-renew-deadline", e2eRenewDeadline.String(),
	"--leader-elect-retry-period", e2eRetryPeriod.String(),
}

// procLog is a process's whole output, searchable while it runs.
type procLog struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *procLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *procLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// waitLog waits for a line matching re, from offset on, and returns its
// submatches and the offset after it.
func (l *procLog) waitLog(t *testing.T, re string, from int, timeout time.Duration) ([]string, int) {
	t.Helper()
	rx := regexp.MustCompile(re)
	deadline := time.Now().Add(timeout)
	for {
		s := l.String()
		if from > len(s) {
			from = len(s)
		}
		if loc := rx.FindStringSubmatchIndex(s[from:]); loc != nil {
			m := rx.FindStringSubmatch(s[from:])
			return m, from + loc[1]
		}
		if time.Now().After(deadline) {
			t.Fatalf("no line matching %q within %s; output:\n%s", re, timeout, lastLines(s[from:], 30))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// component is a standalone kemudi component process under test.
type component struct {
	*harness.Process
	log *procLog
}

func startComponent(t *testing.T, bin, name, ready string, args ...string) *component {
	t.Helper()
	log := &procLog{}
	p, err := harness.StartProcess(name, bin, ready, log, args...)
	if err != nil {
		t.Fatal(err)
	}
	c := &component{Process: p, log: log}
	t.Cleanup(func() {
		// A process the test paused must run again to hear SIGTERM.
		_ = syscall.Kill(p.PID, syscall.SIGCONT)
		if !p.Exited() {
			if err := p.Stop(30 * time.Second); err != nil {
				t.Errorf("stop %s: %v", name, err)
			}
		}
		if t.Failed() {
			t.Logf("%s output:\n%s", name, lastLines(log.String(), 40))
		}
	})
	if err := p.WaitReady(time.Minute); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return c
}

// identity is what the component logged as its name in the Lease.
func (c *component) identity(t *testing.T) string {
	t.Helper()
	m, _ := c.log.waitLog(t, `msg="campaigning for the lease" .*identity=(\S+)`, 0, 10*time.Second)
	return m[1]
}

func leaseHolder(t *testing.T, bin string, srv *harness.Server, name string) string {
	t.Helper()
	return kubectl(t, bin, srv, "get", "lease", "-n", "kube-system", name, "-o", "jsonpath={.spec.holderIdentity}")
}

func waitHolder(t *testing.T, bin string, srv *harness.Server, lease, want string, timeout time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		got := leaseHolder(t, bin, srv, lease)
		if got == want {
			return time.Since(start)
		}
		if time.Since(start) > timeout {
			t.Fatalf("lease %s held by %q, want %q after %s", lease, got, want, timeout)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// handover runs the scenario shared by the scheduler and the controller
// manager: the first process pauses (a long GC pause, a frozen VM) past
// its lease, the second takes the lease and works; the first wakes up,
// sees it lost the lease and stops working; the second stops, and the
// first takes over again within the lease duration. works checks that
// the component in charge does its job.
func handover(t *testing.T, bin string, srv *harness.Server, command, lease, ready string, works func(round int)) {
	args := append([]string{command, "--kubeconfig", filepath.Join(srv.DataDir, command+".kubeconfig")}, leaseFlags...)
	first := startComponent(t, bin, command+"-1", ready, args...)
	id1 := first.identity(t)
	waitHolder(t, bin, srv, lease, id1, e2eLeaseDuration)
	works(1)

	second := startComponent(t, bin, command+"-2", "campaigning for the lease", args...)
	id2 := second.identity(t)
	if id1 == id2 {
		t.Fatalf("both processes are %q", id1)
	}

	// The first stops answering; the second takes the lease once it
	// expires.
	if err := syscall.Kill(first.PID, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	took := waitHolder(t, bin, srv, lease, id2, 3*e2eLeaseDuration)
	second.log.waitLog(t, ready, 0, time.Minute)
	t.Logf("%s: the second process took the lease %s after the first paused", command, took.Round(100*time.Millisecond))
	mark := len(first.log.String())
	if err := syscall.Kill(first.PID, syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	first.log.waitLog(t, `level=WARN msg="lost the lease; stopped working until it is won again"`, mark, e2eRenewDeadline+e2eRetryPeriod)
	if h := leaseHolder(t, bin, srv, lease); h != id2 {
		t.Fatalf("after the first woke up the lease is held by %q, want the second, %q", h, id2)
	}
	works(2)

	// The second stops and releases the lease: the first resumes
	// without waiting for the lease to expire.
	mark = len(first.log.String())
	if err := second.Stop(30 * time.Second); err != nil {
		t.Fatalf("stop the second: %v", err)
	}
	stopped := time.Now()
	resumed := waitHolder(t, bin, srv, lease, id1, e2eLeaseDuration)
	first.log.waitLog(t, ready, mark, e2eLeaseDuration)
	t.Logf("%s: the first process holds the lease again %s after the second stopped, and works %s after",
		command, resumed.Round(100*time.Millisecond), time.Since(stopped).Round(100*time.Millisecond))
	if d := time.Since(stopped); d > e2eLeaseDuration {
		t.Errorf("the first resumed %s after the second stopped, more than the lease duration %s", d, e2eLeaseDuration)
	}
	works(3)
	if first.Exited() {
		t.Fatalf("the first process exited:\n%s", lastLines(first.log.String(), 20))
	}
}

// TestControllerManagerLeaseHandover: a controller manager that lost its
// lease stops, campaigns again, and reconciles again once it holds it.
func TestControllerManagerLeaseHandover(t *testing.T) {
	t.Parallel()
	bin, err := harness.SharedBinary()
	if err != nil {
		t.Fatal(err)
	}
	srv, err := harness.Start(context.Background(), harness.Options{Binary: bin, Args: []string{"--disable", "controller-manager"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	handover(t, bin, srv, "controller-manager", "kube-controller-manager", "controllers starting", func(round int) {
		// A Deployment gets its ReplicaSet only from a working
		// controller manager.
		name := fmt.Sprintf("web-%d", round)
		kubectl(t, bin, srv, "create", "deployment", name, "--image=nginx:1.27", "--replicas=0")
		waitOutput(t, 30*time.Second, "a ReplicaSet for "+name, func() string {
			return kubectl(t, bin, srv, "get", "rs", "-l", "app="+name, "-o", "name")
		}, "replicaset.apps/"+name+"-")
	})
}

// TestSchedulerLeaseHandover: the same for the scheduler.
func TestSchedulerLeaseHandover(t *testing.T) {
	t.Parallel()
	bin, err := harness.SharedBinary()
	if err != nil {
		t.Fatal(err)
	}
	srv, err := harness.Start(context.Background(), harness.Options{Binary: bin, Args: []string{"--disable", "scheduler"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	startComponent(t, bin, "sim-nodes", "nodes registered", "sim-nodes", "--kubeconfig", srv.Kubeconfig, "--count", "1")
	handover(t, bin, srv, "scheduler", "kube-scheduler", "scheduler started", func(round int) {
		name := fmt.Sprintf("pod-%d", round)
		kubectl(t, bin, srv, "run", name, "--image=nginx:1.27")
		waitOutput(t, 30*time.Second, name+" bound", func() string {
			return kubectl(t, bin, srv, "get", "pod", name, "-o", "jsonpath={.spec.nodeName}")
		}, "node-000")
	})
}

func waitOutput(t *testing.T, timeout time.Duration, what string, get func() string, want string) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		got := get()
		if strings.Contains(got, want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: got %q, want it to contain %q", what, got, want)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestComponentsRefuseBadKubeconfig: a component that cannot start says
// why in one line and exits non-zero, instead of logging and exiting 0.
func TestComponentsRefuseBadKubeconfig(t *testing.T) {
	t.Parallel()
	bin, err := harness.SharedBinary()
	if err != nil {
		t.Fatal(err)
	}
	for _, command := range []string{"controller-manager", "scheduler"} {
		t.Run(command, func(t *testing.T) {
			cmd := exec.Command(bin, command, "--kubeconfig", "/nonexistent")
			out, err := cmd.CombinedOutput()
			exit, ok := err.(*exec.ExitError)
			if !ok || exit.ExitCode() == 0 {
				t.Fatalf("exit: %v, output:\n%s", err, out)
			}
			want := "Error: kubeconfig /nonexistent: stat /nonexistent: no such file or directory\n"
			if string(out) != want {
				t.Errorf("output %q, want %q", out, want)
			}
		})
	}
}

// TestControllerManagerReportsFailingSync: a sync that keeps failing (a
// quota forbids the ReplicaSet's pods) is logged at warn with its error
// and counted in the controller manager's /metrics.
func TestControllerManagerReportsFailingSync(t *testing.T) {
	t.Parallel()
	bin, err := harness.SharedBinary()
	if err != nil {
		t.Fatal(err)
	}
	srv, err := harness.Start(context.Background(), harness.Options{Binary: bin, Args: []string{"--disable", "controller-manager"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	port, err := harness.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	cm := startComponent(t, bin, "controller-manager", "controllers starting", "controller-manager",
		"--kubeconfig", filepath.Join(srv.DataDir, "controller-manager.kubeconfig"), "--metrics-address", addr)

	kubectl(t, bin, srv, "create", "quota", "no-pods", "--hard=pods=0")
	waitOutput(t, 30*time.Second, "quota status", func() string {
		return kubectl(t, bin, srv, "get", "quota", "no-pods", "-o", "jsonpath={.status.hard.pods}")
	}, "0")
	kubectl(t, bin, srv, "create", "deployment", "web", "--image=nginx:1.27", "--replicas=1")
	m, _ := cm.log.waitLog(t, `level=WARN msg="sync failed; retrying" .*controller=replicaset key=default/web-\S+ retries=(\d+) err=.*exceeded quota`, 0, time.Minute)
	t.Logf("warned after %s retries: %s", m[1], m[0])
	// Not before the threshold: the first failures are expected noise.
	for _, w := range regexp.MustCompile(`level=WARN msg="sync failed; retrying" .*controller=replicaset .*retries=(\d+)`).FindAllStringSubmatch(cm.log.String(), -1) {
		if n, _ := strconv.Atoi(w[1]); n < 10 {
			t.Errorf("warned after %d retries: %s", n, w[0])
		}
	}

	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	metrics := string(body)
	for _, re := range []string{
		`workqueue_retries_total\{name="replicaset"\} [1-9]`,
		`workqueue_depth\{name="deployment"\} \d`,
		`workqueue_adds_total\{name="deployment"\} [1-9]`,
		`workqueue_queue_duration_seconds_count\{name="replicaset"\} [1-9]`,
		`workqueue_work_duration_seconds_count\{name="replicaset"\} [1-9]`,
	} {
		if !regexp.MustCompile(re).MatchString(metrics) {
			t.Errorf("/metrics has no %s", re)
		}
	}
}
