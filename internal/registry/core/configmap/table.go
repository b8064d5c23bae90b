package configmap

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/kemudi/kemudi/internal/registry"
	"github.com/kemudi/kemudi/internal/registry/printers"
)

// table prints NAME DATA AGE, as upstream does.
func table() *registry.Table {
	return &registry.Table{
		Columns: []metav1.TableColumnDefinition{
			printers.NameColumn,
			{Name: "Data", Type: "string", Description: "Number of keys in the ConfigMap (data and binaryData)."},
			printers.AgeColumn,
		},
		Row: func(obj runtime.Object) ([]interface{}, error) {
			cm := obj.(*corev1.ConfigMap)
			return []interface{}{cm.Name, int64(len(cm.Data) + len(cm.BinaryData)), printers.Age(cm.CreationTimestamp)}, nil
		},
	}
}
