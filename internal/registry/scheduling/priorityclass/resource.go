// Package priorityclass serves scheduling.k8s.io/v1 priority classes:
// named pod priorities, and whether pods of a class may preempt others.
package priorityclass

import (
	"context"
	"errors"

	schedulingv1 "k8s.io/api/scheduling/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/kemudi/kemudi/internal/registry"
)

// Resource returns the priorityclasses resource.
//
// Beyond these hooks the server must refuse to delete the system classes
// (see IsSystemClass), and refuse a second class with globalDefault set
// (upstream's Priority admission plugin: "PriorityClass %s is already
// marked as default. Only one default can exist").
func Resource() *registry.Resource {
	return &registry.Resource{
		GroupVersion: schedulingv1.SchemeGroupVersion,
		Resource:     "priorityclasses",
		Kind:         "PriorityClass",
		Deletion: &registry.Deletion{Check: func(obj runtime.Object) error {
			pc := obj.(*schedulingv1.PriorityClass)
			if IsSystemClass(pc.Name) {
				return apierrors.NewForbidden(schema.GroupResource{Group: "scheduling.k8s.io", Resource: "priorityclasses"}, pc.Name, errors.New("this is a system priority class and cannot be deleted"))
			}
			return nil
		}},
		SingularName: "priorityclass",
		ShortNames:   []string{"pc"},
		New:          func() runtime.Object { return &schedulingv1.PriorityClass{} },
		NewList:      func() runtime.Object { return &schedulingv1.PriorityClassList{} },
		Hooks: registry.Hooks{
			Default: func(obj runtime.Object) {
				Default(obj.(*schedulingv1.PriorityClass))
			},
			// Upstream starts generation at 1 but never bumps it: the
			// fields that matter are immutable.
			PrepareForCreate: func(_ context.Context, obj runtime.Object) {
				obj.(*schedulingv1.PriorityClass).Generation = 1
			},
			Validate: func(_ context.Context, obj runtime.Object) field.ErrorList {
				return Validate(obj.(*schedulingv1.PriorityClass))
			},
			ValidateUpdate: func(_ context.Context, obj, old runtime.Object) field.ErrorList {
				return ValidateUpdate(obj.(*schedulingv1.PriorityClass), old.(*schedulingv1.PriorityClass))
			},
		},
		Table: table(),
	}
}
