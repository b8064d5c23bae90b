package rolebinding

import (
	"strings"

	rbacv1 "k8s.io/api/rbac/v1"
	rbacv1beta1 "k8s.io/api/rbac/v1beta1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/kemudi/kemudi/internal/registry"
	"github.com/kemudi/kemudi/internal/registry/printers"
)

// table prints NAME ROLE AGE, and with -o wide USERS GROUPS
// SERVICEACCOUNTS, as upstream does.
func table() *registry.Table {
	return &registry.Table{
		Columns: Columns("roleBinding", rbacv1beta1.RoleBinding{}.SwaggerDoc()["roleRef"]),
		Row: func(obj runtime.Object) ([]interface{}, error) {
			rb := obj.(*rbacv1.RoleBinding)
			return Row(rb.Name, rb.RoleRef, rb.Subjects, rb.CreationTimestamp), nil
		},
	}
}

// Columns are the columns of role bindings and cluster role bindings;
// noun ("roleBinding" or "clusterRoleBinding") appears in the wide
// columns' descriptions, roleDoc is the ROLE column's.
func Columns(noun, roleDoc string) []metav1.TableColumnDefinition {
	return []metav1.TableColumnDefinition{
		printers.NameColumn,
		{Name: "Role", Type: "string", Description: roleDoc},
		printers.AgeColumn,
		{Name: "Users", Type: "string", Priority: 1, Description: "Users in the " + noun},
		{Name: "Groups", Type: "string", Priority: 1, Description: "Groups in the " + noun},
		{Name: "ServiceAccounts", Type: "string", Priority: 1, Description: "ServiceAccounts in the " + noun},
	}
}

// Row returns the cells of a binding: ROLE is Kind/name, and the wide
// cells list the subjects by kind, service accounts as namespace/name.
func Row(name string, ref rbacv1.RoleRef, subjects []rbacv1.Subject, created metav1.Time) []interface{} {
	var users, groups, sas []string
	for _, s := range subjects {
		switch s.Kind {
		case rbacv1.UserKind:
			users = append(users, s.Name)
		case rbacv1.GroupKind:
			groups = append(groups, s.Name)
		case rbacv1.ServiceAccountKind:
			sas = append(sas, s.Namespace+"/"+s.Name)
		}
	}
	return []interface{}{
		name,
		ref.Kind + "/" + ref.Name,
		printers.Age(created),
		strings.Join(users, ", "),
		strings.Join(groups, ", "),
		strings.Join(sas, ", "),
	}
}
