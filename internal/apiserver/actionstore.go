package apiserver

import (
	"context"
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/kemudi/kemudi/internal/registry"
	"github.com/kemudi/kemudi/internal/storage"
)

// actionStore is the server's registry.Store: what a Run action
// (pods/eviction, serviceaccounts/token) may read and write.
type actionStore struct{ s *Server }

var _ registry.Store = actionStore{}

func (a actionStore) endpoint(gvr schema.GroupVersionResource) (*endpoint, error) {
	ep, ok := a.s.endpoints[endpointKey(gvr.Group, gvr.Version, gvr.Resource)]
	if !ok {
		return nil, fmt.Errorf("resource %s: %w", gvr, registry.ErrNotServed)
	}
	return ep, nil
}

func (a actionStore) Get(ctx context.Context, gvr schema.GroupVersionResource, namespace, name, resourceVersion string) (runtime.Object, error) {
	ep, err := a.endpoint(gvr)
	if err != nil {
		return nil, err
	}
	obj, err := a.s.store.Get(ctx, ep.key(namespace, name), resourceVersion)
	if err != nil {
		return nil, statusFor(err, ep.groupResource(), name)
	}
	return a.s.versionedOrError(ctx, ep, obj)
}

func (a actionStore) List(ctx context.Context, gvr schema.GroupVersionResource, namespace string) ([]runtime.Object, error) {
	ep, err := a.endpoint(gvr)
	if err != nil {
		return nil, err
	}
	res, err := a.s.store.List(ctx, ep.listPrefix(namespace), storage.ListOptions{})
	if err != nil {
		return nil, statusFor(err, ep.groupResource(), "")
	}
	return a.s.versionedAll(ctx, ep, res.Items)
}

func (a actionStore) Update(ctx context.Context, gvr schema.GroupVersionResource, namespace, name string, change func(runtime.Object) (runtime.Object, error)) (runtime.Object, error) {
	ep, err := a.endpoint(gvr)
	if err != nil {
		return nil, err
	}
	obj, _, err := a.s.updateObject(ctx, ep, namespace, name, updateSpec{compute: change, raw: true})
	return obj, err
}

func (a actionStore) Delete(ctx context.Context, gvr schema.GroupVersionResource, namespace, name string, opts *metav1.DeleteOptions) error {
	ep, err := a.endpoint(gvr)
	if err != nil {
		return err
	}
	_, _, err = a.s.deleteAdmitted(ctx, ep, namespace, name, opts, false)
	return err
}
