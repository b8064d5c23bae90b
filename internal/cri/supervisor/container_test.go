package supervisor

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/kemudi/kemudi/internal/cri/supervisor/supervisortest"
)

func TestExitCodes(t *testing.T) {
	eachRuntime(t, func(t *testing.T, f *fixture) {
		for _, tc := range []struct {
			name string
			args []string
			kill bool // SIGKILL it from outside
			want int32
		}{
			{"zero", []string{"true"}, false, 0},
			{"code", []string{"sh", "-c", "exit 3"}, false, 3},
			{"killed", []string{"sleep", "1000"}, true, 137},
		} {
			t.Run(tc.name, func(t *testing.T) {
				f := f.with(t)
				f.run(tc.name, tc.args...)
				if tc.kill {
					if err := f.c.Signal(ctx(t), tc.name, unix.SIGKILL); err != nil {
						t.Fatalf("Signal: %v", err)
					}
				}
				st := f.waitStatus(f.c, tc.name, Exited)
				if st.ExitCode != tc.want {
					t.Errorf("exit code %d, want %d", st.ExitCode, tc.want)
				}
				if st.StartedAt.IsZero() || st.FinishedAt.Before(st.StartedAt) {
					t.Errorf("times: started %v finished %v", st.StartedAt, st.FinishedAt)
				}
			})
		}
	})
}

func TestLogs(t *testing.T) {
	eachRuntime(t, func(t *testing.T, f *fixture) {
		long := strings.Repeat("a", 20000)
		for _, tc := range []struct {
			name   string
			script string
			want   []string
		}{
			{"lines", "echo out; echo err >&2; echo two", []string{"stdout F out", "stderr F err", "stdout F two"}},
			{"cut-at-exit", "printf partial", []string{"stdout P partial"}},
			{"empty-line", "echo; echo x", []string{"stdout F ", "stdout F x"}},
			{"long", "head -c 20000 /dev/zero | tr '\\0' a; echo", []string{"stdout P " + long[:maxLogLine], "stdout F " + long[maxLogLine:]}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				f := f.with(t)
				log := f.logPath(tc.name)
				f.runSpec(ContainerSpec{ID: tc.name, LogPath: log, Spec: supervisortest.Spec(f.rootfs, f.cgroup(tc.name), "sh", "-c", tc.script)})
				f.waitStatus(f.c, tc.name, Exited)
				got := logEntries(t, log)
				// stdout and stderr are read apart: compare each stream's order.
				for _, stream := range []string{"stdout", "stderr"} {
					g, w := filterStream(got, stream), filterStream(tc.want, stream)
					if !slices.Equal(g, w) {
						t.Errorf("%s entries %q, want %q", stream, g, w)
					}
				}
			})
		}
	})
}

func filterStream(entries []string, stream string) []string {
	var out []string
	for _, e := range entries {
		if strings.HasPrefix(e, stream+" ") {
			out = append(out, e)
		}
	}
	return out
}

func TestReopenLog(t *testing.T) {
	f := newFixture(t)
	log := f.logPath("rot")
	f.runSpec(ContainerSpec{ID: "rot", LogPath: log, Spec: supervisortest.Spec(f.rootfs, f.cgroup("rot"),
		"sh", "-c", "i=0; while true; do echo line $i; i=$((i+1)); sleep 0.05; done")})
	waitFor(t, 10*time.Second, "first lines", func() (bool, error) {
		b, err := os.ReadFile(log)
		return len(b) > 0, err
	})
	if err := os.Rename(log, log+".1"); err != nil {
		t.Fatal(err)
	}
	if err := f.c.ReopenLog(ctx(t), "rot"); err != nil {
		t.Fatalf("ReopenLog: %v", err)
	}
	waitFor(t, 10*time.Second, "lines in the new file", func() (bool, error) {
		b, err := os.ReadFile(log)
		return err == nil && strings.Contains(string(b), "stdout F line"), err
	})
}

func TestStartFailure(t *testing.T) {
	eachRuntime(t, func(t *testing.T, f *fixture) {
		_, err := f.c.Create(ctx(t), ContainerSpec{ID: "nope", Spec: supervisortest.Spec(f.rootfs, f.cgroup("nope"), "/nope")})
		if err == nil || !strings.Contains(err.Error(), "nope") {
			t.Fatalf("Create with a missing command: err %v, want one naming it", err)
		}
		if _, err := f.c.State(ctx(t), "nope"); !errors.Is(err, ErrNotFound) {
			t.Errorf("State after failed create: %v, want ErrNotFound", err)
		}
		if _, err := os.Stat(supervisortest.CgroupDir("memory", f.cgroup("nope"))); !os.IsNotExist(err) {
			t.Errorf("cgroup left after failed create: %v", err)
		}
	})
}

func TestStateErrors(t *testing.T) {
	eachRuntime(t, func(t *testing.T, f *fixture) {
		f.run("live", "sleep", "1000")
		for _, tc := range []struct {
			name string
			call func() error
			want error
		}{
			{"state unknown", func() error { _, err := f.c.State(ctx(t), "x"); return err }, ErrNotFound},
			{"delete running", func() error { return f.c.Delete(ctx(t), "live") }, ErrFailedPrecondition},
			{"start running", func() error { _, err := f.c.Start(ctx(t), "live"); return err }, ErrFailedPrecondition},
			{"create twice", func() error {
				_, err := f.c.Create(ctx(t), ContainerSpec{ID: "live", Spec: supervisortest.Spec(f.rootfs, f.cgroup("live2"), "true")})
				return err
			}, ErrAlreadyExists},
			{"bad id", func() error {
				_, err := f.c.Create(ctx(t), ContainerSpec{ID: "../x", Spec: supervisortest.Spec(f.rootfs, f.cgroup("x"), "true")})
				return err
			}, ErrInvalidArgument},
		} {
			t.Run(tc.name, func(t *testing.T) {
				if err := tc.call(); !errors.Is(err, tc.want) {
					t.Errorf("err %v, want %v", err, tc.want)
				}
			})
		}
	})
}

func TestSignalExitedIsNoop(t *testing.T) {
	f := newFixture(t)
	f.run("done", "true")
	f.waitStatus(f.c, "done", Exited)
	if err := f.c.Signal(ctx(t), "done", unix.SIGTERM); err != nil {
		t.Errorf("Signal to an exited container: %v", err)
	}
}

func TestDeleteRemovesCgroupAndState(t *testing.T) {
	eachRuntime(t, func(t *testing.T, f *fixture) {
		f.run("del", "true")
		f.waitStatus(f.c, "del", Exited)
		cg := supervisortest.CgroupDir("memory", f.cgroup("del"))
		if _, err := os.Stat(cg); err != nil {
			t.Fatalf("cgroup of an exited container: %v", err)
		}
		if err := f.c.Delete(ctx(t), "del"); err != nil {
			t.Fatalf("Delete: %v", err)
		}
		for _, p := range []string{cg, filepath.Join(f.root, "containers", "del.json"), f.runtimeState("del")} {
			if _, err := os.Stat(p); !os.IsNotExist(err) {
				t.Errorf("%s left after Delete: %v", p, err)
			}
		}
		if _, err := f.c.State(ctx(t), "del"); !errors.Is(err, ErrNotFound) {
			t.Errorf("State after Delete: %v", err)
		}
	})
}

func TestCgroupLimits(t *testing.T) {
	eachRuntime(t, func(t *testing.T, f *fixture) {
		spec := supervisortest.Spec(f.rootfs, f.cgroup("lim"), "sleep", "1000")
		mem, shares, quota, period, pids := int64(64<<20), uint64(512), int64(50000), uint64(100000), int64(100)
		spec.Linux.Resources = &specs.LinuxResources{
			Memory: &specs.LinuxMemory{Limit: &mem, Swap: &mem},
			CPU:    &specs.LinuxCPU{Shares: &shares, Quota: &quota, Period: &period},
			Pids:   &specs.LinuxPids{Limit: pids},
		}
		f.runSpec(ContainerSpec{ID: "lim", Spec: spec})
		cg := f.cgroup("lim")
		check := func(controller, file, want string) {
			t.Helper()
			got, err := supervisortest.CgroupFile(controller, cg, file)
			if err != nil || got != want {
				t.Errorf("%s/%s = %q (%v), want %q", controller, file, got, err, want)
			}
		}
		if supervisortest.IsV2() {
			check("", "memory.max", "67108864")
			check("", "memory.swap.max", "0")
			check("", "cpu.max", "50000 100000")
			check("", "pids.max", "100")
		} else {
			check("memory", "memory.limit_in_bytes", "67108864")
			check("cpu", "cpu.shares", "512")
			check("cpu", "cpu.cfs_quota_us", "50000")
			check("cpu", "cpu.cfs_period_us", "100000")
			check("pids", "pids.max", "100")
		}
		mem2 := int64(128 << 20)
		if err := f.c.Update(ctx(t), "lim", &specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: &mem2, Swap: &mem2}, CPU: &specs.LinuxCPU{Shares: &shares, Quota: &quota, Period: &period}, Pids: &specs.LinuxPids{Limit: pids}}); err != nil {
			t.Fatalf("Update: %v", err)
		}
		if supervisortest.IsV2() {
			check("", "memory.max", "134217728")
		} else {
			check("memory", "memory.limit_in_bytes", "134217728")
		}
		st, err := f.c.Stats(ctx(t), "lim")
		if err != nil {
			t.Fatalf("Stats: %v", err)
		}
		if st.Pids < 1 || st.MemoryUsage == 0 || st.CPUUsageNanos == 0 || st.MemoryLimit != uint64(mem2) {
			t.Errorf("Stats %+v: want pids ≥ 1, memory and CPU used, limit %d", st, mem2)
		}
	})
}

func TestOOMKilled(t *testing.T) {
	eachRuntime(t, func(t *testing.T, f *fixture) {
		spec := supervisortest.Spec(f.rootfs, f.cgroup("oom"), "dd", "if=/dev/zero", "of=/dev/null", "bs=256M", "count=1")
		mem := int64(32 << 20)
		spec.Linux.Resources = &specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: &mem, Swap: &mem}}
		f.runSpec(ContainerSpec{ID: "oom", Spec: spec})
		st := f.waitStatus(f.c, "oom", Exited)
		if !st.OOMKilled || st.Reason != "OOMKilled" || st.ExitCode != 137 {
			t.Errorf("state %+v: want OOMKilled, exit code 137", st)
		}
	})
}

// A negative oom_score_adj (the kubelet's for Guaranteed pods) is applied
// where the machine allows it, and raised to what it allows elsewhere,
// rather than failing the container.
func TestOOMScoreAdjBestEffort(t *testing.T) {
	f := newFixture(t)
	spec := supervisortest.Spec(f.rootfs, f.cgroup("oomadj"), "sh", "-c", "cat /proc/self/oom_score_adj")
	adj := -997
	spec.Process.OOMScoreAdj = &adj
	log := f.logPath("oomadj")
	f.runSpec(ContainerSpec{ID: "oomadj", LogPath: log, Spec: spec})
	if st := f.waitStatus(f.c, "oomadj", Exited); st.ExitCode != 0 {
		t.Fatalf("exit code %d", st.ExitCode)
	}
	got := logEntries(t, log)
	if len(got) != 1 || (got[0] != "stdout F -997" && got[0] != fmt.Sprintf("stdout F %d", oomScoreFloor())) {
		t.Errorf("oom_score_adj in the container: %q, want -997 or this machine's floor %d", got, oomScoreFloor())
	}
}

func TestConnectRefusesBadOptions(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts Options
	}{
		{"no root", Options{}},
		{"socket path too long", Options{Root: "/tmp/" + strings.Repeat("x", 100)}},
		{"oci runtime missing", Options{Root: t.TempDir(), OCIRuntime: "/nonexistent/runc"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := Connect(ctx(t), tc.opts); !errors.Is(err, ErrInvalidArgument) {
				t.Errorf("err %v, want ErrInvalidArgument", err)
			}
		})
	}
}

// A supervisor keeps the runtime it was started with while it runs: a
// client asking for another one is refused, not handed its containers.
func TestConnectRefusesOtherRuntime(t *testing.T) {
	const runc = "/usr/bin/runc"
	if why := unusableRuntime(runc); why != "" {
		t.Skip(why)
	}
	f := newFixture(t)
	opts := f.opts
	opts.OCIRuntime = runc
	if _, err := Connect(ctx(t), opts); !errors.Is(err, ErrFailedPrecondition) || !strings.Contains(err.Error(), "libcontainer") {
		t.Errorf("Connect with %s to a libcontainer supervisor: %v, want ErrFailedPrecondition naming it", runc, err)
	}
}

// TestStopSignals: stopping is SIGTERM, then SIGKILL once the grace period
// is over (the CRI's StopContainer does it with Signal).
func TestStopSignals(t *testing.T) {
	eachRuntime(t, func(t *testing.T, f *fixture) {
		for _, tc := range []struct {
			name, script string
			want         int32
		}{
			{"exits on TERM", `trap "exit 7" TERM; echo ready; while true; do sleep 0.1; done`, 7},
			{"ignores TERM", `trap "" TERM; echo ready; while true; do sleep 0.1; done`, 137},
		} {
			t.Run(tc.name, func(t *testing.T) {
				f := f.with(t)
				id := strings.ReplaceAll(tc.name, " ", "-")
				f.run(id, "sh", "-c", tc.script)
				// A signal before the trap is set would find no handler.
				waitFor(t, 10*time.Second, "the trap set", func() (bool, error) {
					b, err := os.ReadFile(f.logPath(id))
					return strings.Contains(string(b), "ready"), err
				})
				if err := f.c.Signal(ctx(t), id, unix.SIGTERM); err != nil {
					t.Fatalf("SIGTERM: %v", err)
				}
				if !f.exitsWithin(id, time.Second) {
					if err := f.c.Signal(ctx(t), id, unix.SIGKILL); err != nil {
						t.Fatalf("SIGKILL: %v", err)
					}
				}
				if st := f.waitStatus(f.c, id, Exited); st.ExitCode != tc.want {
					t.Errorf("exit code %d, want %d", st.ExitCode, tc.want)
				}
			})
		}
	})
}

// exitsWithin reports whether container id exits within d (a grace
// period: not reaching it is no failure).
func (f *fixture) exitsWithin(id string, d time.Duration) bool {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if st, err := f.c.State(ctx(f.t), id); err == nil && st.Status == Exited {
			return true
		}
		time.Sleep(20 * time.Millisecond)
	}
	return false
}
