package cluster

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"k8s.io/apimachinery/pkg/runtime"

	"github.com/kemudi/kemudi/internal/admission/policy"
	"github.com/kemudi/kemudi/internal/auth"
	"github.com/kemudi/kemudi/internal/registry"
	"github.com/kemudi/kemudi/internal/storage"
)

// newAdmissionPolicy builds the ValidatingAdmissionPolicy plugin, fed from
// the store's watch cache until ctx ends, and waits until it holds the
// stored policies so that no write slips past them at start.
func newAdmissionPolicy(ctx context.Context, store *storage.Store, scheme *runtime.Scheme, resources []*registry.Resource, authz auth.Authorizer, log *slog.Logger) (*policy.Plugin, error) {
	reader := policy.NewStoreReader(store, resources)
	p := policy.New(policy.Config{
		Namespaces: reader,
		Params:     reader,
		Authorizer: authz,
		Typer:      scheme,
		Resources:  resources,
		Log:        log,
	})
	synced := policy.Feed(ctx, store, p, log)
	t := time.NewTimer(30 * time.Second)
	defer t.Stop()
	select {
	case <-synced:
		return p, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-t.C:
		return nil, fmt.Errorf("load the validating admission policies: timed out")
	}
}
