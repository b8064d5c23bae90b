package validatingadmissionpolicybinding

import (
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/kemudi/kemudi/internal/registry"
	"github.com/kemudi/kemudi/internal/registry/printers"
)

// table prints NAME POLICYNAME PARAMREF AGE, as upstream's printer.
func table() *registry.Table {
	return &registry.Table{
		Columns: []metav1.TableColumnDefinition{
			printers.NameColumn,
			{Name: "PolicyName", Type: "string", Description: "PolicyName indicates the policy definition which the policy binding binded to"},
			{Name: "ParamRef", Type: "string", Description: "ParamRef indicates the param resource which sets the configuration param"},
			printers.AgeColumn,
		},
		Row: func(obj runtime.Object) ([]interface{}, error) {
			b := obj.(*admissionregistrationv1.ValidatingAdmissionPolicyBinding)
			return []interface{}{b.Name, b.Spec.PolicyName, paramRefCell(b.Spec.ParamRef), printers.Age(b.CreationTimestamp)}, nil
		},
	}
}

// paramRefCell is "<unset>", "namespace/name", "*/name" (the printer
// cannot tell whether the param is cluster-scoped) or the selector.
func paramRefCell(pr *admissionregistrationv1.ParamRef) string {
	switch {
	case pr == nil:
		return "<unset>"
	case pr.Name != "" && pr.Namespace != "":
		return pr.Namespace + "/" + pr.Name
	case pr.Name != "":
		return "*/" + pr.Name
	case pr.Selector != nil:
		// Upstream prints the selector's Go form.
		return pr.Selector.String()
	}
	return "<unset>"
}
