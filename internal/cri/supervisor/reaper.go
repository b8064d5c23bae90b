package supervisor

import (
	"os"
	"os/signal"
	"time"

	"golang.org/x/sys/unix"
)

type unixWaitStatus = unix.WaitStatus

// The supervisor reaps only the pids it knows (containers' inits, pause
// processes), each with a non-blocking wait4 when SIGCHLD arrives: a
// wait4(-1) would steal the statuses libcontainer waits for itself while
// it creates a container. It is not a subreaper; its keeper is, so that
// the inits of a crashed supervisor are reaped by the keeper.

func (s *server) startReaper() (stop func()) {
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, unix.SIGCHLD)
	done := make(chan struct{})
	go func() {
		for {
			select {
			case <-sigs:
			case <-done:
				return
			}
			s.reapKnown()
		}
	}()
	return func() {
		signal.Stop(sigs)
		close(done)
	}
}

// watchChild calls onExit once the child pid has exited and is reaped.
func (s *server) watchChild(pid int, onExit func(unix.WaitStatus, time.Time)) {
	s.mu.Lock()
	s.children[pid] = onExit
	s.mu.Unlock()
	// It may have exited before it was registered, its SIGCHLD gone: look
	// at it alone, not at every child (a scan per container start and per
	// pause process, each a wait4 per running container).
	s.reapChild(pid)
}

// watchOrphan calls onExit when the keeper reports it reaped pid: a
// process this supervisor is not the parent of, since it was started by a
// supervisor that died.
func (s *server) watchOrphan(pid int, onExit func(unix.WaitStatus, time.Time)) {
	s.mu.Lock()
	e, done := s.unclaimed[pid]
	if done {
		delete(s.unclaimed, pid)
	} else {
		s.orphans[pid] = onExit
	}
	s.mu.Unlock()
	if done {
		go onExit(e.ws, e.at)
	}
}

// unclaimedExit is an orphan's exit reported before anyone watched it: an
// OCI runtime binary's process can end before the supervisor has read
// its pid.
type unclaimedExit struct {
	ws unix.WaitStatus
	at time.Time
}

// unclaimedKeep is how long an unclaimed exit waits for its watcher;
// after that its pid may be someone else's.
const unclaimedKeep = 30 * time.Second

func (s *server) reapKnown() {
	s.mu.Lock()
	pids := make([]int, 0, len(s.children))
	for pid := range s.children {
		pids = append(pids, pid)
	}
	s.mu.Unlock()
	for _, pid := range pids {
		s.reapChild(pid)
	}
}

// reapChild reaps the watched child pid if it exited, and calls its
// watcher. One caller at a time: a second wait4 of a pid just reaped
// would take its status for lost.
func (s *server) reapChild(pid int) {
	s.reapMu.Lock()
	defer s.reapMu.Unlock()
	s.mu.Lock()
	_, watched := s.children[pid]
	s.mu.Unlock()
	if !watched {
		return // reaped already
	}
	var ws unix.WaitStatus
	got, err := unix.Wait4(pid, &ws, unix.WNOHANG, nil)
	if got == 0 || err == unix.EINTR {
		return
	}
	now := time.Now()
	s.mu.Lock()
	fn := s.children[pid]
	delete(s.children, pid)
	s.mu.Unlock()
	if err != nil {
		// ECHILD: someone else reaped it; its status is lost.
		s.log.Warn("child reaped elsewhere", "pid", pid, "err", err)
		ws = unix.WaitStatus(255 << 8)
	}
	if fn != nil {
		go fn(ws, now)
	}
}

// orphanExited handles the keeper's report of an orphan it reaped.
func (s *server) orphanExited(pid int, ws unix.WaitStatus, at time.Time) {
	s.mu.Lock()
	fn, ok := s.orphans[pid]
	delete(s.orphans, pid)
	if !ok {
		for p, e := range s.unclaimed {
			if time.Since(e.at) > unclaimedKeep {
				delete(s.unclaimed, p)
			}
		}
		s.unclaimed[pid] = unclaimedExit{ws: ws, at: at}
	}
	s.mu.Unlock()
	if fn != nil {
		go fn(ws, at)
	}
	removeExitRecord(s.exitsDir(), pid)
}
