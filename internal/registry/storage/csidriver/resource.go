// Package csidriver serves storage.k8s.io/v1 CSI drivers: how the cluster
// treats a driver's volumes (whether they are attached, what the kubelet
// passes on mount).
package csidriver

import (
	"context"

	storagev1 "k8s.io/api/storage/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/kemudi/kemudi/internal/registry"
)

// Resource returns the csidrivers resource.
func Resource() *registry.Resource {
	return &registry.Resource{
		GroupVersion: storagev1.SchemeGroupVersion,
		Resource:     "csidrivers",
		Kind:         "CSIDriver",
		SingularName: "csidriver",
		New:          func() runtime.Object { return &storagev1.CSIDriver{} },
		NewList:      func() runtime.Object { return &storagev1.CSIDriverList{} },
		Hooks: registry.Hooks{
			Default: func(obj runtime.Object) {
				Default(obj.(*storagev1.CSIDriver))
			},
			// Upstream starts a driver's generation at 0 and bumps it on
			// every spec change (not TracksGeneration's 1).
			PrepareForUpdate: func(_ context.Context, obj, old runtime.Object) {
				d, o := obj.(*storagev1.CSIDriver), old.(*storagev1.CSIDriver)
				if !apiequality.Semantic.DeepEqual(d.Spec, o.Spec) {
					d.Generation = o.Generation + 1
				}
			},
			Validate: func(_ context.Context, obj runtime.Object) field.ErrorList {
				return Validate(obj.(*storagev1.CSIDriver))
			},
			ValidateUpdate: func(_ context.Context, obj, old runtime.Object) field.ErrorList {
				return ValidateUpdate(obj.(*storagev1.CSIDriver), old.(*storagev1.CSIDriver))
			},
			Warnings: func(_ context.Context, obj, old runtime.Object) []string {
				var o *storagev1.CSIDriver
				if old != nil {
					o = old.(*storagev1.CSIDriver)
				}
				return Warnings(obj.(*storagev1.CSIDriver), o)
			},
		},
		Table: table(),
	}
}

// AttachRequired reports whether a driver's volumes must be attached
// before use: true unless the driver says otherwise, as upstream's
// default.
func AttachRequired(d *storagev1.CSIDriver) bool {
	return d.Spec.AttachRequired == nil || *d.Spec.AttachRequired
}
