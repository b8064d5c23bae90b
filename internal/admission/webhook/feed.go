package webhook

import (
	"context"
	"log/slog"

	admissionv1 "k8s.io/api/admissionregistration/v1"

	"github.com/kemudi/kemudi/internal/storage"
)

// Feed keeps p's configurations equal to those in store, from the store's
// watch cache, until ctx ends. synced is closed once p holds every
// configuration that existed when Feed started.
func Feed(ctx context.Context, store *storage.Store, p *Plugin, log *slog.Logger) (synced <-chan struct{}) {
	mutating := store.Follow(ctx, storage.Prefix+"mutatingwebhookconfigurations/", storage.TypedSink(p.SetMutating,
		func(c *admissionv1.MutatingWebhookConfiguration) { p.DeleteMutating(c.Name) }, p.resetMutating), log)
	validating := store.Follow(ctx, storage.Prefix+"validatingwebhookconfigurations/", storage.TypedSink(p.SetValidating,
		func(c *admissionv1.ValidatingWebhookConfiguration) { p.DeleteValidating(c.Name) }, p.resetValidating), log)
	return storage.AllSynced(mutating, validating)
}

func (p *Plugin) resetMutating(cs []*admissionv1.MutatingWebhookConfiguration) {
	p.mu.Lock()
	clear(p.mutating)
	p.mu.Unlock()
	for _, c := range cs {
		p.SetMutating(c)
	}
	p.mu.Lock()
	p.publish()
	p.mu.Unlock()
}

func (p *Plugin) resetValidating(cs []*admissionv1.ValidatingWebhookConfiguration) {
	p.mu.Lock()
	clear(p.validating)
	p.mu.Unlock()
	for _, c := range cs {
		p.SetValidating(c)
	}
	p.mu.Lock()
	p.publish()
	p.mu.Unlock()
}
