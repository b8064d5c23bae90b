// Package csinode serves storage.k8s.io/v1 CSI nodes: the CSI drivers a
// node's kubelet has registered, with their node IDs and topology keys.
package csinode

import (
	"context"

	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/kemudi/kemudi/internal/registry"
	"github.com/kemudi/kemudi/internal/registry/printers"
)

// Resource returns the csinodes resource.
func Resource() *registry.Resource {
	return &registry.Resource{
		GroupVersion: storagev1.SchemeGroupVersion,
		Resource:     "csinodes",
		Kind:         "CSINode",
		SingularName: "csinode",
		New:          func() runtime.Object { return &storagev1.CSINode{} },
		NewList:      func() runtime.Object { return &storagev1.CSINodeList{} },
		Hooks: registry.Hooks{
			Validate: func(_ context.Context, obj runtime.Object) field.ErrorList {
				return Validate(obj.(*storagev1.CSINode))
			},
			ValidateUpdate: func(_ context.Context, obj, old runtime.Object) field.ErrorList {
				return ValidateUpdate(obj.(*storagev1.CSINode), old.(*storagev1.CSINode))
			},
		},
		Table: &registry.Table{
			// NAME DRIVERS AGE, as upstream prints.
			Columns: []metav1.TableColumnDefinition{
				printers.NameColumn,
				{Name: "Drivers", Type: "integer", Description: "Drivers indicates the number of CSI drivers registered on the node"},
				printers.AgeColumn,
			},
			Row: func(obj runtime.Object) ([]interface{}, error) {
				n := obj.(*storagev1.CSINode)
				return []interface{}{n.Name, int64(len(n.Spec.Drivers)), printers.Age(n.CreationTimestamp)}, nil
			},
		},
	}
}
