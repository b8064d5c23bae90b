package namespace

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/fields"
)

// selectableFields adds status.phase and, as upstream keeps for old
// clients, a bare "name".
func selectableFields(ns *corev1.Namespace) fields.Set {
	return fields.Set{
		"status.phase": string(ns.Status.Phase),
		"name":         ns.Name,
	}
}
