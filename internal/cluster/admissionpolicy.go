package cluster

import (
	"context"
	"log/slog"

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
	if err := waitSynced(ctx, synced, "validating admission policies"); err != nil {
		return nil, err
	}
	return p, nil
}

// newMutatingAdmissionPolicy builds the MutatingAdmissionPolicy plugin,
// fed from the store's watch cache until ctx ends, and waits until it
// holds the stored policies.
func newMutatingAdmissionPolicy(ctx context.Context, store *storage.Store, scheme *runtime.Scheme, resources []*registry.Resource, authz auth.Authorizer, log *slog.Logger) (*policy.MutatingPlugin, error) {
	reader := policy.NewStoreReader(store, resources)
	p := policy.NewMutating(policy.Config{
		Namespaces:  reader,
		Params:      reader,
		Authorizer:  authz,
		Typer:       scheme,
		Scheme:      scheme,
		CustomTypes: reader.CustomTypes,
		Resources:   resources,
		Log:         log,
	})
	synced := policy.FeedMutating(ctx, store, p, log)
	if err := waitSynced(ctx, synced, "mutating admission policies"); err != nil {
		return nil, err
	}
	return p, nil
}
