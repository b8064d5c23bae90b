// Package role serves rbac.authorization.k8s.io/v1 roles: namespaced sets
// of policy rules. Enforcing them is the authorizer's job, not this
// package's; here they are only checked for shape.
package role

import (
	"context"

	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/kemudi/kemudi/internal/registry"
)

// Resource returns the roles resource.
func Resource() *registry.Resource {
	return &registry.Resource{
		GroupVersion:   rbacv1.SchemeGroupVersion,
		Resource:       "roles",
		Kind:           "Role",
		SingularName:   "role",
		Namespaced:     true,
		New:            func() runtime.Object { return &rbacv1.Role{} },
		NewList:        func() runtime.Object { return &rbacv1.RoleList{} },
		NameValidation: ValidateName,
		// As upstream, a PUT creates a missing RBAC object.
		AllowCreateOnUpdate: true,
		Hooks: registry.Hooks{
			Validate: func(_ context.Context, obj runtime.Object) field.ErrorList {
				return Validate(obj.(*rbacv1.Role))
			},
			ValidateUpdate: func(_ context.Context, obj, _ runtime.Object) field.ErrorList {
				return Validate(obj.(*rbacv1.Role))
			},
		},
		Table: table(),
	}
}
