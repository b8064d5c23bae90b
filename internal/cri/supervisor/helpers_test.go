package supervisor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/kemudi/kemudi/internal/cri/supervisor/supervisortest"
)

// fixture is a supervisor of its own for one test, a busybox rootfs and a
// cgroup parent the test removes at the end.
type fixture struct {
	t        *testing.T
	root     string
	rootfs   string
	cgParent string
	opts     Options
	c        *Client
}

func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: runs real containers")
	}
}

func newFixture(t *testing.T) *fixture { return newRuntimeFixture(t, "") }

// testRuntime is a way the supervisor creates containers: bin is the OCI
// runtime binary, "" for the built-in libcontainer.
type testRuntime struct{ name, bin string }

var testRuntimes = []testRuntime{{"builtin", ""}, {"runc", "/usr/bin/runc"}, {"crun", "/usr/bin/crun"}}

// eachRuntime runs test as a subtest per runtime this machine can run,
// each with a fixture (a supervisor) of its own.
func eachRuntime(t *testing.T, test func(t *testing.T, f *fixture)) {
	for _, rt := range testRuntimes {
		t.Run(rt.name, func(t *testing.T) {
			if why := unusableRuntime(rt.bin); why != "" {
				t.Skip(why)
			}
			test(t, newRuntimeFixture(t, rt.bin))
		})
	}
}

// unusableRuntime says why the OCI runtime bin cannot run containers here.
func unusableRuntime(bin string) string {
	if bin == "" {
		return ""
	}
	if _, err := os.Stat(bin); err != nil {
		return fmt.Sprintf("%s is not installed (apt-get install %s)", bin, filepath.Base(bin))
	}
	if filepath.Base(bin) == "crun" && !supervisortest.IsV2() {
		// crun refuses cgroups v1 with controllers on the v2 hierarchy
		// beside them ("hybrid mode not supported").
		if b, err := os.ReadFile("/sys/fs/cgroup/unified/cgroup.controllers"); err == nil && len(strings.TrimSpace(string(b))) > 0 {
			return "crun refuses this machine's hybrid cgroups (v2 controllers: " + strings.TrimSpace(string(b)) + ")"
		}
	}
	return ""
}

// newRuntimeFixture makes a fixture whose supervisor creates containers
// with the OCI runtime bin ("" = libcontainer).
func newRuntimeFixture(t *testing.T, bin string) *fixture {
	t.Helper()
	needRoot(t)
	dir := t.TempDir()
	f := &fixture{
		t:        t,
		root:     filepath.Join(dir, "sup"),
		rootfs:   supervisortest.BusyboxRootfs(t, dir),
		cgParent: fmt.Sprintf("/kemudi-test-%d-%s", os.Getpid(), strings.ReplaceAll(t.Name(), "/", "_")),
	}
	f.opts = Options{Root: f.root, Binary: supervisortest.Binary(t), OCIRuntime: bin, Log: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))}
	f.c = f.connect()
	t.Cleanup(f.cleanup)
	return f
}

// with returns the fixture for a subtest.
func (f *fixture) with(t *testing.T) *fixture {
	g := *f
	g.t = t
	return &g
}

func (f *fixture) connect() *Client {
	f.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := Connect(ctx, f.opts)
	if err != nil {
		f.t.Fatalf("Connect: %v", err)
	}
	return c
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

// cleanup removes every container and sandbox, stops the supervisor and
// its keeper, and removes the test's cgroups; it dumps the supervisor's
// log when the test failed.
func (f *fixture) cleanup() {
	t := f.t
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c, err := Connect(ctx, f.opts)
	if err == nil {
		states, _ := c.List(ctx)
		for _, st := range states {
			c.Signal(ctx, st.ID, unix.SIGKILL)
			f.waitStatus(c, st.ID, Exited)
			if err := c.Delete(ctx, st.ID); err != nil {
				t.Errorf("cleanup: delete %s: %v", st.ID, err)
			}
		}
		s, _ := os.ReadDir(filepath.Join(f.root, "sandboxes"))
		for _, e := range s {
			if id, ok := strings.CutSuffix(e.Name(), ".json"); ok {
				if err := c.RemoveSandbox(ctx, id); err != nil {
					t.Errorf("cleanup: remove sandbox %s: %v", id, err)
				}
			}
		}
		if err := c.Shutdown(ctx); err != nil {
			t.Errorf("cleanup: shutdown: %v", err)
		}
		c.Close()
		f.waitKeeperGone()
	} else {
		t.Errorf("cleanup: connect: %v", err)
	}
	if f.c != nil {
		f.c.Close()
	}
	if err := supervisortest.RemoveCgroupTree(f.cgParent); err != nil {
		t.Errorf("cleanup: cgroups: %v", err)
	}
	if t.Failed() || os.Getenv("KEMUDI_TEST_SUPERVISOR_LOG") != "" {
		if b, err := os.ReadFile(logPath(f.root)); err == nil {
			t.Logf("supervisor log:\n%s", b)
		}
	}
}

// waitKeeperGone waits until the keeper released its lock.
func (f *fixture) waitKeeperGone() {
	f.t.Helper()
	waitFor(f.t, 10*time.Second, "keeper exit", func() (bool, error) {
		l, err := os.OpenFile(filepath.Join(f.root, "keeper.lock"), os.O_RDWR, 0)
		if err != nil {
			return true, nil
		}
		defer l.Close()
		if err := unix.Flock(int(l.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
			return false, nil
		}
		unix.Flock(int(l.Fd()), unix.LOCK_UN)
		return true, nil
	})
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, d time.Duration, what string, cond func() (bool, error)) {
	t.Helper()
	deadline := time.Now().Add(d)
	var lastErr error
	for time.Now().Before(deadline) {
		ok, err := cond()
		if ok {
			return
		}
		lastErr = err
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s (last error: %v)", what, lastErr)
}

func (f *fixture) waitStatus(c *Client, id string, want Status) State {
	f.t.Helper()
	var st State
	waitFor(f.t, 20*time.Second, fmt.Sprintf("container %s %s", id, want), func() (bool, error) {
		var err error
		st, err = c.State(context.Background(), id)
		if errors.Is(err, ErrNotFound) {
			return true, nil
		}
		return err == nil && st.Status == want, err
	})
	return st
}

func (f *fixture) cgroup(id string) string { return f.cgParent + "/" + id }

// runtimeState is where the fixture's runtime keeps its state of
// container id.
func (f *fixture) runtimeState(id string) string {
	if f.opts.OCIRuntime != "" {
		return filepath.Join(f.root, "oci", "state", id)
	}
	return filepath.Join(f.root, "libcontainer", id)
}

// run creates and starts a container running args.
func (f *fixture) run(id string, args ...string) State {
	f.t.Helper()
	return f.runSpec(ContainerSpec{ID: id, LogPath: f.logPath(id), Spec: supervisortest.Spec(f.rootfs, f.cgroup(id), args...)})
}

func (f *fixture) runSpec(cs ContainerSpec) State {
	f.t.Helper()
	if _, err := f.c.Create(ctx(f.t), cs); err != nil {
		f.t.Fatalf("Create %s: %v", cs.ID, err)
	}
	st, err := f.c.Start(ctx(f.t), cs.ID)
	if err != nil {
		f.t.Fatalf("Start %s: %v", cs.ID, err)
	}
	return st
}

// logPath is where container id logs: one directory per fixture.
func (f *fixture) logPath(id string) string { return filepath.Join(f.root, "..", id+".log") }

// supervisorPid asks the supervisor for its pid.
func (f *fixture) supervisorPid(c *Client) int {
	f.t.Helper()
	var p pingResult
	if err := c.do(ctx(f.t), methodPing, struct{}{}, &p); err != nil {
		f.t.Fatalf("ping: %v", err)
	}
	return p.Pid
}

// logEntries returns the log's entries as "stream tag text", checking each
// line's timestamp.
func logEntries(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read log: %v", err)
	}
	var out []string
	for _, line := range strings.Split(strings.TrimSuffix(string(b), "\n"), "\n") {
		if line == "" {
			continue
		}
		ts, rest, ok := strings.Cut(line, " ")
		if !ok {
			t.Fatalf("log line %q: no timestamp", line)
		}
		if _, err := time.Parse(time.RFC3339Nano, ts); err != nil {
			t.Fatalf("log line %q: timestamp: %v", line, err)
		}
		out = append(out, rest)
	}
	return out
}
