package supervisor

import (
	"fmt"
	"log/slog"
	"os"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// Children that exit before or while they are watched are each reported
// once, with their own status, while the reaper scans at the same time.
func TestWatchChildReportsEachExitOnce(t *testing.T) {
	s := &server{log: slog.New(slog.DiscardHandler), children: map[int]func(unixWaitStatus, time.Time){}}
	const n = 20
	type exit struct{ pid, code int }
	exits := make(chan exit, 2*n)
	stop := make(chan struct{})
	var scans sync.WaitGroup
	scans.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
				s.reapKnown()
			}
		}
	})
	want := map[int]int{}
	for i := range n {
		p, err := os.StartProcess("/bin/sh", []string{"sh", "-c", fmt.Sprintf("exit %d", i)}, &os.ProcAttr{})
		if err != nil {
			t.Fatal(err)
		}
		pid := p.Pid
		p.Release()
		want[pid] = i
		if i%2 == 0 {
			// exited, a zombie, before it is watched
			waitZombie(t, pid)
		}
		s.watchChild(pid, func(ws unix.WaitStatus, _ time.Time) { exits <- exit{pid, ws.ExitStatus()} })
	}
	deadline := time.After(20 * time.Second)
	for range n {
		select {
		case e := <-exits:
			if code, ok := want[e.pid]; !ok || code != e.code {
				t.Errorf("pid %d reported exit %d, want %d (known %v)", e.pid, e.code, code, ok)
			}
			delete(want, e.pid)
		case <-deadline:
			t.Fatalf("no exit reported for %v", want)
		}
		s.reapKnown() // the children that exited since are reaped at a SIGCHLD
	}
	close(stop)
	scans.Wait()
	select {
	case e := <-exits:
		t.Errorf("pid %d reported again (exit %d)", e.pid, e.code)
	case <-time.After(100 * time.Millisecond):
	}
}

func waitZombie(t *testing.T, pid int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		var info unix.Siginfo
		if err := unix.Waitid(unix.P_PID, pid, &info, unix.WEXITED|unix.WNOHANG|unix.WNOWAIT, nil); err == nil && info.Signo != 0 {
			return
		}
		time.Sleep(time.Millisecond)
	}
	t.Fatalf("pid %d did not exit", pid)
}
