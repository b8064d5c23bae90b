// Package storageclass serves storage.k8s.io/v1 storage classes: the
// kinds of storage a cluster offers and the provisioner behind each.
package storageclass

import (
	"context"

	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/kemudi/kemudi/internal/registry"
)

// Resource returns the storageclasses resource.
func Resource() *registry.Resource {
	return &registry.Resource{
		GroupVersion:        storagev1.SchemeGroupVersion,
		Resource:            "storageclasses",
		Kind:                "StorageClass",
		ReturnDeletedObject: true,
		SingularName:        "storageclass",
		ShortNames:          []string{"sc"},
		New:                 func() runtime.Object { return &storagev1.StorageClass{} },
		NewList:             func() runtime.Object { return &storagev1.StorageClassList{} },
		Hooks: registry.Hooks{
			Default: func(obj runtime.Object) {
				Default(obj.(*storagev1.StorageClass))
			},
			Validate: func(_ context.Context, obj runtime.Object) field.ErrorList {
				return Validate(obj.(*storagev1.StorageClass))
			},
			ValidateUpdate: func(_ context.Context, obj, old runtime.Object) field.ErrorList {
				return ValidateUpdate(obj.(*storagev1.StorageClass), old.(*storagev1.StorageClass))
			},
			Warnings: func(_ context.Context, obj, _ runtime.Object) []string {
				return Warnings(obj.(*storagev1.StorageClass))
			},
		},
		Table: table(),
	}
}
