package clusterrolebinding

import (
	rbacv1 "k8s.io/api/rbac/v1"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/kemudi/kemudi/internal/registry/rbac/rolebinding"
)

// Validate checks a cluster role binding: it can only refer to a
// ClusterRole, and its service account subjects need a namespace.
func Validate(crb *rbacv1.ClusterRoleBinding) field.ErrorList {
	errs := rolebinding.ValidateRoleRef(crb.RoleRef, []string{"ClusterRole"})
	for i, s := range crb.Subjects {
		errs = append(errs, rolebinding.ValidateSubject(s, false, field.NewPath("subjects").Index(i))...)
	}
	return errs
}

// ValidateUpdate checks an update: roleRef is immutable.
func ValidateUpdate(crb, old *rbacv1.ClusterRoleBinding) field.ErrorList {
	errs := Validate(crb)
	return append(errs, apivalidation.ValidateImmutableField(crb.RoleRef, old.RoleRef, field.NewPath("roleRef"))...)
}
