package runtimeclass

import (
	nodev1 "k8s.io/api/node/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/kemudi/kemudi/internal/registry"
	"github.com/kemudi/kemudi/internal/registry/printers"
)

// table prints NAME HANDLER AGE, as upstream does.
func table() *registry.Table {
	doc := nodev1.RuntimeClass{}.SwaggerDoc()
	return &registry.Table{
		Columns: []metav1.TableColumnDefinition{
			printers.NameColumn,
			{Name: "Handler", Type: "string", Description: doc["handler"]},
			printers.AgeColumn,
		},
		Row: func(obj runtime.Object) ([]interface{}, error) {
			rc := obj.(*nodev1.RuntimeClass)
			return []interface{}{rc.Name, rc.Handler, printers.Age(rc.CreationTimestamp)}, nil
		},
	}
}
