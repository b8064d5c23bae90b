package webhookconfig

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/kemudi/kemudi/internal/registry"
	"github.com/kemudi/kemudi/internal/registry/printers"
)

// Table prints NAME WEBHOOKS AGE, as upstream does for both kinds; count
// returns an object's webhooks and its creation time.
func Table(count func(obj runtime.Object) (int, metav1.Time)) *registry.Table {
	return &registry.Table{
		Columns: []metav1.TableColumnDefinition{
			printers.NameColumn,
			{Name: "Webhooks", Type: "integer", Description: "Webhooks indicates the number of webhooks registered in this configuration"},
			printers.AgeColumn,
		},
		Row: func(obj runtime.Object) ([]interface{}, error) {
			m := obj.(metav1.Object)
			n, created := count(obj)
			return []interface{}{m.GetName(), int64(n), printers.Age(created)}, nil
		},
	}
}
