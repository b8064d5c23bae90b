package policy

import (
	"context"
	"log/slog"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/kemudi/kemudi/internal/storage"
)

// Feed keeps p's policies and bindings current from the store's own
// watch cache until ctx ends. synced is closed once p holds every policy
// and binding that existed when Feed started.
func Feed(ctx context.Context, store *storage.Store, p *Plugin, log *slog.Logger) (synced <-chan struct{}) {
	policies := store.Follow(ctx, storage.Prefix+"validatingadmissionpolicies/", storage.Sink{
		Set: func(o runtime.Object) {
			if pol, ok := o.(*admissionregistrationv1.ValidatingAdmissionPolicy); ok {
				p.SetPolicy(pol)
			}
		},
		Delete: func(o runtime.Object) {
			if pol, ok := o.(*admissionregistrationv1.ValidatingAdmissionPolicy); ok {
				p.DeletePolicy(pol.Name)
			}
		},
		Reset: func(objs []runtime.Object) {
			var pols []*admissionregistrationv1.ValidatingAdmissionPolicy
			for _, o := range objs {
				if pol, ok := o.(*admissionregistrationv1.ValidatingAdmissionPolicy); ok {
					pols = append(pols, pol)
				}
			}
			p.ResetPolicies(pols)
		},
	}, log)
	bindings := store.Follow(ctx, storage.Prefix+"validatingadmissionpolicybindings/", storage.Sink{
		Set: func(o runtime.Object) {
			if b, ok := o.(*admissionregistrationv1.ValidatingAdmissionPolicyBinding); ok {
				p.SetBinding(b)
			}
		},
		Delete: func(o runtime.Object) {
			if b, ok := o.(*admissionregistrationv1.ValidatingAdmissionPolicyBinding); ok {
				p.DeleteBinding(b.Name)
			}
		},
		Reset: func(objs []runtime.Object) {
			var bs []*admissionregistrationv1.ValidatingAdmissionPolicyBinding
			for _, o := range objs {
				if b, ok := o.(*admissionregistrationv1.ValidatingAdmissionPolicyBinding); ok {
					bs = append(bs, b)
				}
			}
			p.ResetBindings(bs)
		},
	}, log)
	return storage.AllSynced(policies, bindings)
}
