// Package controllerrevision serves apps/v1 controller revisions, the
// immutable snapshots of workload state that stateful sets and daemon sets
// keep to roll forward and back.
package controllerrevision

import (
	"context"

	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/kemudi/kemudi/internal/registry"
)

// Resource returns the controllerrevisions resource.
func Resource() *registry.Resource {
	return &registry.Resource{
		GroupVersion: schema.GroupVersion{Group: "apps", Version: "v1"},
		Resource:     "controllerrevisions",
		Kind:         "ControllerRevision",
		SingularName: "controllerrevision",
		Namespaced:   true,
		New:          func() runtime.Object { return &appsv1.ControllerRevision{} },
		NewList:      func() runtime.Object { return &appsv1.ControllerRevisionList{} },
		Hooks: registry.Hooks{
			Validate: func(_ context.Context, obj runtime.Object) field.ErrorList {
				return Validate(obj.(*appsv1.ControllerRevision))
			},
			ValidateUpdate: func(_ context.Context, obj, old runtime.Object) field.ErrorList {
				return ValidateUpdate(obj.(*appsv1.ControllerRevision), old.(*appsv1.ControllerRevision))
			},
		},
		Table: table(),
	}
}
