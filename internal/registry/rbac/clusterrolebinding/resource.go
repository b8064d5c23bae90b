// Package clusterrolebinding serves rbac.authorization.k8s.io/v1 cluster
// role bindings, which grant a ClusterRole across the whole cluster.
package clusterrolebinding

import (
	"context"

	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/kemudi/kemudi/internal/registry"
	"github.com/kemudi/kemudi/internal/registry/rbac/role"
)

// Resource returns the clusterrolebindings resource.
func Resource() *registry.Resource {
	return &registry.Resource{
		GroupVersion:   rbacv1.SchemeGroupVersion,
		Resource:       "clusterrolebindings",
		Kind:           "ClusterRoleBinding",
		SingularName:   "clusterrolebinding",
		New:            func() runtime.Object { return &rbacv1.ClusterRoleBinding{} },
		NewList:        func() runtime.Object { return &rbacv1.ClusterRoleBindingList{} },
		NameValidation: role.ValidateName,
		// As upstream, a PUT creates a missing RBAC object.
		AllowCreateOnUpdate: true,
		Hooks: registry.Hooks{
			Default: func(obj runtime.Object) {
				Default(obj.(*rbacv1.ClusterRoleBinding))
			},
			Validate: func(_ context.Context, obj runtime.Object) field.ErrorList {
				return Validate(obj.(*rbacv1.ClusterRoleBinding))
			},
			ValidateUpdate: func(_ context.Context, obj, old runtime.Object) field.ErrorList {
				return ValidateUpdate(obj.(*rbacv1.ClusterRoleBinding), old.(*rbacv1.ClusterRoleBinding))
			},
		},
		Table: table(),
	}
}
