// Package cronjob serves batch/v1 cron jobs.
package cronjob

import (
	"context"

	batchv1 "k8s.io/api/batch/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/kemudi/kemudi/internal/registry"
	"github.com/kemudi/kemudi/internal/registry/batch/job"
)

// Resource returns the cronjobs resource.
func Resource() *registry.Resource {
	return &registry.Resource{
		GroupVersion:     schema.GroupVersion{Group: "batch", Version: "v1"},
		Resource:         "cronjobs",
		Kind:             "CronJob",
		SingularName:     "cronjob",
		ShortNames:       []string{"cj"},
		Categories:       []string{"all"},
		Namespaced:       true,
		New:              func() runtime.Object { return &batchv1.CronJob{} },
		NewList:          func() runtime.Object { return &batchv1.CronJobList{} },
		HasStatus:        true,
		TracksGeneration: true,
		Hooks: registry.Hooks{
			Default: func(obj runtime.Object) { Default(obj.(*batchv1.CronJob)) },
			PrepareForCreate: func(_ context.Context, obj runtime.Object) {
				job.DropDisabledFields(&obj.(*batchv1.CronJob).Spec.JobTemplate.Spec, nil)
			},
			PrepareForUpdate: func(_ context.Context, obj, old runtime.Object) {
				job.DropDisabledFields(&obj.(*batchv1.CronJob).Spec.JobTemplate.Spec, &old.(*batchv1.CronJob).Spec.JobTemplate.Spec)
			},
			Validate: func(_ context.Context, obj runtime.Object) field.ErrorList {
				return Validate(obj.(*batchv1.CronJob))
			},
			ValidateUpdate: func(_ context.Context, obj, old runtime.Object) field.ErrorList {
				return ValidateUpdate(obj.(*batchv1.CronJob), old.(*batchv1.CronJob))
			},
			Warnings: func(_ context.Context, obj, old runtime.Object) []string {
				o, _ := old.(*batchv1.CronJob) // nil on create
				return warnings(obj.(*batchv1.CronJob), o)
			},
		},
		StatusHooks: registry.StatusHooks{Meta: registry.StatusMetaRequest},
		Table:       table(),
	}
}
