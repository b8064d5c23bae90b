package supervisor

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// container is one supervised container.
type container struct {
	s     *server
	ready atomic.Bool // false while Create runs: not listed yet

	mu  sync.Mutex
	rec record
	rc  runtimeContainer // nil when the runtime's state of it was lost
	out *logWriter
	io  *stdio
	// exited is closed once the exit is recorded.
	exited chan struct{}
}

// validID accepts 1-128 letters, digits, '_', '.', '-', not starting with
// one of the last three (IDs name files and cgroups). No regexp: its
// package-level compilation would run in every container's init too.
func validID(id string) bool {
	if len(id) == 0 || len(id) > 128 {
		return false
	}
	for i, r := range id {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		case i > 0 && (r == '_' || r == '.' || r == '-'):
		default:
			return false
		}
	}
	return true
}

func validateContainerSpec(sp ContainerSpec) error {
	switch {
	case !validID(sp.ID):
		return fmt.Errorf("%w: container id %q: must be 1-128 letters, digits, '_', '.', '-'", ErrInvalidArgument, sp.ID)
	case sp.Spec == nil:
		return fmt.Errorf("%w: container %s: no OCI spec", ErrInvalidArgument, sp.ID)
	case sp.Spec.Process == nil || len(sp.Spec.Process.Args) == 0:
		return fmt.Errorf("%w: container %s: spec.process.args is empty", ErrInvalidArgument, sp.ID)
	case sp.Spec.Root == nil || !filepath.IsAbs(sp.Spec.Root.Path):
		return fmt.Errorf("%w: container %s: spec.root.path must be an absolute path", ErrInvalidArgument, sp.ID)
	case sp.Spec.Linux == nil:
		return fmt.Errorf("%w: container %s: spec.linux is missing", ErrInvalidArgument, sp.ID)
	case sp.StdinOnce && !sp.Stdin:
		return fmt.Errorf("%w: container %s: stdinOnce without stdin", ErrInvalidArgument, sp.ID)
	}
	return nil
}

func (c *container) snapshot() State { return c.rec.State }

func (c *container) persist() error {
	return writeJSON(filepath.Join(c.s.containersDir(), c.rec.ID+".json"), &c.rec)
}

func (s *server) get(id string) (*container, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.containers[id]
	if !ok || !c.ready.Load() {
		return nil, fmt.Errorf("container %s: %w", id, ErrNotFound)
	}
	return c, nil
}

func (s *server) create(sp ContainerSpec) (State, error) {
	if err := validateContainerSpec(sp); err != nil {
		return State{}, err
	}
	c := &container{s: s, exited: make(chan struct{}), rec: record{
		ID: sp.ID, SandboxID: sp.SandboxID, LogPath: sp.LogPath,
		Stdin: sp.Stdin, StdinOnce: sp.StdinOnce, TTY: sp.TTY, Process: sp.Spec.Process,
	}}
	s.mu.Lock()
	if _, ok := s.containers[sp.ID]; ok {
		s.mu.Unlock()
		return State{}, fmt.Errorf("container %s: %w", sp.ID, ErrAlreadyExists)
	}
	s.containers[sp.ID] = c // reserves the ID
	s.mu.Unlock()
	st, err := c.create(sp)
	if err != nil {
		s.mu.Lock()
		delete(s.containers, sp.ID)
		s.mu.Unlock()
		return State{}, fmt.Errorf("create container %s: %w", sp.ID, err)
	}
	c.ready.Store(true)
	s.publish(Event{Type: EventCreated, State: st})
	return st, nil
}

// killWait bounds the wait for a killed init to be reaped (a process in
// uninterruptible sleep dies only when the kernel lets it).
const killWait = 10 * time.Second

// create runs the container's init up to the point where it waits for
// Start (runc create).
func (c *container) create(sp ContainerSpec) (_ State, retErr error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	clampOOMScore(sp.Spec.Process.OOMScoreAdj, c.s.oomFloor)
	out, err := openLog(sp.LogPath)
	if err != nil {
		return State{}, err
	}
	defer func() {
		if retErr != nil {
			out.Close()
		}
	}()
	io, err := newStdio(sp.Stdin, sp.TTY)
	if err != nil {
		return State{}, err
	}
	defer func() {
		if retErr != nil {
			io.Close()
		}
	}()
	rc, pid, console, err := c.s.rt.create(sp.ID, sp.Spec, io.child)
	io.closeChildEnds()
	if err != nil {
		return State{}, err
	}
	if console != nil {
		io.setConsole(console)
	}
	c.rc, c.out, c.io = rc, out, io
	c.rec.State = State{ID: sp.ID, Status: Created, Pid: pid, CreatedAt: time.Now()}
	if err := c.persist(); err != nil {
		// Destroy removes the container's cgroup, which must be
		// empty by then: the killed init is waited for first.
		rc.signal(unix.SIGKILL)
		exited := make(chan struct{})
		c.s.rt.watchInit(pid, func(unix.WaitStatus, time.Time) { close(exited) })
		select {
		case <-exited:
		case <-time.After(killWait):
			c.s.log.Warn("killed init still running", "id", sp.ID, "pid", pid)
		}
		rc.destroy()
		return State{}, fmt.Errorf("record container: %w", err)
	}
	c.s.keep.hold(sp.ID, io.held())
	c.copyOutput()
	c.s.rt.watchInit(pid, c.onExit)
	return c.snapshot(), nil
}

// copyOutput starts the goroutines writing the container's output to its
// log; when they end, the held stdio is released.
func (c *container) copyOutput() {
	var wg sync.WaitGroup
	for _, src := range c.io.sources() {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := c.out.copyStream(src.stream, c.s.attachers.tee(c.rec.ID, src.stream, src.r)); err != nil {
				c.s.log.Warn("container output", "id", c.rec.ID, "stream", src.stream, "err", err)
			}
		}()
	}
	go func() {
		wg.Wait()
		close(c.io.drained)
	}()
}

func (s *server) start(id string) (State, error) {
	c, err := s.get(id)
	if err != nil {
		return State{}, err
	}
	c.mu.Lock()
	if st := c.rec.State.Status; st != Created {
		c.mu.Unlock()
		return State{}, fmt.Errorf("start container %s: %w: it is %s", id, ErrFailedPrecondition, st)
	}
	if c.rc == nil {
		c.mu.Unlock()
		return State{}, fmt.Errorf("start container %s: %w: its runtime state is lost", id, ErrFailedPrecondition)
	}
	// Taken before: the process may exit (and be reaped) before Exec
	// returns, and must not finish before it started.
	startedAt := time.Now()
	if err := c.rc.start(); err != nil {
		c.mu.Unlock()
		return State{}, fmt.Errorf("start container %s: %w", id, err)
	}
	c.rec.State.Status = Running
	c.rec.State.StartedAt = startedAt
	perr := c.persist()
	st := c.snapshot()
	c.mu.Unlock()
	if perr != nil {
		s.log.Error("record container start", "id", id, "err", perr)
	}
	s.publish(Event{Type: EventStarted, State: st})
	return st, nil
}

// onExit records the exit of the container's init, reaped at time at.
func (c *container) onExit(ws unix.WaitStatus, at time.Time) {
	// Without a PID namespace of its own, the container's other processes
	// outlive its init: end them, as the container has ended (containerd
	// does the same).
	if c.rc != nil {
		if err := c.rc.killLeftovers(); err != nil {
			c.s.log.Warn("kill the processes left by the container's init", "id", c.rec.ID, "err", err)
		}
	}
	// Let the log take what the process wrote before it died, but do not
	// wait for ever: a child that inherited stdout may keep it open.
	if c.io != nil {
		select {
		case <-c.io.drained:
		case <-time.After(2 * time.Second):
		}
	}
	c.mu.Lock()
	if c.rec.State.Status == Exited {
		c.mu.Unlock()
		return
	}
	c.recordExit(ws, at)
	if err := c.persist(); err != nil {
		c.s.log.Error("record container exit", "id", c.rec.ID, "err", err)
	}
	snap := c.snapshot()
	c.mu.Unlock()
	c.s.log.Info("container exited", "id", snap.ID, "code", snap.ExitCode, "oom", snap.OOMKilled)
	c.s.publish(Event{Type: EventExited, State: snap})
}

// recordExit sets the state of an exited container (c.mu held).
func (c *container) recordExit(ws unix.WaitStatus, at time.Time) {
	st := &c.rec.State
	st.Status = Exited
	st.FinishedAt = at
	st.ExitCode = exitCode(ws)
	if c.oomKilled() {
		st.OOMKilled = true
		st.Reason = "OOMKilled"
	}
	close(c.exited)
}

// exitLost records that the container exited while no one could learn
// how.
func (c *container) exitLost(msg string) {
	st := &c.rec.State
	st.Status = Exited
	st.FinishedAt = time.Now()
	st.ExitCode = 255
	st.Reason = "Unknown"
	st.Message = msg
	close(c.exited)
}

func exitCode(ws unix.WaitStatus) int32 {
	if ws.Signaled() {
		return 128 + int32(ws.Signal())
	}
	return int32(ws.ExitStatus())
}

func (s *server) signal(id string, sig int) error {
	c, err := s.get(id)
	if err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.rec.State.Status == Exited || c.rc == nil {
		return nil
	}
	if err := c.rc.signal(unix.Signal(sig)); err != nil {
		return fmt.Errorf("signal container %s: %w", id, err)
	}
	return nil
}

func (s *server) state(id string) (State, error) {
	c, err := s.get(id)
	if err != nil {
		return State{}, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.snapshot(), nil
}

func (s *server) list() []State {
	s.mu.Lock()
	cs := make([]*container, 0, len(s.containers))
	for _, c := range s.containers {
		if c.ready.Load() {
			cs = append(cs, c)
		}
	}
	s.mu.Unlock()
	out := make([]State, 0, len(cs))
	for _, c := range cs {
		c.mu.Lock()
		out = append(out, c.snapshot())
		c.mu.Unlock()
	}
	sort.Slice(out, func(i, j int) bool { return out[i].CreatedAt.Before(out[j].CreatedAt) })
	return out
}

// delete removes an exited container (a created one is killed first):
// its cgroup, its runtime state and its record.
func (s *server) delete(ctx context.Context, id string) error {
	c, err := s.get(id)
	if err != nil {
		return err
	}
	c.mu.Lock()
	switch c.rec.State.Status {
	case Running:
		c.mu.Unlock()
		return fmt.Errorf("delete container %s: %w: it is running", id, ErrFailedPrecondition)
	case Created:
		if c.rc != nil {
			c.rc.signal(unix.SIGKILL)
		}
		c.mu.Unlock()
		select {
		case <-c.exited:
		case <-ctx.Done():
			return fmt.Errorf("delete container %s: waiting for its killed init: %w", id, ctx.Err())
		}
		c.mu.Lock()
	}
	defer c.mu.Unlock()
	if c.rc != nil {
		if err := c.rc.destroy(); err != nil {
			return fmt.Errorf("delete container %s: %w", id, err)
		}
	} else if err := s.rt.forget(id); err != nil {
		return fmt.Errorf("delete container %s: %w", id, err)
	}
	if c.io != nil {
		c.io.Close()
	}
	if c.out != nil {
		c.out.Close()
	}
	s.keep.drop(id)
	if err := os.Remove(filepath.Join(s.containersDir(), id+".json")); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("delete container %s: %w", id, err)
	}
	s.mu.Lock()
	delete(s.containers, id)
	s.mu.Unlock()
	s.publish(Event{Type: EventDeleted, State: c.snapshot()})
	return nil
}

func (s *server) reopenLog(id string) error {
	c, err := s.get(id)
	if err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.rec.State.Status != Running {
		return fmt.Errorf("reopen log of container %s: %w: it is %s", id, ErrFailedPrecondition, c.rec.State.Status)
	}
	if c.out == nil {
		return nil
	}
	return c.out.Reopen()
}
