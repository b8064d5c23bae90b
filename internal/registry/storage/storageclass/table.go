package storageclass

import (
	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/kemudi/kemudi/internal/registry"
	"github.com/kemudi/kemudi/internal/registry/printers"
)

// Annotations that mark the cluster's default class (the beta one is
// still honoured).
const (
	IsDefaultAnnotation     = "storageclass.kubernetes.io/is-default-class"
	BetaIsDefaultAnnotation = "storageclass.beta.kubernetes.io/is-default-class"
)

// IsDefault reports whether sc is marked as a default class.
func IsDefault(sc *storagev1.StorageClass) bool {
	return sc.Annotations[IsDefaultAnnotation] == "true" || sc.Annotations[BetaIsDefaultAnnotation] == "true"
}

// EffectiveDefault returns the name of the class that acts as the
// default among items: the newest of those marked default, the first
// name on a tie; "" if none is marked.
func EffectiveDefault(items []storagev1.StorageClass) string {
	var best *storagev1.StorageClass
	for i := range items {
		sc := &items[i]
		if !IsDefault(sc) {
			continue
		}
		if best == nil || sc.CreationTimestamp.After(best.CreationTimestamp.Time) ||
			(sc.CreationTimestamp.Equal(&best.CreationTimestamp) && sc.Name < best.Name) {
			best = sc
		}
	}
	if best == nil {
		return ""
	}
	return best.Name
}

// table prints NAME PROVISIONER RECLAIMPOLICY VOLUMEBINDINGMODE
// ALLOWVOLUMEEXPANSION AGE. In a list, the effective default class (the
// newest of those marked default, EffectiveDefault) has "(default)" after
// its name; a single class is printed without it, as upstream's printers
// do (kubectl get storageclass NAME shows no "(default)").
func table() *registry.Table {
	doc := storagev1.StorageClass{}.SwaggerDoc()
	return &registry.Table{
		Columns: []metav1.TableColumnDefinition{
			printers.NameColumn,
			{Name: "Provisioner", Type: "string", Description: doc["provisioner"]},
			{Name: "ReclaimPolicy", Type: "string", Description: doc["reclaimPolicy"]},
			{Name: "VolumeBindingMode", Type: "string", Description: doc["volumeBindingMode"]},
			{Name: "AllowVolumeExpansion", Type: "string", Description: doc["allowVolumeExpansion"]},
			printers.AgeColumn,
		},
		Row: func(obj runtime.Object) ([]interface{}, error) {
			return row(obj.(*storagev1.StorageClass), "")
		},
		ListRow: func(obj runtime.Object, items []runtime.Object) ([]interface{}, error) {
			classes := make([]storagev1.StorageClass, 0, len(items))
			for _, it := range items {
				classes = append(classes, *it.(*storagev1.StorageClass))
			}
			return row(obj.(*storagev1.StorageClass), EffectiveDefault(classes))
		},
	}
}

// row prints one class; effectiveDefault names the list's default class.
func row(sc *storagev1.StorageClass, effectiveDefault string) ([]interface{}, error) {
	name := sc.Name
	if effectiveDefault != "" && sc.Name == effectiveDefault {
		name += " (default)"
	}
	reclaim := string(corev1.PersistentVolumeReclaimDelete)
	if sc.ReclaimPolicy != nil {
		reclaim = string(*sc.ReclaimPolicy)
	}
	binding := string(storagev1.VolumeBindingImmediate)
	if sc.VolumeBindingMode != nil {
		binding = string(*sc.VolumeBindingMode)
	}
	expansion := sc.AllowVolumeExpansion != nil && *sc.AllowVolumeExpansion
	return []interface{}{name, sc.Provisioner, reclaim, binding, expansion, printers.Age(sc.CreationTimestamp)}, nil
}
