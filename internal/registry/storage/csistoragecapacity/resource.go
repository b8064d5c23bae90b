// Package csistoragecapacity serves storage.k8s.io/v1 CSI storage
// capacities: what a storage driver can still provision for one class
// in one part of the cluster (the nodes its topology selects), which the
// scheduler reads to place pods whose claims wait for their first
// consumer.
package csistoragecapacity

import (
	"context"

	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/kemudi/kemudi/internal/registry"
	"github.com/kemudi/kemudi/internal/registry/printers"
)

// Resource returns the csistoragecapacities resource.
func Resource() *registry.Resource {
	return &registry.Resource{
		GroupVersion: storagev1.SchemeGroupVersion,
		Resource:     "csistoragecapacities",
		Kind:         "CSIStorageCapacity",
		SingularName: "csistoragecapacity",
		Namespaced:   true,
		New:          func() runtime.Object { return &storagev1.CSIStorageCapacity{} },
		NewList:      func() runtime.Object { return &storagev1.CSIStorageCapacityList{} },
		// Upstream's AllowUnconditionalUpdate is false: publishers
		// update what they read.
		RequireResourceVersion: true,
		Hooks: registry.Hooks{
			Validate: func(_ context.Context, obj runtime.Object) field.ErrorList {
				return Validate(obj.(*storagev1.CSIStorageCapacity), false)
			},
			ValidateUpdate: func(_ context.Context, obj, old runtime.Object) field.ErrorList {
				return ValidateUpdate(obj.(*storagev1.CSIStorageCapacity), old.(*storagev1.CSIStorageCapacity))
			},
			Warnings: func(_ context.Context, obj, _ runtime.Object) []string {
				return Warnings(obj.(*storagev1.CSIStorageCapacity))
			},
		},
		Table: &registry.Table{
			// NAME CREATED AT: upstream's storage serves the default
			// table, not the printer it has for this kind.
			Columns: []metav1.TableColumnDefinition{printers.NameColumn, printers.CreatedAtColumn},
			Row: func(obj runtime.Object) ([]interface{}, error) {
				c := obj.(*storagev1.CSIStorageCapacity)
				return []interface{}{c.Name, printers.CreatedAt(c.CreationTimestamp)}, nil
			},
		},
	}
}
