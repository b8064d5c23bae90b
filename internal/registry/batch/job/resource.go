// Package job serves batch/v1 jobs.
package job

import (
	"context"

	batchv1 "k8s.io/api/batch/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/kemudi/kemudi/internal/registry"
)

// Resource returns the jobs resource.
func Resource() *registry.Resource {
	return &registry.Resource{
		GroupVersion:     schema.GroupVersion{Group: "batch", Version: "v1"},
		Resource:         "jobs",
		Kind:             "Job",
		OrphanByDefault:  true,
		SingularName:     "job",
		Categories:       []string{"all"},
		Namespaced:       true,
		New:              func() runtime.Object { return &batchv1.Job{} },
		NewList:          func() runtime.Object { return &batchv1.JobList{} },
		HasStatus:        true,
		TracksGeneration: true,
		Hooks: registry.Hooks{
			Default: func(obj runtime.Object) { Default(obj.(*batchv1.Job)) },
			PrepareForCreate: func(_ context.Context, obj runtime.Object) {
				PrepareForCreate(obj.(*batchv1.Job))
			},
			PrepareForUpdate: func(_ context.Context, obj, old runtime.Object) {
				DropDisabledFields(&obj.(*batchv1.Job).Spec, &old.(*batchv1.Job).Spec)
			},
			Validate: func(_ context.Context, obj runtime.Object) field.ErrorList {
				return Validate(obj.(*batchv1.Job))
			},
			ValidateUpdate: func(_ context.Context, obj, old runtime.Object) field.ErrorList {
				return ValidateUpdate(obj.(*batchv1.Job), old.(*batchv1.Job))
			},
			Warnings: func(_ context.Context, obj, old runtime.Object) []string {
				o, _ := old.(*batchv1.Job) // nil on create
				return warnings(obj.(*batchv1.Job), o)
			},
		},
		StatusHooks: registry.StatusHooks{
			Meta: registry.StatusMetaRequest,
			ValidateUpdate: func(_ context.Context, obj, old runtime.Object) field.ErrorList {
				return ValidateStatusUpdate(obj.(*batchv1.Job), old.(*batchv1.Job))
			},
		},
		Table:            table(),
		SelectableFields: selectableFields,
	}
}
