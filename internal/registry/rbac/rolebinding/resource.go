// Package rolebinding serves rbac.authorization.k8s.io/v1 role bindings,
// which grant a Role or ClusterRole to users, groups and service accounts
// within one namespace.
package rolebinding

import (
	"context"

	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/kemudi/kemudi/internal/registry"
	"github.com/kemudi/kemudi/internal/registry/rbac/role"
)

// Resource returns the rolebindings resource.
func Resource() *registry.Resource {
	return &registry.Resource{
		GroupVersion:   rbacv1.SchemeGroupVersion,
		Resource:       "rolebindings",
		Kind:           "RoleBinding",
		SingularName:   "rolebinding",
		Namespaced:     true,
		New:            func() runtime.Object { return &rbacv1.RoleBinding{} },
		NewList:        func() runtime.Object { return &rbacv1.RoleBindingList{} },
		NameValidation: role.ValidateName,
		// As upstream, a PUT creates a missing RBAC object.
		AllowCreateOnUpdate: true,
		Hooks: registry.Hooks{
			Default: func(obj runtime.Object) {
				Default(obj.(*rbacv1.RoleBinding))
			},
			Validate: func(_ context.Context, obj runtime.Object) field.ErrorList {
				return Validate(obj.(*rbacv1.RoleBinding))
			},
			ValidateUpdate: func(_ context.Context, obj, old runtime.Object) field.ErrorList {
				return ValidateUpdate(obj.(*rbacv1.RoleBinding), old.(*rbacv1.RoleBinding))
			},
		},
		Table: table(),
	}
}
