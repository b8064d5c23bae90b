package apiserver

import (
	"context"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/kemudi/kemudi/internal/auth"
	"github.com/kemudi/kemudi/internal/registry"
)

// admit runs the configured admission plugins on a user's write (the
// server's own writes carry no user and pass): op is auth.Create, Update
// or Delete; obj is nil for a delete, old nil for a create.
func (s *Server) admit(ctx context.Context, op string, ep *endpoint, subresource string, obj, old runtime.Object) error {
	if s.admission == nil {
		return nil
	}
	u, ok := userFrom(ctx)
	if !ok {
		return nil
	}
	m, err := meta.Accessor(obj)
	if obj == nil {
		m, err = meta.Accessor(old)
	}
	if err != nil {
		return err
	}
	return s.admission.Admit(ctx, &auth.AdmissionRequest{
		User: u, Operation: op,
		APIGroup: ep.GroupVersion.Group, Resource: ep.Resource.Resource, Subresource: subresource,
		Namespace: m.GetNamespace(), Name: m.GetName(),
		Object: obj, Old: old,
	})
}

// statusHooks are the hooks of a status-like subresource: /status's, or
// those of another one the resource declares (approval).
func statusHooks(ep *endpoint, subresource string) registry.StatusHooks {
	if h, ok := ep.StatusLike[subresource]; ok {
		return h
	}
	return ep.StatusHooks
}
