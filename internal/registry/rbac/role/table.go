package role

import (
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/kemudi/kemudi/internal/registry"
	"github.com/kemudi/kemudi/internal/registry/printers"
)

// table prints NAME CREATED AT: upstream has no printer for roles, so
// `kubectl get roles` shows the API server's default table.
func table() *registry.Table {
	return &registry.Table{
		Columns: []metav1.TableColumnDefinition{printers.NameColumn, printers.CreatedAtColumn},
		Row: func(obj runtime.Object) ([]interface{}, error) {
			r := obj.(*rbacv1.Role)
			return []interface{}{r.Name, printers.CreatedAt(r.CreationTimestamp)}, nil
		},
	}
}
