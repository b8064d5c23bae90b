package apiserver

import (
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
)

// EnsureObjects creates each object that does not exist yet, through the
// same path a client's create takes: the server's own objects (system
// namespaces, priority classes, bootstrap RBAC) get the same defaulting
// and validation as anyone's.
func (s *Server) EnsureObjects(ctx context.Context, objs ...runtime.Object) error {
	for _, obj := range objs {
		kinds, _, err := s.scheme.ObjectKinds(obj)
		if err != nil {
			return err
		}
		ep := s.endpointForKind(kinds[0].Group, kinds[0].Version, kinds[0].Kind)
		if ep == nil {
			return fmt.Errorf("no served resource for %s", kinds[0])
		}
		obj = obj.DeepCopyObject()
		obj.GetObjectKind().SetGroupVersionKind(ep.gvk)
		m, err := meta.Accessor(obj)
		if err != nil {
			return err
		}
		if _, err := s.store.Get(ctx, ep.key(m.GetNamespace(), m.GetName()), ""); err == nil {
			continue
		}
		if _, err := s.createObject(ctx, ep, obj, false, "kemudi"); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("create %s: %w", kinds[0].Kind, err)
		}
	}
	return nil
}

func (s *Server) endpointForKind(group, version, kind string) *endpoint {
	for _, ep := range s.ordered {
		if ep.gvk.Group == group && ep.gvk.Version == version && ep.gvk.Kind == kind && ep.Convert == nil {
			return ep
		}
	}
	return nil
}
