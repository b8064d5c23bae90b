package mutatingadmissionpolicy

import (
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/kemudi/kemudi/internal/registry"
	"github.com/kemudi/kemudi/internal/registry/printers"
)

// table prints NAME MUTATIONS PARAMKIND AGE, as upstream's printer.
func table() *registry.Table {
	return &registry.Table{
		Columns: []metav1.TableColumnDefinition{
			printers.NameColumn,
			{Name: "Mutations", Type: "integer", Description: "Mutation indicates the number of mutations rules defined in this configuration"},
			{Name: "ParamKind", Type: "string", Description: "ParamKind specifies the kind of resources used to parameterize this policy"},
			printers.AgeColumn,
		},
		Row: func(obj runtime.Object) ([]interface{}, error) {
			p := obj.(*admissionregistrationv1.MutatingAdmissionPolicy)
			paramKind := "<unset>"
			if k := p.Spec.ParamKind; k != nil {
				paramKind = k.APIVersion + "/" + k.Kind
			}
			return []interface{}{p.Name, int64(len(p.Spec.Mutations)), paramKind, printers.Age(p.CreationTimestamp)}, nil
		},
	}
}
