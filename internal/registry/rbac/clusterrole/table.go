package clusterrole

import (
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/kemudi/kemudi/internal/registry"
	"github.com/kemudi/kemudi/internal/registry/printers"
)

// table prints NAME CREATED AT: upstream has no printer for cluster
// roles, so `kubectl get clusterroles` shows the default table.
func table() *registry.Table {
	return &registry.Table{
		Columns: []metav1.TableColumnDefinition{printers.NameColumn, printers.CreatedAtColumn},
		Row: func(obj runtime.Object) ([]interface{}, error) {
			cr := obj.(*rbacv1.ClusterRole)
			return []interface{}{cr.Name, printers.CreatedAt(cr.CreationTimestamp)}, nil
		},
	}
}
