// Package daemonset serves apps/v1 daemon sets.
package daemonset

import (
	"context"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/kemudi/kemudi/internal/registry"
	"github.com/kemudi/kemudi/internal/registry/apps/workload"
)

// Resource returns the daemonsets resource.
func Resource() *registry.Resource {
	return &registry.Resource{
		GroupVersion:     schema.GroupVersion{Group: "apps", Version: "v1"},
		Resource:         "daemonsets",
		Kind:             "DaemonSet",
		SingularName:     "daemonset",
		ShortNames:       []string{"ds"},
		Categories:       []string{"all"},
		Namespaced:       true,
		New:              func() runtime.Object { return &appsv1.DaemonSet{} },
		NewList:          func() runtime.Object { return &appsv1.DaemonSetList{} },
		HasStatus:        true,
		TracksGeneration: true,
		Hooks: registry.Hooks{
			Default: func(obj runtime.Object) { Default(obj.(*appsv1.DaemonSet)) },
			PrepareForCreate: func(_ context.Context, obj runtime.Object) {
				prepareForCreate(obj.(*appsv1.DaemonSet))
			},
			PrepareForUpdate: func(_ context.Context, obj, old runtime.Object) {
				prepareForUpdate(obj.(*appsv1.DaemonSet), old.(*appsv1.DaemonSet))
			},
			Validate: func(_ context.Context, obj runtime.Object) field.ErrorList {
				return Validate(obj.(*appsv1.DaemonSet))
			},
			ValidateUpdate: func(_ context.Context, obj, old runtime.Object) field.ErrorList {
				return ValidateUpdate(obj.(*appsv1.DaemonSet), old.(*appsv1.DaemonSet))
			},
			Warnings: func(_ context.Context, obj, old runtime.Object) []string {
				var oldTemplate *corev1.PodTemplateSpec
				if o, _ := old.(*appsv1.DaemonSet); o != nil {
					oldTemplate = &o.Spec.Template
				}
				return workload.TemplateWarnings(&obj.(*appsv1.DaemonSet).Spec.Template, oldTemplate, field.NewPath("spec", "template"))
			},
		},
		StatusHooks: registry.StatusHooks{
			Meta: registry.StatusMetaRequest,
			ValidateUpdate: func(_ context.Context, obj, old runtime.Object) field.ErrorList {
				return ValidateStatusUpdate(obj.(*appsv1.DaemonSet), old.(*appsv1.DaemonSet))
			},
		},
		Table: table(),
	}
}
