package rbac

import (
	"sync"

	rbacv1 "k8s.io/api/rbac/v1"
)

// Index holds the RBAC objects the authorizer reads, in memory. The
// objects it holds are shared: nobody may change them.
type Index struct {
	mu           sync.RWMutex
	clusterRoles map[string]*rbacv1.ClusterRole
	roles        map[nsName]*rbacv1.Role
	// Bindings are kept in slices so that authorizing walks them without
	// allocating; a binding change rebuilds one slice (they change rarely).
	clusterBindings []*rbacv1.ClusterRoleBinding
	bindings        map[string][]*rbacv1.RoleBinding // by namespace
}

type nsName struct{ namespace, name string }

// NewIndex returns an index holding objs (Roles, ClusterRoles and their
// bindings; anything else is ignored).
func NewIndex(objs ...any) *Index {
	x := &Index{
		clusterRoles: map[string]*rbacv1.ClusterRole{},
		roles:        map[nsName]*rbacv1.Role{},
		bindings:     map[string][]*rbacv1.RoleBinding{},
	}
	for _, o := range objs {
		x.Set(o)
	}
	return x
}

// Set adds or replaces an object.
func (x *Index) Set(obj any) {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.set(obj)
}

func (x *Index) set(obj any) {
	switch o := obj.(type) {
	case *rbacv1.ClusterRole:
		x.clusterRoles[o.Name] = o
	case *rbacv1.Role:
		x.roles[nsName{o.Namespace, o.Name}] = o
	case *rbacv1.ClusterRoleBinding:
		x.clusterBindings = replace(x.clusterBindings, o, func(b *rbacv1.ClusterRoleBinding) bool { return b.Name == o.Name })
	case *rbacv1.RoleBinding:
		x.bindings[o.Namespace] = replace(x.bindings[o.Namespace], o, func(b *rbacv1.RoleBinding) bool { return b.Name == o.Name })
	}
}

// Delete removes an object.
func (x *Index) Delete(obj any) {
	x.mu.Lock()
	defer x.mu.Unlock()
	switch o := obj.(type) {
	case *rbacv1.ClusterRole:
		delete(x.clusterRoles, o.Name)
	case *rbacv1.Role:
		delete(x.roles, nsName{o.Namespace, o.Name})
	case *rbacv1.ClusterRoleBinding:
		x.clusterBindings = remove(x.clusterBindings, func(b *rbacv1.ClusterRoleBinding) bool { return b.Name == o.Name })
	case *rbacv1.RoleBinding:
		x.bindings[o.Namespace] = remove(x.bindings[o.Namespace], func(b *rbacv1.RoleBinding) bool { return b.Name == o.Name })
		if len(x.bindings[o.Namespace]) == 0 {
			delete(x.bindings, o.Namespace)
		}
	}
}

// replace returns a new slice with o in place of the item same picks, or
// appended: readers may still hold the old one.
func replace[T any](s []T, o T, same func(T) bool) []T {
	out := make([]T, 0, len(s)+1)
	found := false
	for _, b := range s {
		if same(b) {
			b, found = o, true
		}
		out = append(out, b)
	}
	if !found {
		out = append(out, o)
	}
	return out
}

func remove[T any](s []T, same func(T) bool) []T {
	out := make([]T, 0, len(s))
	for _, b := range s {
		if !same(b) {
			out = append(out, b)
		}
	}
	return out
}

// ClusterRole returns the named cluster role.
func (x *Index) ClusterRole(name string) (*rbacv1.ClusterRole, bool) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	r, ok := x.clusterRoles[name]
	return r, ok
}

// ClusterRoles returns every cluster role, for aggregation.
func (x *Index) ClusterRoles() []*rbacv1.ClusterRole {
	x.mu.RLock()
	defer x.mu.RUnlock()
	out := make([]*rbacv1.ClusterRole, 0, len(x.clusterRoles))
	for _, r := range x.clusterRoles {
		out = append(out, r)
	}
	return out
}

// Role returns the named role.
func (x *Index) Role(namespace, name string) (*rbacv1.Role, bool) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	r, ok := x.roles[nsName{namespace, name}]
	return r, ok
}

// ClusterRoleBindings returns every cluster role binding; callers must
// not change the slice.
func (x *Index) ClusterRoleBindings() []*rbacv1.ClusterRoleBinding {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return x.clusterBindings
}

// RoleBindings returns the role bindings of a namespace; callers must not
// change the slice.
func (x *Index) RoleBindings(namespace string) []*rbacv1.RoleBinding {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return x.bindings[namespace]
}

// Reset replaces every object of sample's kind by objs, at once: readers
// never see the kind empty.
func (x *Index) Reset(sample any, objs []any) {
	x.mu.Lock()
	defer x.mu.Unlock()
	switch sample.(type) {
	case *rbacv1.ClusterRole:
		x.clusterRoles = map[string]*rbacv1.ClusterRole{}
	case *rbacv1.Role:
		x.roles = map[nsName]*rbacv1.Role{}
	case *rbacv1.ClusterRoleBinding:
		x.clusterBindings = nil
	case *rbacv1.RoleBinding:
		x.bindings = map[string][]*rbacv1.RoleBinding{}
	}
	for _, o := range objs {
		x.set(o)
	}
}

// Contains reports whether x holds an object of obj's kind and name.
func (x *Index) Contains(obj any) bool {
	x.mu.RLock()
	defer x.mu.RUnlock()
	switch o := obj.(type) {
	case *rbacv1.ClusterRole:
		_, ok := x.clusterRoles[o.Name]
		return ok
	case *rbacv1.Role:
		_, ok := x.roles[nsName{o.Namespace, o.Name}]
		return ok
	case *rbacv1.ClusterRoleBinding:
		for _, b := range x.clusterBindings {
			if b.Name == o.Name {
				return true
			}
		}
	case *rbacv1.RoleBinding:
		for _, b := range x.bindings[o.Namespace] {
			if b.Name == o.Name {
				return true
			}
		}
	}
	return false
}
