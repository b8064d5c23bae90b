package persistentvolumeclaim

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/kemudi/kemudi/internal/registry"
	"github.com/kemudi/kemudi/internal/registry/printers"
)

// table prints upstream's columns: NAME STATUS VOLUME CAPACITY ACCESS
// MODES STORAGECLASS VOLUMEATTRIBUTESCLASS AGE, and VOLUMEMODE with -o
// wide. Capacity and access modes come from status, and only once the
// claim names a volume.
func table() *registry.Table {
	spec, status := corev1.PersistentVolumeClaimSpec{}.SwaggerDoc(), corev1.PersistentVolumeClaimStatus{}.SwaggerDoc()
	return &registry.Table{
		Columns: []metav1.TableColumnDefinition{
			printers.NameColumn,
			{Name: "Status", Type: "string", Description: status["phase"]},
			{Name: "Volume", Type: "string", Description: spec["volumeName"]},
			{Name: "Capacity", Type: "string", Description: status["capacity"]},
			{Name: "Access Modes", Type: "string", Description: status["accessModes"]},
			{Name: "StorageClass", Type: "string", Description: "StorageClass of the pvc"},
			{Name: "VolumeAttributesClass", Type: "string", Description: "VolumeAttributesClass of the pvc"},
			printers.AgeColumn,
			{Name: "VolumeMode", Type: "string", Priority: 1, Description: spec["volumeMode"]},
		},
		Row: func(obj runtime.Object) ([]interface{}, error) {
			pvc := obj.(*corev1.PersistentVolumeClaim)
			phase := string(pvc.Status.Phase)
			if pvc.DeletionTimestamp != nil {
				phase = "Terminating"
			}
			capacity, modes := "", ""
			if pvc.Spec.VolumeName != "" {
				q := pvc.Status.Capacity[corev1.ResourceStorage]
				capacity, modes = q.String(), printers.AccessModes(pvc.Status.AccessModes)
			}
			class := ""
			if pvc.Spec.StorageClassName != nil {
				class = *pvc.Spec.StorageClassName
			}
			if c, ok := pvc.Annotations[corev1.BetaStorageClassAnnotation]; ok {
				class = c
			}
			return []interface{}{
				pvc.Name, phase, pvc.Spec.VolumeName, capacity, modes, class,
				unsetOr(pvc.Spec.VolumeAttributesClassName), printers.Age(pvc.CreationTimestamp), unsetOr((*string)(pvc.Spec.VolumeMode)),
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
