package flowschema

import (
	flowcontrolv1 "k8s.io/api/flowcontrol/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/kemudi/kemudi/internal/registry"
	"github.com/kemudi/kemudi/internal/registry/printers"
)

// table prints NAME PRIORITYLEVEL MATCHINGPRECEDENCE DISTINGUISHERMETHOD
// AGE MISSINGPL, as upstream; a list in matching order.
func table() *registry.Table {
	spec := flowcontrolv1.FlowSchemaSpec{}.SwaggerDoc()
	return &registry.Table{
		Columns: []metav1.TableColumnDefinition{
			printers.NameColumn,
			{Name: "PriorityLevel", Type: "string", Description: flowcontrolv1.PriorityLevelConfigurationReference{}.SwaggerDoc()["name"]},
			{Name: "MatchingPrecedence", Type: "string", Description: spec["matchingPrecedence"]},
			{Name: "DistinguisherMethod", Type: "string", Description: spec["distinguisherMethod"]},
			printers.AgeColumn,
			{Name: "MissingPL", Type: "string", Description: "references a broken or non-existent PriorityLevelConfiguration"},
		},
		Row: func(obj runtime.Object) ([]interface{}, error) {
			return row(obj.(*flowcontrolv1.FlowSchema)), nil
		},
		Less: func(a, b runtime.Object) bool {
			return Less(a.(*flowcontrolv1.FlowSchema), b.(*flowcontrolv1.FlowSchema))
		},
	}
}

func row(fs *flowcontrolv1.FlowSchema) []interface{} {
	method := "<none>"
	if fs.Spec.DistinguisherMethod != nil {
		method = string(fs.Spec.DistinguisherMethod.Type)
	}
	// "?" until the server has said whether the level exists.
	missing := "?"
	if c := Condition(fs, flowcontrolv1.FlowSchemaConditionDangling); c != nil {
		missing = string(c.Status)
	}
	return []interface{}{
		fs.Name, fs.Spec.PriorityLevelConfiguration.Name, int64(fs.Spec.MatchingPrecedence),
		method, printers.Age(fs.CreationTimestamp), missing,
	}
}

// Less orders schemas as requests are matched against them: lower
// matchingPrecedence first, then by name.
func Less(a, b *flowcontrolv1.FlowSchema) bool {
	if a.Spec.MatchingPrecedence != b.Spec.MatchingPrecedence {
		return a.Spec.MatchingPrecedence < b.Spec.MatchingPrecedence
	}
	return a.Name < b.Name
}

// Condition returns the schema's condition of that type, or nil.
func Condition(fs *flowcontrolv1.FlowSchema, t flowcontrolv1.FlowSchemaConditionType) *flowcontrolv1.FlowSchemaCondition {
	for i := range fs.Status.Conditions {
		if fs.Status.Conditions[i].Type == t {
			return &fs.Status.Conditions[i]
		}
	}
	return nil
}
