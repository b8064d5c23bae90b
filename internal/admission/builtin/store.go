package builtin

import (
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/kemudi/kemudi/internal/storage"
)

// Reader reads the stored objects of one resource.
type Reader[T runtime.Object] interface {
	// Get returns the named object (namespace "" for a cluster-scoped
	// one), or a NotFound API error. The result is shared: read only.
	Get(ctx context.Context, namespace, name string) (T, error)
	// List returns the objects in namespace, every namespace for "".
	// The results are shared: read only.
	List(ctx context.Context, namespace string) ([]T, error)
}

// Updater changes one stored object with compare-and-swap.
type Updater[T runtime.Object] interface {
	// Update calls fn with a copy of the current object (fn's to change)
	// and stores what it returns unless another write came in between;
	// then fn is called again with the newer object. An error from fn
	// stores nothing and is returned.
	Update(ctx context.Context, namespace, name string, fn func(current T) (T, error)) error
}

// StoreResource reads and updates the objects of one resource in the API
// server's store: from its watch cache, and from etcd for an object
// created a moment ago that the cache has not seen yet.
type StoreResource[T runtime.Object] struct {
	store *storage.Store
	gr    schema.GroupResource
	// prefix is where the resource's objects live: /registry/<resource>/.
	prefix string
}

// NewStoreResource reads gr's objects, stored under its resource name as
// the API server keeps built-in resources.
func NewStoreResource[T runtime.Object](store *storage.Store, gr schema.GroupResource) *StoreResource[T] {
	return &StoreResource[T]{store: store, gr: gr, prefix: storage.Prefix + gr.Resource + "/"}
}

func (s *StoreResource[T]) key(namespace, name string) string {
	if namespace == "" {
		return s.prefix + name
	}
	return s.prefix + namespace + "/" + name
}

// Get implements Reader.
func (s *StoreResource[T]) Get(ctx context.Context, namespace, name string) (T, error) {
	var zero T
	key := s.key(namespace, name)
	obj, err := s.store.Get(ctx, key, "0")
	if storage.HasCode(err, storage.CodeNotFound) {
		obj, err = s.store.Get(ctx, key, "")
	}
	if storage.HasCode(err, storage.CodeNotFound) {
		return zero, apierrors.NewNotFound(s.gr, name)
	}
	if err != nil {
		return zero, err
	}
	t, ok := obj.(T)
	if !ok {
		return zero, fmt.Errorf("%s %s: stored as %T", s.gr, key, obj)
	}
	return t, nil
}

// List implements Reader, from the watch cache.
func (s *StoreResource[T]) List(ctx context.Context, namespace string) ([]T, error) {
	prefix := s.prefix
	if namespace != "" {
		prefix += namespace + "/"
	}
	res, err := s.store.List(ctx, prefix, storage.ListOptions{ResourceVersion: "0"})
	if err != nil {
		return nil, err
	}
	out := make([]T, 0, len(res.Items))
	for _, obj := range res.Items {
		if t, ok := obj.(T); ok {
			out = append(out, t)
		}
	}
	return out, nil
}

// Update implements Updater. An object that is gone is a NotFound API
// error.
func (s *StoreResource[T]) Update(ctx context.Context, namespace, name string, fn func(T) (T, error)) error {
	_, err := s.store.Update(ctx, s.key(namespace, name), nil, func(current runtime.Object) (runtime.Object, error) {
		t, ok := current.(T)
		if !ok {
			return current, nil
		}
		updated, err := fn(t)
		if err != nil {
			return nil, err
		}
		return updated, nil
	})
	if storage.HasCode(err, storage.CodeNotFound) {
		return apierrors.NewNotFound(s.gr, name)
	}
	return err
}
