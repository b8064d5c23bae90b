package supervisor

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// load finds again the containers and sandboxes of a previous supervisor:
// live ones are watched through the keeper (they are its children now),
// those that ended meanwhile get the exit the keeper recorded.
func (s *server) load(held map[string][]*os.File) error {
	exits, err := readExitRecords(s.exitsDir())
	var errs []error
	if err != nil {
		errs = append(errs, err)
	}
	if err := s.loadSandboxes(); err != nil {
		errs = append(errs, err)
	}
	err = readJSONDir(s.containersDir(), func(id string, data []byte) error {
		c := &container{s: s, exited: make(chan struct{})}
		if err := json.Unmarshal(data, &c.rec); err != nil {
			return err
		}
		if c.rec.ID != id {
			return fmt.Errorf("record names container %q", c.rec.ID)
		}
		s.restore(c, held[id], exits)
		delete(held, id)
		c.ready.Store(true)
		s.mu.Lock()
		s.containers[id] = c
		s.mu.Unlock()
		return nil
	})
	if err != nil {
		errs = append(errs, err)
	}
	if err := s.removeUnrecorded(); err != nil {
		errs = append(errs, err)
	}
	for id, files := range held {
		s.log.Warn("keeper held stdio of an unknown container", "id", id)
		closeFiles(files)
		s.keep.drop(id)
	}
	for pid := range exits {
		removeExitRecord(s.exitsDir(), pid)
	}
	return errors.Join(errs...)
}

func (s *server) restore(c *container, files []*os.File, exits map[int]exitRecord) {
	id := c.rec.ID
	rc, err := s.rt.load(id)
	if err != nil {
		s.log.Error("runtime state of container lost", "id", id, "err", err)
	} else {
		c.rc = rc
	}
	if c.rec.State.Status == Exited {
		close(c.exited)
		closeFiles(files)
		s.keep.drop(id)
		return
	}
	if rc == nil || !rc.alive() {
		closeFiles(files)
		s.keep.drop(id)
		if r, ok := exits[c.rec.State.Pid]; ok {
			c.recordExit(r.waitStatus(), r.at())
			if err := c.persist(); err != nil {
				s.log.Error("record container exit", "id", id, "err", err)
			}
			return
		}
		// It may have died a moment ago, the keeper not having reaped it
		// yet: its report is on the way. Without one soon, the exit status
		// is lost (the keeper itself was gone).
		s.watchOrphan(c.rec.State.Pid, c.onExit)
		go c.exitLostAfter(orphanReportWait)
		return
	}
	if out, err := openLog(c.rec.LogPath); err != nil {
		s.log.Error("reopen container log", "id", id, "err", err)
		out, _ = openLog("")
		c.out = out
	} else {
		c.out = out
	}
	if io, err := restoreStdio(files, c.rec.Stdin && !c.rec.StdinClosed, c.rec.TTY); err != nil {
		s.log.Error("container output not recovered", "id", id, "err", err)
	} else {
		c.io = io
		c.copyOutput()
	}
	s.watchOrphan(c.rec.State.Pid, c.onExit)
	s.log.Info("container found again", "id", id, "status", c.rec.State.Status.String(), "pid", c.rec.State.Pid)
}

// removeUnrecorded destroys the containers the runtime holds that have
// no record: a supervisor that crashed inside Create left them, their init
// waiting for a Start no one will ask for.
func (s *server) removeUnrecorded() error {
	ids, err := s.rt.ids()
	if err != nil {
		return err
	}
	var errs []error
	for _, id := range ids {
		s.mu.Lock()
		_, known := s.containers[id]
		s.mu.Unlock()
		if known {
			continue
		}
		s.log.Warn("removing a container left by a crash during its creation", "id", id)
		rc, err := s.rt.load(id)
		if err != nil {
			errs = append(errs, s.rt.forget(id))
			continue
		}
		rc.signal(unix.SIGKILL)
		deadline := time.Now().Add(5 * time.Second)
		for time.Now().Before(deadline) && rc.alive() {
			time.Sleep(10 * time.Millisecond)
		}
		if err := rc.destroy(); err != nil {
			errs = append(errs, fmt.Errorf("container %s: %w", id, err))
		}
	}
	return errors.Join(errs...)
}

// orphanReportWait is how long a restarted supervisor waits for the
// keeper's report of a container found dead.
const orphanReportWait = 5 * time.Second

func (c *container) exitLostAfter(d time.Duration) {
	select {
	case <-c.exited:
		return
	case <-time.After(d):
	}
	c.mu.Lock()
	if c.rec.State.Status == Exited {
		c.mu.Unlock()
		return
	}
	c.exitLost("the container exited while no supervisor watched it; its exit status is unknown")
	if err := c.persist(); err != nil {
		c.s.log.Error("record container exit", "id", c.rec.ID, "err", err)
	}
	snap := c.snapshot()
	c.mu.Unlock()
	c.s.publish(Event{Type: EventExited, State: snap})
}
