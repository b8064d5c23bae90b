package webhook

import (
	"context"
	"log/slog"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/kemudi/kemudi/internal/storage"
)

// Feed keeps p's configurations equal to those in store, from the store's
// watch cache, until ctx ends. synced is closed once p holds every
// configuration that existed when Feed started.
func Feed(ctx context.Context, store *storage.Store, p *Plugin, log *slog.Logger) (synced <-chan struct{}) {
	mutating := store.Follow(ctx, storage.Prefix+"mutatingwebhookconfigurations/", storage.Sink{
		Set: func(o runtime.Object) {
			if c, ok := o.(*admissionv1.MutatingWebhookConfiguration); ok {
				p.SetMutating(c)
			}
		},
		Delete: func(o runtime.Object) {
			if c, ok := o.(*admissionv1.MutatingWebhookConfiguration); ok {
				p.DeleteMutating(c.Name)
			}
		},
		Reset: p.resetMutating,
	}, log)
	validating := store.Follow(ctx, storage.Prefix+"validatingwebhookconfigurations/", storage.Sink{
		Set: func(o runtime.Object) {
			if c, ok := o.(*admissionv1.ValidatingWebhookConfiguration); ok {
				p.SetValidating(c)
			}
		},
		Delete: func(o runtime.Object) {
			if c, ok := o.(*admissionv1.ValidatingWebhookConfiguration); ok {
				p.DeleteValidating(c.Name)
			}
		},
		Reset: p.resetValidating,
	}, log)
	return storage.AllSynced(mutating, validating)
}

func (p *Plugin) resetMutating(objs []runtime.Object) {
	p.mu.Lock()
	clear(p.mutating)
	p.mu.Unlock()
	for _, o := range objs {
		if c, ok := o.(*admissionv1.MutatingWebhookConfiguration); ok {
			p.SetMutating(c)
		}
	}
	p.mu.Lock()
	p.publish()
	p.mu.Unlock()
}

func (p *Plugin) resetValidating(objs []runtime.Object) {
	p.mu.Lock()
	clear(p.validating)
	p.mu.Unlock()
	for _, o := range objs {
		if c, ok := o.(*admissionv1.ValidatingWebhookConfiguration); ok {
			p.SetValidating(c)
		}
	}
	p.mu.Lock()
	p.publish()
	p.mu.Unlock()
}
