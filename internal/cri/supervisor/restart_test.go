package supervisor

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/kemudi/kemudi/internal/cri/supervisor/supervisortest"
)

// trapScript exits 7 on SIGTERM (as init of its PID namespace, sh gets only
// the signals it has a handler for).
const trapScript = `trap "exit 7" TERM; while true; do sleep 0.1; done`

const tickScript = `while true; do echo tick; sleep 0.05; done`

func TestClientRestart(t *testing.T) {
	eachRuntime(t, func(t *testing.T, f *fixture) {
		started := f.run("long", "sh", "-c", trapScript)
		short := f.run("short", "sh", "-c", "read x; exit 4") // stdin is /dev/null: exits at once
		f.c.Close()

		// With no client connected, the short one's exit is still recorded.
		waitFor(t, 10*time.Second, "short container gone", func() (bool, error) {
			return !processAlive(short.Pid), nil
		})
		c := f.connect()
		defer c.Close()
		st, err := c.State(ctx(t), "long")
		if err != nil || st.Status != Running || !st.StartedAt.Equal(started.StartedAt) {
			t.Errorf("long after reconnect: %+v (%v), want running since %v", st, err, started.StartedAt)
		}
		sst := f.waitStatus(c, "short", Exited)
		if sst.ExitCode != 4 {
			t.Errorf("short exit code %d, want 4", sst.ExitCode)
		}
		if err := c.Signal(ctx(t), "long", unix.SIGTERM); err != nil {
			t.Fatal(err)
		}
		if st := f.waitStatus(c, "long", Exited); st.ExitCode != 7 {
			t.Errorf("long exit code %d, want 7", st.ExitCode)
		}
	})
}

func processAlive(pid int) bool {
	_, err := os.Stat(fmt.Sprintf("/proc/%d", pid))
	if err != nil {
		return false
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	// A zombie is dead for our purpose.
	return err == nil && !strings.Contains(string(b), ") Z ")
}

func TestSupervisorCrash(t *testing.T) {
	eachRuntime(t, func(t *testing.T, f *fixture) {
		before := map[string]State{}
		for id, script := range map[string]string{"trap": trapScript, "sleep": "sleep 1000", "ticker": tickScript, "gone": "sleep 1000"} {
			before[id] = f.run(id, "sh", "-c", script)
		}
		old := f.supervisorPid(f.c)
		keeper := parentPid(t, old)

		// "gone" dies while no supervisor runs: the keeper, stopped, cannot
		// restart it before the kill; it records the exit when it resumes.
		if err := unix.Kill(keeper, unix.SIGSTOP); err != nil {
			t.Fatal(err)
		}
		if err := unix.Kill(old, unix.SIGKILL); err != nil {
			unix.Kill(keeper, unix.SIGCONT)
			t.Fatal(err)
		}
		waitFor(t, 10*time.Second, "supervisor dead", func() (bool, error) { return !processAlive(old), nil })
		unix.Kill(before["gone"].Pid, unix.SIGKILL)
		waitFor(t, 10*time.Second, "container dead", func() (bool, error) { return !processAlive(before["gone"].Pid), nil })
		if err := unix.Kill(keeper, unix.SIGCONT); err != nil {
			t.Fatal(err)
		}

		waitFor(t, 20*time.Second, "a new supervisor", func() (bool, error) {
			var p pingResult
			err := f.c.do(ctx(t), methodPing, struct{}{}, &p)
			return err == nil && p.Pid != old, err
		})
		states, err := f.c.List(ctx(t))
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]State{}
		for _, st := range states {
			got[st.ID] = st
		}
		for _, id := range []string{"trap", "sleep", "ticker"} {
			if st := got[id]; st.Status != Running || !st.StartedAt.Equal(before[id].StartedAt) || st.Pid != before[id].Pid {
				t.Errorf("%s after the crash: %+v, want running as before: %+v", id, st, before[id])
			}
		}
		if st := got["gone"]; st.Status != Exited || st.ExitCode != 137 {
			t.Errorf("gone after the crash: %+v, want exited with 137", st)
		}

		// The ticker's output goes on into its log (no SIGPIPE, and read again).
		restarted := time.Now()
		log := f.logPath("ticker")
		waitFor(t, 10*time.Second, "ticks after the restart", func() (bool, error) {
			return lastLogTime(t, log).After(restarted), nil
		})

		if err := f.c.Signal(ctx(t), "trap", unix.SIGTERM); err != nil {
			t.Fatal(err)
		}
		if st := f.waitStatus(f.c, "trap", Exited); st.ExitCode != 7 {
			t.Errorf("trap exit code %d, want 7", st.ExitCode)
		}
		// A command runs in a container found again.
		if r, err := f.c.ExecSync(ctx(t), "sleep", []string{"echo", "again"}, 0); err != nil || string(r.Stdout) != "again\n" {
			t.Errorf("ExecSync after the crash: %q %v", r.Stdout, err)
		}
		if err := f.c.Signal(ctx(t), "sleep", unix.SIGKILL); err != nil {
			t.Fatal(err)
		}
		if st := f.waitStatus(f.c, "sleep", Exited); st.ExitCode != 137 {
			t.Errorf("sleep exit code %d, want 137", st.ExitCode)
		}
		// A container created by the new supervisor works as usual.
		f.run("after", "sh", "-c", "exit 5")
		if st := f.waitStatus(f.c, "after", Exited); st.ExitCode != 5 {
			t.Errorf("after exit code %d, want 5", st.ExitCode)
		}
	})
}

func parentPid(t *testing.T, pid int) int {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Fatal(err)
	}
	fields := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
	var ppid int
	fmt.Sscan(fields[1], &ppid)
	return ppid
}

func lastLogTime(t *testing.T, path string) time.Time {
	b, err := os.ReadFile(path)
	if err != nil {
		return time.Time{}
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	ts, _, _ := strings.Cut(lines[len(lines)-1], " ")
	tm, _ := time.Parse(time.RFC3339Nano, ts)
	return tm
}

// killSupervisor kills the supervisor with SIGKILL and waits until the
// keeper started a new one.
func (f *fixture) killSupervisor() {
	t := f.t
	t.Helper()
	old := f.supervisorPid(f.c)
	if err := unix.Kill(old, unix.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 20*time.Second, "a new supervisor", func() (bool, error) {
		var p pingResult
		err := f.c.do(ctx(t), methodPing, struct{}{}, &p)
		return err == nil && p.Pid != old, err
	})
}

func TestSupervisorCrashSandboxAndCreated(t *testing.T) {
	eachRuntime(t, func(t *testing.T, f *fixture) {
		podCg := f.cgParent + "/pod"
		sb, err := f.c.CreateSandbox(ctx(t), SandboxSpec{ID: "pod", Hostname: "h", SharePID: true, CgroupParent: podCg})
		if err != nil {
			t.Fatal(err)
		}
		pause := pidOfNS(t, sb.PIDNS)
		log := f.logPath("later")
		if _, err := f.c.Create(ctx(t), ContainerSpec{ID: "later", SandboxID: "pod", LogPath: log, Spec: podSpec(f, sb, podCg+"/later", "sh", "-c", "hostname; exit 6")}); err != nil {
			t.Fatal(err)
		}
		f.killSupervisor()

		// The created container starts after the crash, in the sandbox made
		// before it.
		if _, err := f.c.Start(ctx(t), "later"); err != nil {
			t.Fatalf("Start after the crash: %v", err)
		}
		if st := f.waitStatus(f.c, "later", Exited); st.ExitCode != 6 {
			t.Errorf("exit code %d, want 6", st.ExitCode)
		}
		if got := logEntries(t, log); len(got) != 1 || got[0] != "stdout F h" {
			t.Errorf("log %q, want the sandbox's hostname", got)
		}
		if err := f.c.Delete(ctx(t), "later"); err != nil {
			t.Fatal(err)
		}
		if !processAlive(pause) {
			t.Fatalf("pause process died with the supervisor")
		}
		if err := f.c.RemoveSandbox(ctx(t), "pod"); err != nil {
			t.Fatalf("RemoveSandbox after the crash: %v", err)
		}
		waitFor(t, 10*time.Second, "pause process gone", func() (bool, error) { return !processAlive(pause), nil })
		if _, err := os.Stat(supervisortest.CgroupDir("memory", podCg)); !os.IsNotExist(err) {
			t.Errorf("pod cgroup left: %v", err)
		}
	})
}

// A container without a record (the supervisor crashed inside Create) is
// removed by the next supervisor: its init, cgroup and runtime state.
func TestCrashDuringCreateCleanedUp(t *testing.T) {
	eachRuntime(t, func(t *testing.T, f *fixture) {
		st, err := f.c.Create(ctx(t), ContainerSpec{ID: "half", Spec: supervisortest.Spec(f.rootfs, f.cgroup("half"), "sleep", "1000")})
		if err != nil {
			t.Fatal(err)
		}
		if err := os.Remove(filepath.Join(f.root, "containers", "half.json")); err != nil {
			t.Fatal(err)
		}
		f.killSupervisor()
		waitFor(t, 10*time.Second, "the half-made container removed", func() (bool, error) {
			_, err := os.Stat(f.runtimeState("half"))
			return os.IsNotExist(err) && !processAlive(st.Pid), nil
		})
		if _, err := os.Stat(supervisortest.CgroupDir("memory", f.cgroup("half"))); !os.IsNotExist(err) {
			t.Errorf("cgroup left: %v", err)
		}
		if _, err := f.c.State(ctx(t), "half"); !errors.Is(err, ErrNotFound) {
			t.Errorf("State: %v, want ErrNotFound", err)
		}
	})
}

// TestShutdownIsFinal: a supervisor told to shut down stays down, and its
// keeper exits with it, every time. The supervisor tells its keeper just
// before it exits; a keeper that noticed the exit first once took it for
// a crash and started it again (seen in CI under load).
func TestShutdownIsFinal(t *testing.T) {
	f := newFixture(t)
	f.c.Close()
	for i := range 10 {
		c := f.connect()
		if err := c.Shutdown(ctx(t)); err != nil {
			t.Fatalf("shutdown %d: %v", i, err)
		}
		c.Close()
		f.waitKeeperGone()
		if b, _ := os.ReadFile(logPath(f.root)); strings.Contains(string(b), "restarting") {
			t.Fatalf("shutdown %d: the keeper restarted the supervisor:\n%s", i, b)
		}
	}
}
