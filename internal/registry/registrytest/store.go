// Package registrytest holds fakes for testing resource packages: a
// registry.Store in memory, so that a Run action's logic is tested
// without an API server.
package registrytest

import (
	"context"
	"sort"
	"strconv"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/kemudi/kemudi/internal/registry"
)

// Store is a registry.Store over a map. It keeps what it was given and
// records each delete; Fail makes every call on a resource fail.
type Store struct {
	objects map[key]runtime.Object
	rv      int
	// Served, when set, limits the resources served; others are
	// registry.ErrNotServed.
	Served map[schema.GroupVersionResource]bool
	// Fail is the error a call on the resource returns.
	Fail map[schema.GroupVersionResource]error
	// BeforeUpdate, when set, runs before each Update reads the object
	// (to change it under the caller, as another writer would).
	BeforeUpdate func(s *Store, gvr schema.GroupVersionResource, namespace, name string)
	// Deleted lists the deletes, with their options.
	Deleted []Deletion
}

// Deletion is one delete the Store saw.
type Deletion struct {
	Namespace, Name string
	Options         metav1.DeleteOptions
	// Object is the object as it was when it was deleted.
	Object runtime.Object
}

type key struct {
	gvr             schema.GroupVersionResource
	namespace, name string
}

// NewStore returns an empty store.
func NewStore() *Store { return &Store{objects: map[key]runtime.Object{}} }

// Add stores obj as a gvr object, with a fresh resourceVersion.
func (s *Store) Add(gvr schema.GroupVersionResource, obj runtime.Object) {
	m, err := meta.Accessor(obj)
	if err != nil {
		panic(err)
	}
	s.rv++
	m.SetResourceVersion(strconv.Itoa(s.rv))
	s.objects[key{gvr, m.GetNamespace(), m.GetName()}] = obj
}

// Object returns the stored object, or nil.
func (s *Store) Object(gvr schema.GroupVersionResource, namespace, name string) runtime.Object {
	return s.objects[key{gvr, namespace, name}]
}

func (s *Store) check(gvr schema.GroupVersionResource) error {
	if s.Served != nil && !s.Served[gvr] {
		return registry.ErrNotServed
	}
	return s.Fail[gvr]
}

func notFound(gvr schema.GroupVersionResource, name string) error {
	return apierrors.NewNotFound(gvr.GroupResource(), name)
}

// Get implements registry.Store; resourceVersion is ignored.
func (s *Store) Get(_ context.Context, gvr schema.GroupVersionResource, namespace, name, _ string) (runtime.Object, error) {
	if err := s.check(gvr); err != nil {
		return nil, err
	}
	obj, ok := s.objects[key{gvr, namespace, name}]
	if !ok {
		return nil, notFound(gvr, name)
	}
	return obj.DeepCopyObject(), nil
}

// List implements registry.Store, in name order.
func (s *Store) List(_ context.Context, gvr schema.GroupVersionResource, namespace string) ([]runtime.Object, error) {
	if err := s.check(gvr); err != nil {
		return nil, err
	}
	var names []key
	for k := range s.objects {
		if k.gvr == gvr && (namespace == "" || k.namespace == namespace) {
			names = append(names, k)
		}
	}
	sort.Slice(names, func(i, j int) bool {
		return names[i].namespace+"/"+names[i].name < names[j].namespace+"/"+names[j].name
	})
	out := make([]runtime.Object, 0, len(names))
	for _, k := range names {
		out = append(out, s.objects[k].DeepCopyObject())
	}
	return out, nil
}

// Update implements registry.Store.
func (s *Store) Update(ctx context.Context, gvr schema.GroupVersionResource, namespace, name string, change func(runtime.Object) (runtime.Object, error)) (runtime.Object, error) {
	if s.BeforeUpdate != nil {
		s.BeforeUpdate(s, gvr, namespace, name)
	}
	cur, err := s.Get(ctx, gvr, namespace, name, "")
	if err != nil {
		return nil, err
	}
	next, err := change(cur)
	if err != nil {
		return nil, err
	}
	s.Add(gvr, next)
	return next.DeepCopyObject(), nil
}

// Delete implements registry.Store: the object goes at once, unless a
// dry run; a resourceVersion or uid precondition that does not hold is
// a conflict.
func (s *Store) Delete(_ context.Context, gvr schema.GroupVersionResource, namespace, name string, opts *metav1.DeleteOptions) error {
	if err := s.check(gvr); err != nil {
		return err
	}
	k := key{gvr, namespace, name}
	obj, ok := s.objects[k]
	if !ok {
		return notFound(gvr, name)
	}
	m, _ := meta.Accessor(obj)
	if p := opts.Preconditions; p != nil {
		if (p.ResourceVersion != nil && *p.ResourceVersion != m.GetResourceVersion()) || (p.UID != nil && *p.UID != m.GetUID()) {
			return apierrors.NewConflict(gvr.GroupResource(), name, errPrecondition)
		}
	}
	s.Deleted = append(s.Deleted, Deletion{Namespace: namespace, Name: name, Options: *opts.DeepCopy(), Object: obj.DeepCopyObject()})
	if len(opts.DryRun) == 0 {
		delete(s.objects, k)
	}
	return nil
}

var errPrecondition = preconditionError{}

type preconditionError struct{}

func (preconditionError) Error() string { return "the precondition does not hold" }
