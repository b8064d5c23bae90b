package apf

import (
	"fmt"

	flowcontrolv1 "k8s.io/api/flowcontrol/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kemudi/kemudi/internal/registry/flowcontrol/flowschema"
)

// Dangling returns the Dangling condition a schema should carry, given
// whether its priority level exists, and whether the schema's differs
// from it (then the server writes it). now stamps a transition.
func Dangling(fs *flowcontrolv1.FlowSchema, levelExists bool, now metav1.Time) (want flowcontrolv1.FlowSchemaCondition, changed bool) {
	pl := fs.Spec.PriorityLevelConfiguration.Name
	want = flowcontrolv1.FlowSchemaCondition{
		Type:    flowcontrolv1.FlowSchemaConditionDangling,
		Status:  flowcontrolv1.ConditionFalse,
		Reason:  "Found",
		Message: fmt.Sprintf("This FlowSchema references the PriorityLevelConfiguration object named %q and it exists", pl),
	}
	if !levelExists {
		want.Status, want.Reason = flowcontrolv1.ConditionTrue, "NotFound"
		want.Message = fmt.Sprintf("This FlowSchema references the PriorityLevelConfiguration object named %q but there is no such object", pl)
	}
	have := flowschema.Condition(fs, flowcontrolv1.FlowSchemaConditionDangling)
	if have != nil && have.Status == want.Status && have.Reason == want.Reason && have.Message == want.Message {
		return *have, false
	}
	want.LastTransitionTime = now
	return want, true
}

// SetCondition puts c into the schema's conditions, replacing the one of
// its type.
func SetCondition(fs *flowcontrolv1.FlowSchema, c flowcontrolv1.FlowSchemaCondition) {
	if have := flowschema.Condition(fs, c.Type); have != nil {
		*have = c
		return
	}
	fs.Status.Conditions = append(fs.Status.Conditions, c)
}
