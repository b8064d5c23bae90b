package builtin

import (
	"context"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// objects is a Reader and Updater over a slice, for the plugins' tests.
type objects[T runtime.Object] struct {
	items []T
	err   error // returned by every call when set
}

func (o *objects[T]) Get(_ context.Context, namespace, name string) (T, error) {
	var zero T
	if o.err != nil {
		return zero, o.err
	}
	for _, it := range o.items {
		m, _ := meta.Accessor(it)
		if m.GetNamespace() == namespace && m.GetName() == name {
			return it, nil
		}
	}
	return zero, apierrors.NewNotFound(schema.GroupResource{Resource: "things"}, name)
}

func (o *objects[T]) List(_ context.Context, namespace string) ([]T, error) {
	if o.err != nil {
		return nil, o.err
	}
	var out []T
	for _, it := range o.items {
		m, _ := meta.Accessor(it)
		if namespace == "" || m.GetNamespace() == namespace {
			out = append(out, it)
		}
	}
	return out, nil
}

func (o *objects[T]) Update(_ context.Context, namespace, name string, fn func(T) (T, error)) error {
	if o.err != nil {
		return o.err
	}
	for i, it := range o.items {
		m, _ := meta.Accessor(it)
		if m.GetNamespace() != namespace || m.GetName() != name {
			continue
		}
		updated, err := fn(it.DeepCopyObject().(T))
		if err != nil {
			return err
		}
		o.items[i] = updated
		return nil
	}
	return apierrors.NewNotFound(schema.GroupResource{Resource: "things"}, name)
}
