// Package simnodetest runs simulated nodes for the length of a test.
package simnodetest

import (
	"context"
	"log/slog"
	"testing"

	"k8s.io/client-go/rest"

	"github.com/kemudi/kemudi/internal/simnode"
)

// Start registers simulated nodes on the API server cfg points at (with
// a client of their own: protobuf, no rate limits) and runs them until
// the test ends; it returns once they are registered and Ready. Their
// log goes to the test log at WARN and above unless opts.Log is set.
func Start(t testing.TB, cfg *rest.Config, opts simnode.Options) *simnode.Nodes {
	t.Helper()
	if opts.Log == nil {
		opts.Log = slog.New(slog.NewTextHandler(testLog{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	nodes, err := simnode.NewForConfig(cfg, opts)
	if err != nil {
		t.Fatalf("sim nodes: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(func() {
		cancel()
		nodes.Wait()
	})
	if err := nodes.Start(ctx); err != nil {
		t.Fatalf("start sim nodes: %v", err)
	}
	return nodes
}

type testLog struct{ t testing.TB }

func (w testLog) Write(p []byte) (int, error) {
	w.t.Log(string(p))
	return len(p), nil
}
