package policy

import (
	"context"
	"log/slog"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/kemudi/kemudi/internal/storage"
)

// Feed keeps p's policies and bindings current from the store's own
// watch cache until ctx ends. synced is closed once p holds every policy
// and binding that existed when Feed started.
func Feed(ctx context.Context, store *storage.Store, p *Plugin, log *slog.Logger) (synced <-chan struct{}) {
	return feedSet(ctx, store, &p.policySet, "validatingadmissionpolicies", "validatingadmissionpolicybindings", log)
}

// FeedMutating keeps p's mutating policies and bindings current, as Feed
// does the validating ones'.
func FeedMutating(ctx context.Context, store *storage.Store, p *MutatingPlugin, log *slog.Logger) (synced <-chan struct{}) {
	return feedSet(ctx, store, &p.policySet, "mutatingadmissionpolicies", "mutatingadmissionpolicybindings", log)
}

// policyObject is a policy or binding type as stored: a pointer that is
// both a runtime.Object and has object metadata.
type policyObject interface {
	runtime.Object
	metav1.Object
}

func feedSet[P, B policyObject, E any](ctx context.Context, store *storage.Store, s *policySet[P, B, E], policies, bindings string, log *slog.Logger) <-chan struct{} {
	ps := store.Follow(ctx, storage.Prefix+policies+"/", storage.TypedSink(s.SetPolicy, func(p P) { s.DeletePolicy(p.GetName()) }, s.ResetPolicies), log)
	bs := store.Follow(ctx, storage.Prefix+bindings+"/", storage.TypedSink(s.SetBinding, func(b B) { s.DeleteBinding(b.GetName()) }, s.ResetBindings), log)
	return storage.AllSynced(ps, bs)
}
