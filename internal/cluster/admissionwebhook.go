package cluster

import (
	"context"
	"log/slog"

	"github.com/kemudi/kemudi/internal/admission/policy"
	"github.com/kemudi/kemudi/internal/admission/webhook"
	"github.com/kemudi/kemudi/internal/auth"
	"github.com/kemudi/kemudi/internal/registry"
	"github.com/kemudi/kemudi/internal/storage"
)

// newAdmissionWebhooks builds the admission webhook plugin (mutating and
// validating), fed from the store's watch cache until ctx ends, and waits
// until it holds the stored configurations so that no write slips past
// them at start.
func newAdmissionWebhooks(ctx context.Context, store *storage.Store, resources []*registry.Resource, authz auth.Authorizer, log *slog.Logger) (*webhook.Plugin, error) {
	p := webhook.New(webhook.Config{
		Namespaces: policy.NewStoreReader(store, resources),
		Services:   webhook.StoreResolver{Store: store},
		Authorizer: authz,
		Log:        log,
	})
	synced := webhook.Feed(ctx, store, p, log)
	if err := waitSynced(ctx, synced, "admission webhook configurations"); err != nil {
		return nil, err
	}
	return p, nil
}
