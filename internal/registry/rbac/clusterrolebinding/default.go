package clusterrolebinding

import (
	rbacv1 "k8s.io/api/rbac/v1"

	"github.com/kemudi/kemudi/internal/registry/rbac/rolebinding"
)

// Default fills the roleRef's API group and each subject's, as for role
// bindings.
func Default(crb *rbacv1.ClusterRoleBinding) {
	rolebinding.DefaultRoleRef(&crb.RoleRef)
	rolebinding.DefaultSubjects(crb.Subjects)
}
