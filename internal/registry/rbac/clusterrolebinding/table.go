package clusterrolebinding

import (
	rbacv1 "k8s.io/api/rbac/v1"
	rbacv1beta1 "k8s.io/api/rbac/v1beta1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/kemudi/kemudi/internal/registry"
	"github.com/kemudi/kemudi/internal/registry/rbac/rolebinding"
)

// table prints NAME ROLE AGE, and with -o wide USERS GROUPS
// SERVICEACCOUNTS, like role bindings.
func table() *registry.Table {
	return &registry.Table{
		Columns: rolebinding.Columns("clusterRoleBinding", rbacv1beta1.ClusterRoleBinding{}.SwaggerDoc()["roleRef"]),
		Row: func(obj runtime.Object) ([]interface{}, error) {
			crb := obj.(*rbacv1.ClusterRoleBinding)
			return rolebinding.Row(crb.Name, crb.RoleRef, crb.Subjects, crb.CreationTimestamp), nil
		},
	}
}
