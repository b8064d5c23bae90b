// Package clusterrole serves rbac.authorization.k8s.io/v1 cluster roles:
// cluster-wide sets of policy rules, which may also name non-resource URLs
// and be aggregated from other cluster roles by label.
package clusterrole

import (
	"context"

	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/kemudi/kemudi/internal/registry"
	"github.com/kemudi/kemudi/internal/registry/rbac/role"
)

// Resource returns the clusterroles resource.
func Resource() *registry.Resource {
	return &registry.Resource{
		GroupVersion:   rbacv1.SchemeGroupVersion,
		Resource:       "clusterroles",
		Kind:           "ClusterRole",
		SingularName:   "clusterrole",
		New:            func() runtime.Object { return &rbacv1.ClusterRole{} },
		NewList:        func() runtime.Object { return &rbacv1.ClusterRoleList{} },
		NameValidation: role.ValidateName,
		// As upstream, a PUT creates a missing RBAC object.
		AllowCreateOnUpdate: true,
		Hooks: registry.Hooks{
			Validate: func(_ context.Context, obj runtime.Object) field.ErrorList {
				return Validate(obj.(*rbacv1.ClusterRole), false)
			},
			ValidateUpdate: func(_ context.Context, obj, old runtime.Object) field.ErrorList {
				return ValidateUpdate(obj.(*rbacv1.ClusterRole), old.(*rbacv1.ClusterRole))
			},
		},
		Table: table(),
	}
}
