package poddisruptionbudget

import (
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/kemudi/kemudi/internal/registry"
	"github.com/kemudi/kemudi/internal/registry/printers"
)

// table prints NAME MIN AVAILABLE MAX UNAVAILABLE ALLOWED DISRUPTIONS AGE,
// as upstream does ("N/A" for the bound not set).
func table() *registry.Table {
	return &registry.Table{
		Columns: []metav1.TableColumnDefinition{
			printers.NameColumn,
			{Name: "Min Available", Type: "string", Description: "The minimum number of pods that must be available."},
			{Name: "Max Unavailable", Type: "string", Description: "The maximum number of pods that may be unavailable."},
			{Name: "Allowed Disruptions", Type: "integer", Description: "Calculated number of pods that may be disrupted at this time."},
			printers.AgeColumn,
		},
		Row: func(obj runtime.Object) ([]interface{}, error) {
			pdb := obj.(*policyv1.PodDisruptionBudget)
			return []interface{}{
				pdb.Name, bound(pdb.Spec.MinAvailable), bound(pdb.Spec.MaxUnavailable),
				int64(pdb.Status.DisruptionsAllowed), printers.Age(pdb.CreationTimestamp),
			}, nil
		},
	}
}

func bound(v *intstr.IntOrString) string {
	if v == nil {
		return "N/A"
	}
	return v.String()
}
