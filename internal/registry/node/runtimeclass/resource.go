// Package runtimeclass serves node.k8s.io/v1 runtime classes: a named
// container runtime configuration (the CRI handler), with the overhead
// its pods carry and the nodes they may run on.
package runtimeclass

import (
	"context"

	nodev1 "k8s.io/api/node/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/kemudi/kemudi/internal/registry"
)

// Resource returns the runtimeclasses resource.
func Resource() *registry.Resource {
	return &registry.Resource{
		GroupVersion: nodev1.SchemeGroupVersion,
		Resource:     "runtimeclasses",
		Kind:         "RuntimeClass",
		SingularName: "runtimeclass",
		New:          func() runtime.Object { return &nodev1.RuntimeClass{} },
		NewList:      func() runtime.Object { return &nodev1.RuntimeClassList{} },
		Hooks: registry.Hooks{
			Validate: func(_ context.Context, obj runtime.Object) field.ErrorList {
				return Validate(obj.(*nodev1.RuntimeClass))
			},
			ValidateUpdate: func(_ context.Context, obj, old runtime.Object) field.ErrorList {
				return ValidateUpdate(obj.(*nodev1.RuntimeClass), old.(*nodev1.RuntimeClass))
			},
		},
		Table: table(),
	}
}
