package garbagecollector

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	fakediscovery "k8s.io/client-go/discovery/fake"
	clienttesting "k8s.io/client-go/testing"
)

// TestRunStopsBeforeSync: a collector stopped while discovery still
// fails (its graph never synced) returns, so that the manager can stop.
func TestRunStopsBeforeSync(t *testing.T) {
	fd := &fakediscovery.FakeDiscovery{Fake: &clienttesting.Fake{}}
	gc := newGC(nil, fd, slog.New(slog.NewTextHandler(io.Discard, nil)), nil)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	done := make(chan struct{})
	go func() { _ = gc.Run(ctx); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after its context ended")
	}
}
