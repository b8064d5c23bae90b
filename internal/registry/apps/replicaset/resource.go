// Package replicaset serves apps/v1 replica sets.
package replicaset

import (
	"context"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/kemudi/kemudi/internal/registry"
	"github.com/kemudi/kemudi/internal/registry/apps/workload"
	"github.com/kemudi/kemudi/internal/registry/core/podspec"
)

// Resource returns the replicasets resource.
func Resource() *registry.Resource {
	return &registry.Resource{
		GroupVersion:     schema.GroupVersion{Group: "apps", Version: "v1"},
		Resource:         "replicasets",
		Kind:             "ReplicaSet",
		SingularName:     "replicaset",
		ShortNames:       []string{"rs"},
		Categories:       []string{"all"},
		Namespaced:       true,
		New:              func() runtime.Object { return &appsv1.ReplicaSet{} },
		NewList:          func() runtime.Object { return &appsv1.ReplicaSetList{} },
		HasStatus:        true,
		TracksGeneration: true,
		Hooks: registry.Hooks{
			Default: func(obj runtime.Object) { Default(obj.(*appsv1.ReplicaSet)) },
			PrepareForCreate: func(_ context.Context, obj runtime.Object) {
				podspec.DropDisabledFields(&obj.(*appsv1.ReplicaSet).Spec.Template.Spec, nil)
			},
			PrepareForUpdate: func(_ context.Context, obj, old runtime.Object) {
				podspec.DropDisabledFields(&obj.(*appsv1.ReplicaSet).Spec.Template.Spec, &old.(*appsv1.ReplicaSet).Spec.Template.Spec)
			},
			Validate: func(_ context.Context, obj runtime.Object) field.ErrorList {
				return Validate(obj.(*appsv1.ReplicaSet))
			},
			ValidateUpdate: func(_ context.Context, obj, old runtime.Object) field.ErrorList {
				return ValidateUpdate(obj.(*appsv1.ReplicaSet), old.(*appsv1.ReplicaSet))
			},
			Warnings: func(_ context.Context, obj, old runtime.Object) []string {
				rs := obj.(*appsv1.ReplicaSet)
				var w []string
				var oldTemplate *corev1.PodTemplateSpec
				if o, _ := old.(*appsv1.ReplicaSet); o != nil {
					oldTemplate = &o.Spec.Template
				} else {
					w = workload.NameWarnings(rs.Name)
				}
				return append(w, workload.TemplateWarnings(&rs.Spec.Template, oldTemplate, field.NewPath("spec", "template"))...)
			},
		},
		StatusHooks: registry.StatusHooks{
			Meta: registry.StatusMetaRequest,
			ValidateUpdate: func(_ context.Context, obj, _ runtime.Object) field.ErrorList {
				return ValidateStatus(&obj.(*appsv1.ReplicaSet).Status, field.NewPath("status"))
			},
		},
		Table:            table(),
		SelectableFields: selectableFields,
		Scale: &registry.Scale{
			Get: func(obj runtime.Object) (int32, int32, string) {
				rs := obj.(*appsv1.ReplicaSet)
				return deref(rs.Spec.Replicas), rs.Status.Replicas, workload.SelectorString(rs.Spec.Selector)
			},
			Set: func(obj runtime.Object, replicas int32) {
				obj.(*appsv1.ReplicaSet).Spec.Replicas = &replicas
			},
		},
	}
}

func deref(p *int32) int32 {
	if p == nil {
		return 0
	}
	return *p
}
