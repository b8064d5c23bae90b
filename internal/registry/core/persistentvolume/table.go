package persistentvolume

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/kemudi/kemudi/internal/registry"
	"github.com/kemudi/kemudi/internal/registry/printers"
)

// table prints upstream's columns: NAME CAPACITY ACCESS MODES RECLAIM
// POLICY STATUS CLAIM STORAGECLASS VOLUMEATTRIBUTESCLASS REASON AGE, and
// VOLUMEMODE with -o wide.
func table() *registry.Table {
	spec, status := corev1.PersistentVolumeSpec{}.SwaggerDoc(), corev1.PersistentVolumeStatus{}.SwaggerDoc()
	return &registry.Table{
		Columns: []metav1.TableColumnDefinition{
			printers.NameColumn,
			{Name: "Capacity", Type: "string", Description: spec["capacity"]},
			{Name: "Access Modes", Type: "string", Description: spec["accessModes"]},
			{Name: "Reclaim Policy", Type: "string", Description: spec["persistentVolumeReclaimPolicy"]},
			{Name: "Status", Type: "string", Description: status["phase"]},
			{Name: "Claim", Type: "string", Description: spec["claimRef"]},
			{Name: "StorageClass", Type: "string", Description: "StorageClass of the pv"},
			{Name: "VolumeAttributesClass", Type: "string", Description: "VolumeAttributesClass of the pv"},
			{Name: "Reason", Type: "string", Description: status["reason"]},
			printers.AgeColumn,
			{Name: "VolumeMode", Type: "string", Priority: 1, Description: spec["volumeMode"]},
		},
		Row: func(obj runtime.Object) ([]interface{}, error) {
			pv := obj.(*corev1.PersistentVolume)
			claim := ""
			if ref := pv.Spec.ClaimRef; ref != nil {
				claim = ref.Namespace + "/" + ref.Name
			}
			capacity := pv.Spec.Capacity[corev1.ResourceStorage]
			phase := string(pv.Status.Phase)
			if pv.DeletionTimestamp != nil {
				phase = "Terminating"
			}
			class := pv.Spec.StorageClassName
			if c, ok := pv.Annotations[corev1.BetaStorageClassAnnotation]; ok {
				class = c
			}
			return []interface{}{
				pv.Name, capacity.String(), printers.AccessModes(pv.Spec.AccessModes), string(pv.Spec.PersistentVolumeReclaimPolicy),
				phase, claim, class, unsetOr(pv.Spec.VolumeAttributesClassName), pv.Status.Reason,
				printers.Age(pv.CreationTimestamp), unsetOr((*string)(pv.Spec.VolumeMode)),
			}, nil
		},
	}
}

// unsetOr prints an optional string, "<unset>" when nil.
func unsetOr(s *string) string {
	if s == nil {
		return "<unset>"
	}
	return *s
}
