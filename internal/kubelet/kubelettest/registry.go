package kubelettest

import (
	"testing"

	"github.com/kemudi/kemudi/internal/testimages"
)

// NewRegistry starts a registry in the node's network namespace (its
// 127.0.0.1, where the runtime pulls from), through wrap (authentication,
// faults); closed at the test's end.
func (c *Runtime) NewRegistry(t testing.TB, wrap ...testimages.Middleware) *testimages.Registry {
	t.Helper()
	var r *testimages.Registry
	err := c.inNetNS(func() error {
		var err error
		r, err = testimages.NewRegistry(wrap...)
		return err
	})
	if err != nil {
		t.Fatalf("registry in the network namespace: %v", err)
	}
	t.Cleanup(r.Close)
	return r
}
