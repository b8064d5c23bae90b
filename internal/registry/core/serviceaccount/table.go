package serviceaccount

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/kemudi/kemudi/internal/registry"
	"github.com/kemudi/kemudi/internal/registry/printers"
)

// table prints NAME AGE: upstream dropped the SECRETS column once tokens
// stopped being stored in secrets.
func table() *registry.Table {
	return &registry.Table{
		Columns: []metav1.TableColumnDefinition{printers.NameColumn, printers.AgeColumn},
		Row: func(obj runtime.Object) ([]interface{}, error) {
			sa := obj.(*corev1.ServiceAccount)
			return []interface{}{sa.Name, printers.Age(sa.CreationTimestamp)}, nil
		},
	}
}
