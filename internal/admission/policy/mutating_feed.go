package policy

import (
	"context"
	"log/slog"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/kemudi/kemudi/internal/storage"
)

// FeedMutating keeps p's mutating policies and bindings current from the
// store's watch cache until ctx ends. synced is closed once p holds every
// policy and binding that existed when it started.
func FeedMutating(ctx context.Context, store *storage.Store, p *MutatingPlugin, log *slog.Logger) (synced <-chan struct{}) {
	policies := store.Follow(ctx, storage.Prefix+"mutatingadmissionpolicies/", storage.Sink{
		Set: func(o runtime.Object) {
			if pol, ok := o.(*admissionregistrationv1.MutatingAdmissionPolicy); ok {
				p.SetPolicy(pol)
			}
		},
		Delete: func(o runtime.Object) {
			if pol, ok := o.(*admissionregistrationv1.MutatingAdmissionPolicy); ok {
				p.DeletePolicy(pol.Name)
			}
		},
		Reset: func(objs []runtime.Object) {
			var pols []*admissionregistrationv1.MutatingAdmissionPolicy
			for _, o := range objs {
				if pol, ok := o.(*admissionregistrationv1.MutatingAdmissionPolicy); ok {
					pols = append(pols, pol)
				}
			}
			p.ResetPolicies(pols)
		},
	}, log)
	bindings := store.Follow(ctx, storage.Prefix+"mutatingadmissionpolicybindings/", storage.Sink{
		Set: func(o runtime.Object) {
			if b, ok := o.(*admissionregistrationv1.MutatingAdmissionPolicyBinding); ok {
				p.SetBinding(b)
			}
		},
		Delete: func(o runtime.Object) {
			if b, ok := o.(*admissionregistrationv1.MutatingAdmissionPolicyBinding); ok {
				p.DeleteBinding(b.Name)
			}
		},
		Reset: func(objs []runtime.Object) {
			var bs []*admissionregistrationv1.MutatingAdmissionPolicyBinding
			for _, o := range objs {
				if b, ok := o.(*admissionregistrationv1.MutatingAdmissionPolicyBinding); ok {
					bs = append(bs, b)
				}
			}
			p.ResetBindings(bs)
		},
	}, log)
	return storage.AllSynced(policies, bindings)
}
