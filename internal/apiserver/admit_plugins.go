package apiserver

import (
	"context"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/kemudi/kemudi/internal/auth"
	"github.com/kemudi/kemudi/internal/registry"
)

// admit runs the validating admission phase on a write (the server's
// own writes too: they carry no user, and the chain gives them only to
// the plugins that judge them): op is auth.Create, Update or Delete; obj
// is nil for a delete, old nil for a create; opts the request's options.
func (s *Server) admit(ctx context.Context, op string, ep *endpoint, subresource string, obj, old, opts runtime.Object) error {
	if s.admission == nil {
		return nil
	}
	r, err := admissionRequest(ctx, op, ep, subresource, obj, old, opts)
	if err != nil {
		return err
	}
	r.Versions = s.versionsOf(ep)
	return s.admission.Admit(ctx, r)
}

// mutate runs the mutating admission phase on a write, after defaulting
// and before validation, as upstream orders them. It returns the object
// to go on with: obj, or what the plugins made of it (defaulted again
// when a plugin replaced it).
func (s *Server) mutate(ctx context.Context, op string, ep *endpoint, subresource string, obj, old, opts runtime.Object) (runtime.Object, error) {
	if s.mutating == nil {
		return obj, nil
	}
	r, err := admissionRequest(ctx, op, ep, subresource, obj, old, opts)
	if err != nil {
		return obj, err
	}
	r.Versions = s.versionsOf(ep)
	if err := s.mutating.Mutate(ctx, r); err != nil {
		return nil, err
	}
	if r.Object != obj && r.Object != nil && ep.Hooks.Default != nil {
		ep.Hooks.Default(r.Object)
	}
	if obj == nil {
		return nil, nil
	}
	return r.Object, nil
}

// admissionRequest describes a write to admission plugins; its User is
// nil for the server's own writes.
func admissionRequest(ctx context.Context, op string, ep *endpoint, subresource string, obj, old, opts runtime.Object) (*auth.AdmissionRequest, error) {
	u, _ := userFrom(ctx)
	m, err := meta.Accessor(obj)
	if obj == nil {
		m, err = meta.Accessor(old)
	}
	if err != nil {
		return nil, err
	}
	return &auth.AdmissionRequest{
		User: u, Operation: op,
		APIGroup: ep.GroupVersion.Group, Resource: ep.Resource.Resource, Subresource: subresource,
		Namespace: m.GetNamespace(), Name: m.GetName(),
		Object: obj, Old: old,
		Version: ep.GroupVersion.Version, Kind: ep.gvk, Namespaced: ep.Namespaced,
		DryRun: isDryRun(opts), Options: opts,
	}, nil
}

// createOptions and updateOptions are the options admission sees (a
// patch's are UpdateOptions, as upstream gives them).
func createOptions(dry bool, manager string) *metav1.CreateOptions {
	o := &metav1.CreateOptions{FieldManager: manager}
	if dry {
		o.DryRun = []string{metav1.DryRunAll}
	}
	return o
}

func updateOptions(dry bool, manager string) *metav1.UpdateOptions {
	o := &metav1.UpdateOptions{FieldManager: manager}
	if dry {
		o.DryRun = []string{metav1.DryRunAll}
	}
	return o
}

func isDryRun(opts runtime.Object) bool {
	switch o := opts.(type) {
	case *metav1.CreateOptions:
		return len(o.DryRun) > 0
	case *metav1.UpdateOptions:
		return len(o.DryRun) > 0
	case *metav1.DeleteOptions:
		return len(o.DryRun) > 0
	}
	return false
}

// statusHooks are the hooks of a status-like subresource: /status's, or
// those of another one the resource declares (approval).
func statusHooks(ep *endpoint, subresource string) registry.StatusHooks {
	if h, ok := ep.StatusLike[subresource]; ok {
		return h
	}
	return ep.StatusHooks
}
