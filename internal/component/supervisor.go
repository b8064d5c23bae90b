package component

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// Task is one supervised component of a process.
type Task struct {
	Name string
	// Run runs the component until ctx ends (then it returns nil) or it
	// fails.
	Run func(ctx context.Context) error
	// Restart says a failure is retried with backoff; without it, a
	// failure stops the process.
	Restart bool
}

// Supervisor runs a process's components and decides, when one fails,
// whether to restart it or to stop the process. It logs each failure
// once, at warn when it restarts and at error when it gives up.
type Supervisor struct {
	Log *slog.Logger
	// Backoff is the wait before the first restart; it doubles up to
	// MaxBackoff.
	Backoff, MaxBackoff time.Duration
	// MaxRestarts is how many failures in a row a component may have
	// before the process stops; a run that lasted Healthy or longer
	// starts the count again.
	MaxRestarts int
	Healthy     time.Duration
	// now is the clock (tests).
	now func() time.Time
}

// NewSupervisor restarts a failing component after 1s, 2s, 4s, ... up
// to a minute, and gives up after 5 failures in a row (about 30 s of
// trying) unless it ran 5 minutes between them.
func NewSupervisor(log *slog.Logger) *Supervisor {
	return &Supervisor{Log: log, Backoff: time.Second, MaxBackoff: time.Minute, MaxRestarts: 5, Healthy: 5 * time.Minute, now: time.Now}
}

// Run runs tasks until ctx ends (it returns nil) or one of them gives up
// (it stops the others and returns that task's last error, naming it).
func (sv *Supervisor) Run(ctx context.Context, tasks ...Task) error {
	if len(tasks) == 0 {
		// Nothing to supervise (kemudi apiserver): run until ctx ends,
		// not stop the server at once.
		<-ctx.Done()
		return nil
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg     sync.WaitGroup
		once   sync.Once
		failed error
	)
	for _, t := range tasks {
		wg.Go(func() {
			if err := sv.supervise(ctx, t); err != nil {
				once.Do(func() { failed = err })
				cancel()
			}
		})
	}
	wg.Wait()
	return failed
}

// supervise runs one task, restarting it by its policy; it returns the
// error that ends the process, or nil when ctx ended.
func (sv *Supervisor) supervise(ctx context.Context, t Task) error {
	now := sv.now
	if now == nil {
		now = time.Now
	}
	failures := 0
	backoff := sv.Backoff
	for {
		start := now()
		err := t.Run(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if err == nil {
			err = fmt.Errorf("stopped for no reason")
		}
		if !t.Restart {
			sv.Log.Error("component failed; stopping", "component", t.Name, "err", err)
			return fmt.Errorf("%s: %w", t.Name, err)
		}
		if now().Sub(start) >= sv.Healthy {
			failures, backoff = 0, sv.Backoff
		}
		failures++
		if failures > sv.MaxRestarts {
			sv.Log.Error("component keeps failing; stopping", "component", t.Name, "failures", failures, "err", err)
			return fmt.Errorf("%s failed %d times in a row: %w", t.Name, failures, err)
		}
		sv.Log.Warn("component failed; restarting", "component", t.Name, "in", backoff, "failures", failures, "err", err)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, sv.MaxBackoff)
	}
}
