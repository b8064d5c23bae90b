package supervisor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// The keeper is the supervisor's parent: a small process that does almost
// nothing, so that it has no reason to crash. It
//   - is a child subreaper: the inits of containers whose supervisor died
//     become its children; it reaps them and records how they ended
//     (exits/<pid>.json, and a message to the live supervisor);
//   - holds a copy of every container's stdio, so that a container's
//     output pipe never loses its last reader (which would kill the
//     container with SIGPIPE) and the next supervisor gets it back;
//   - restarts the supervisor when it dies.
// A process per node rather than a shim per container, and no container
// is lost, nor its exit code, when the supervisor crashes.

type keeper struct {
	cfg Config
	log *slog.Logger

	mu       sync.Mutex
	held     map[string][]*os.File
	link     *link
	linkRead chan struct{} // closed when listen has read the link to its end
	supPid   int
	shutdown bool // the supervisor asked to end for good
}

// RunKeeper is the keeper mode of kemudi-supervisor. A second keeper for
// the same root exits at once.
func RunKeeper(ctx context.Context, cfg Config, log *slog.Logger) error {
	root := cfg.Root
	if err := os.MkdirAll(filepath.Join(root, "exits"), 0o700); err != nil {
		return err
	}
	lock, err := os.OpenFile(filepath.Join(root, "keeper.lock"), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("keeper lock: %w", err)
	}
	defer lock.Close()
	if err := lockKeeper(lock); err != nil {
		if errors.Is(err, unix.EWOULDBLOCK) {
			log.Info("another keeper runs for this root")
			return nil
		}
		return fmt.Errorf("keeper lock: %w", err)
	}
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("become subreaper: %w", err)
	}
	k := &keeper{cfg: cfg, log: log, held: map[string][]*os.File{}}
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, unix.SIGCHLD, unix.SIGTERM, unix.SIGINT)
	const minDelay, maxDelay = 100 * time.Millisecond, 10 * time.Second
	delay := minDelay
	started := time.Now()
	if err := k.startSupervisor(); err != nil {
		return err
	}
	if cfg.Started != nil {
		cfg.Started()
	}
	var restart <-chan time.Time
	stopping := false
	for {
		select {
		case sig := <-sigs:
			if sig != unix.SIGCHLD {
				stopping = true
				if pid := k.supervisorPid(); pid > 0 {
					unix.Kill(pid, unix.SIGTERM)
				} else {
					return nil
				}
				continue
			}
			if !k.reap() {
				continue
			}
			// The supervisor ended.
			if stopping || k.wantsShutdown() {
				log.Info("supervisor ended, keeper exits")
				k.releaseAll()
				return nil
			}
			if time.Since(started) > time.Minute {
				delay = minDelay
			}
			log.Warn("supervisor died; restarting", "in", delay)
			restart = time.After(delay)
			delay = min(2*delay, maxDelay)
		case <-restart:
			restart = nil
			started = time.Now()
			if err := k.startSupervisor(); err != nil {
				log.Error("restart supervisor", "err", err)
				restart = time.After(delay)
			}
		case <-ctx.Done():
			return nil
		}
	}
}

// lockKeeper takes the keeper's lock; it tries for a moment, since a client
// checking whether a keeper runs holds the lock briefly.
func lockKeeper(lock *os.File) error {
	deadline := time.Now().Add(500 * time.Millisecond)
	for {
		err := unix.Flock(int(lock.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		if !errors.Is(err, unix.EWOULDBLOCK) || time.Now().After(deadline) {
			return err
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (k *keeper) supervisorPid() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.supPid
}

func (k *keeper) wantsShutdown() bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.shutdown
}

// startSupervisor runs `kemudi-supervisor serve` from this very binary,
// hands it the held stdio, and listens to it.
func (k *keeper) startSupervisor() error {
	ours, theirs, err := socketPair()
	if err != nil {
		return err
	}
	cmd := exec.Command("/proc/self/exe", k.cfg.args("serve")...)
	cmd.Args[0] = os.Args[0]
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	cmd.ExtraFiles = []*os.File{theirs} // fd 3
	cmd.Dir = "/"
	err = cmd.Start()
	theirs.Close()
	if err != nil {
		ours.Close()
		return fmt.Errorf("start supervisor: %w", err)
	}
	pid := cmd.Process.Pid
	// The keeper reaps with wait4(-1); the Process is not needed.
	cmd.Process.Release()
	l, err := newLink(ours)
	if err != nil {
		unix.Kill(pid, unix.SIGKILL)
		return err
	}
	k.mu.Lock()
	read := make(chan struct{})
	k.supPid, k.link, k.linkRead, k.shutdown = pid, l, read, false
	for id, files := range k.held {
		if err := l.send(linkMsg{Op: opFDs, ID: id}, files...); err != nil {
			k.log.Warn("hand over stdio", "id", id, "err", err)
		}
	}
	l.send(linkMsg{Op: opReady})
	k.mu.Unlock()
	k.log.Info("supervisor started", "pid", pid)
	go func() {
		k.listen(l)
		close(read)
	}()
	return nil
}

// listen applies the supervisor's hold and drop requests.
func (k *keeper) listen(l *link) {
	for {
		m, files, err := l.recv()
		if err != nil {
			return
		}
		k.mu.Lock()
		switch m.Op {
		case opHold:
			closeFiles(k.held[m.ID])
			k.held[m.ID] = files
			files = nil
		case opDrop:
			closeFiles(k.held[m.ID])
			delete(k.held, m.ID)
		case opShutdown:
			k.shutdown = true
		}
		k.mu.Unlock()
		closeFiles(files)
	}
}

// reap collects every exited child; it reports whether the supervisor
// was among them.
func (k *keeper) reap() (supervisorEnded bool) {
	for {
		var ws unix.WaitStatus
		pid, err := unix.Wait4(-1, &ws, unix.WNOHANG, nil)
		if err == unix.EINTR {
			continue
		}
		if pid <= 0 || err != nil {
			return supervisorEnded
		}
		k.mu.Lock()
		if pid == k.supPid {
			l, read := k.link, k.linkRead
			k.supPid, k.link, k.linkRead = 0, nil, nil
			k.mu.Unlock()
			k.finishLink(l, read)
			k.log.Info("supervisor exited", "pid", pid, "status", exitCode(ws))
			supervisorEnded = true
			continue
		}
		rec := exitRecord{Pid: pid, Status: int(ws), Time: time.Now().UnixNano()}
		if err := writeExitRecord(filepath.Join(k.cfg.Root, "exits"), rec); err != nil {
			k.log.Error("record orphan exit", "pid", pid, "err", err)
		}
		if k.link != nil {
			k.link.send(linkMsg{Op: opExit, Pid: pid, Status: rec.Status, Time: rec.Time})
		}
		k.mu.Unlock()
	}
}

// finishLink reads what the ended supervisor last sent before closing its
// link: its shutdown request is sent just before it exits, and a keeper
// that closed the link first would take the exit for a crash and start
// it again. The read is bounded, since a process that inherited the
// supervisor's end of the link keeps it open.
func (k *keeper) finishLink(l *link, read <-chan struct{}) {
	if l == nil {
		return
	}
	select {
	case <-read:
	case <-time.After(2 * time.Second):
		k.log.Warn("supervisor's link still open after it exited; closing it")
	}
	l.Close()
}

func (k *keeper) releaseAll() {
	k.mu.Lock()
	defer k.mu.Unlock()
	for id, files := range k.held {
		closeFiles(files)
		delete(k.held, id)
	}
}
