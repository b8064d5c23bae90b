package policy

import (
	"context"
	"fmt"
	"sync"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/kemudi/kemudi/internal/registry"
	"github.com/kemudi/kemudi/internal/storage"
)

// StoreReader reads namespaces and params from the store's watch cache
// (a watch-backed copy of etcd: no round trip per request). It serves
// the built-in kinds it is given.
type StoreReader struct {
	store *storage.Store
	kinds map[schema.GroupVersionKind]*registry.Resource

	typesMu sync.Mutex
	types   map[string]cachedTypes // by CRD name
}

// NewStoreReader returns a reader of the kinds of resources.
func NewStoreReader(store *storage.Store, resources []*registry.Resource) *StoreReader {
	kinds := map[schema.GroupVersionKind]*registry.Resource{}
	for _, r := range resources {
		gvk := r.GroupVersion.WithKind(r.Kind)
		// A view of another resource's storage (events.k8s.io events)
		// stores objects of the other kind: skip it.
		if _, dup := kinds[gvk]; !dup && r.Convert == nil {
			kinds[gvk] = r
		}
	}
	return &StoreReader{store: store, kinds: kinds}
}

func (s *StoreReader) prefix(r *registry.Resource) string {
	p := r.StoragePrefix
	if p == "" {
		p = r.Resource
	}
	return storage.Prefix + p + "/"
}

// GetNamespace implements NamespaceGetter: from the cache, or from etcd
// for a namespace created a moment ago that the cache has not seen yet.
func (s *StoreReader) GetNamespace(ctx context.Context, name string) (*corev1.Namespace, error) {
	key := storage.Prefix + "namespaces/" + name
	obj, err := s.store.Get(ctx, key, "0")
	if storage.HasCode(err, storage.CodeNotFound) {
		obj, err = s.store.Get(ctx, key, "")
	}
	if storage.HasCode(err, storage.CodeNotFound) {
		return nil, apierrors.NewNotFound(corev1.Resource("namespaces"), name)
	}
	if err != nil {
		return nil, err
	}
	ns, ok := obj.(*corev1.Namespace)
	if !ok {
		return nil, fmt.Errorf("namespace %s: stored as %T", name, obj)
	}
	return ns, nil
}

// Scope implements Params: built-in kinds, and the kinds of the
// CustomResourceDefinitions served now.
func (s *StoreReader) Scope(gvk schema.GroupVersionKind) (namespaced, ok bool) {
	k, ok := s.kind(context.Background(), gvk)
	if !ok {
		return false, false
	}
	return k.namespaced, true
}

// Get implements Params: from the cache, then etcd when the cache has
// not seen a param created a moment ago (as upstream falls back to a
// direct read).
func (s *StoreReader) Get(ctx context.Context, gvk schema.GroupVersionKind, namespace, name string) (runtime.Object, error) {
	k, ok := s.kind(ctx, gvk)
	if !ok {
		return nil, fmt.Errorf("kind %s not served", gvk)
	}
	key := k.prefix + name
	if k.namespaced {
		key = k.prefix + namespace + "/" + name
	}
	obj, err := s.store.Get(ctx, key, "0")
	if storage.HasCode(err, storage.CodeNotFound) {
		obj, err = s.store.Get(ctx, key, "")
	}
	if storage.HasCode(err, storage.CodeNotFound) {
		return nil, apierrors.NewNotFound(k.resource, name)
	}
	if err != nil {
		return nil, err
	}
	return k.served(obj), nil
}

// List implements Params.
func (s *StoreReader) List(ctx context.Context, gvk schema.GroupVersionKind, namespace string, sel labels.Selector) ([]runtime.Object, error) {
	k, ok := s.kind(ctx, gvk)
	if !ok {
		return nil, fmt.Errorf("kind %s not served", gvk)
	}
	prefix := k.prefix
	if k.namespaced && namespace != "" {
		prefix += namespace + "/"
	}
	res, err := s.store.List(ctx, prefix, storage.ListOptions{ResourceVersion: "0"})
	if err != nil {
		return nil, err
	}
	var out []runtime.Object
	for _, obj := range res.Items {
		m, err := meta.Accessor(obj)
		if err == nil && sel.Matches(labels.Set(m.GetLabels())) {
			out = append(out, k.served(obj))
		}
	}
	return out, nil
}
