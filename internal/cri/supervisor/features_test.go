package supervisor

import (
	"context"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/kemudi/kemudi/internal/cri/supervisor/supervisortest"
)

func TestEvents(t *testing.T) {
	f := newFixture(t)
	ectx, cancel := context.WithCancel(context.Background())
	defer cancel()
	events, err := f.c.Events(ectx)
	if err != nil {
		t.Fatalf("Events: %v", err)
	}
	f.run("ev", "sh", "-c", "exit 2")
	f.waitStatus(f.c, "ev", Exited)
	if err := f.c.Delete(ctx(t), "ev"); err != nil {
		t.Fatal(err)
	}
	want := []EventType{EventCreated, EventStarted, EventExited, EventDeleted}
	for i, w := range want {
		select {
		case ev := <-events:
			if ev.Type != w || ev.State.ID != "ev" {
				t.Fatalf("event %d: %s %s, want %s ev", i, ev.Type, ev.State.ID, w)
			}
			if w == EventExited && ev.State.ExitCode != 2 {
				t.Errorf("exited event with code %d, want 2", ev.State.ExitCode)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("no %s event", w)
		}
	}
	cancel()
	for range events {
	}
}

func TestTTY(t *testing.T) {
	eachRuntime(t, func(t *testing.T, f *fixture) {
		spec := supervisortest.Spec(f.rootfs, f.cgroup("tty"), "sh", "-c", "tty; echo ok")
		spec.Process.Terminal = true
		log := f.logPath("tty")
		f.runSpec(ContainerSpec{ID: "tty", LogPath: log, TTY: true, Spec: spec})
		if st := f.waitStatus(f.c, "tty", Exited); st.ExitCode != 0 {
			t.Fatalf("exit code %d", st.ExitCode)
		}
		out := strings.Join(logEntries(t, log), "\n")
		// A terminal turns "\n" into "\r\n".
		if !strings.Contains(out, "stdout F /dev/pts/0\r") || !strings.Contains(out, "stdout F ok\r") {
			t.Errorf("tty output:\n%q", out)
		}
	})
}

// TestSeccomp checks that the supervisor applies a seccomp profile (built
// with libseccomp, linked in statically).
func TestSeccomp(t *testing.T) {
	f := newFixture(t)
	deny := &specs.LinuxSeccomp{
		DefaultAction: specs.ActAllow,
		Architectures: []specs.Arch{specs.ArchX86_64},
		Syscalls:      []specs.LinuxSyscall{{Names: []string{"mkdir", "mkdirat"}, Action: specs.ActErrno}},
	}
	for _, tc := range []struct {
		name    string
		profile *specs.LinuxSeccomp
		wantOK  bool
	}{
		{"unconfined", nil, true},
		{"denied", deny, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := f.with(t)
			spec := supervisortest.Spec(f.rootfs, f.cgroup(tc.name), "mkdir", "/dev/shm/x")
			spec.Linux.Seccomp = tc.profile
			f.runSpec(ContainerSpec{ID: tc.name, Spec: spec})
			if st := f.waitStatus(f.c, tc.name, Exited); (st.ExitCode == 0) != tc.wantOK {
				t.Errorf("mkdir exit code %d, want success %v", st.ExitCode, tc.wantOK)
			}
		})
	}
}
