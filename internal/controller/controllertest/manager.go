package controllertest

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"testing"

	"k8s.io/client-go/rest"

	"github.com/kemudi/kemudi/internal/controller/manager"
)

// Manager is a controller manager a test can stop and start again (a
// controller restart mid-rollout).
type Manager struct {
	t           testing.TB
	cfg         *rest.Config
	controllers []string

	mu     sync.Mutex
	cancel context.CancelFunc
	done   chan struct{}
}

// StartManager runs the controller manager, without leader election, with
// the given --controllers (default "*"), until Stop or the end of the
// test.
func StartManager(t testing.TB, cfg *rest.Config, controllers ...string) *Manager {
	if len(controllers) == 0 {
		controllers = []string{"*"}
	}
	m := &Manager{t: t, cfg: cfg, controllers: controllers}
	m.Start()
	t.Cleanup(m.Stop)
	return m
}

// Start starts the manager if it is stopped.
func (m *Manager) Start() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.cancel != nil {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	opts := manager.DefaultOptions()
	opts.Controllers, opts.LeaderElect = m.controllers, false
	opts.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	go func() {
		defer close(done)
		if err := manager.Run(ctx, m.cfg, opts); err != nil && ctx.Err() == nil {
			m.t.Errorf("controller manager: %v", err)
		}
	}()
	m.cancel, m.done = cancel, done
}

// Stop stops the manager and waits for its controllers to end.
func (m *Manager) Stop() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.cancel == nil {
		return
	}
	m.cancel()
	<-m.done
	m.cancel, m.done = nil, nil
}
