package priorityclass

import (
	schedulingv1 "k8s.io/api/scheduling/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/kemudi/kemudi/internal/registry"
	"github.com/kemudi/kemudi/internal/registry/printers"
)

// table prints NAME VALUE GLOBAL-DEFAULT AGE PREEMPTIONPOLICY, as
// upstream does.
func table() *registry.Table {
	doc := schedulingv1.PriorityClass{}.SwaggerDoc()
	return &registry.Table{
		Columns: []metav1.TableColumnDefinition{
			printers.NameColumn,
			{Name: "Value", Type: "integer", Description: doc["value"]},
			{Name: "Global-Default", Type: "boolean", Description: doc["globalDefault"]},
			printers.AgeColumn,
			{Name: "PreemptionPolicy", Type: "string", Description: doc["preemptionPolicy"]},
		},
		Row: func(obj runtime.Object) ([]interface{}, error) {
			pc := obj.(*schedulingv1.PriorityClass)
			policy := ""
			if pc.PreemptionPolicy != nil {
				policy = string(*pc.PreemptionPolicy)
			}
			return []interface{}{pc.Name, int64(pc.Value), pc.GlobalDefault, printers.Age(pc.CreationTimestamp), policy}, nil
		},
	}
}
