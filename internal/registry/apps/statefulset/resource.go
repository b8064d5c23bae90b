// Package statefulset serves apps/v1 stateful sets.
package statefulset

import (
	"context"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/kemudi/kemudi/internal/registry"
	"github.com/kemudi/kemudi/internal/registry/apps/workload"
	"github.com/kemudi/kemudi/internal/registry/core/podspec"
)

// Resource returns the statefulsets resource.
func Resource() *registry.Resource {
	return &registry.Resource{
		GroupVersion: schema.GroupVersion{Group: "apps", Version: "v1"},
		Resource:     "statefulsets",
		Kind:         "StatefulSet",
		Decorate:     func(obj runtime.Object) { TypeClaimTemplates(obj.(*appsv1.StatefulSet)) },
		SingularName: "statefulset",
		ShortNames:   []string{"sts"},
		Categories:   []string{"all"},
		Namespaced:   true,
		New:          func() runtime.Object { return &appsv1.StatefulSet{} },
		NewList:      func() runtime.Object { return &appsv1.StatefulSetList{} },
		// Pods are named <set>-<ordinal> and use that as their hostname,
		// so the set's name must be a DNS label.
		NameValidation:   apimachineryvalidation.NameIsDNSLabel,
		HasStatus:        true,
		TracksGeneration: true,
		Hooks: registry.Hooks{
			Default: func(obj runtime.Object) { Default(obj.(*appsv1.StatefulSet)) },
			PrepareForCreate: func(_ context.Context, obj runtime.Object) {
				podspec.DropDisabledFields(&obj.(*appsv1.StatefulSet).Spec.Template.Spec, nil)
			},
			PrepareForUpdate: func(_ context.Context, obj, old runtime.Object) {
				podspec.DropDisabledFields(&obj.(*appsv1.StatefulSet).Spec.Template.Spec, &old.(*appsv1.StatefulSet).Spec.Template.Spec)
			},
			Validate: func(_ context.Context, obj runtime.Object) field.ErrorList {
				return Validate(obj.(*appsv1.StatefulSet))
			},
			ValidateUpdate: func(_ context.Context, obj, old runtime.Object) field.ErrorList {
				return ValidateUpdate(obj.(*appsv1.StatefulSet), old.(*appsv1.StatefulSet))
			},
			Warnings: func(_ context.Context, obj, old runtime.Object) []string {
				o, _ := old.(*appsv1.StatefulSet)
				return warnings(obj.(*appsv1.StatefulSet), o)
			},
		},
		StatusHooks: registry.StatusHooks{
			Meta: registry.StatusMetaRequest,
			ValidateUpdate: func(_ context.Context, obj, old runtime.Object) field.ErrorList {
				return ValidateStatusUpdate(obj.(*appsv1.StatefulSet), old.(*appsv1.StatefulSet))
			},
		},
		Table: table(),
		Scale: &registry.Scale{
			Get: func(obj runtime.Object) (int32, int32, string) {
				ss := obj.(*appsv1.StatefulSet)
				return deref(ss.Spec.Replicas), ss.Status.Replicas, workload.SelectorString(ss.Spec.Selector)
			},
			Set: func(obj runtime.Object, replicas int32) {
				obj.(*appsv1.StatefulSet).Spec.Replicas = &replicas
			},
		},
	}
}

// warnings are the pod template's (on create and template changes), and
// a negative revisionHistoryLimit, which keeps every revision forever.
func warnings(ss, old *appsv1.StatefulSet) []string {
	var oldTemplate *corev1.PodTemplateSpec
	if old != nil {
		oldTemplate = &old.Spec.Template
	}
	w := workload.TemplateWarnings(&ss.Spec.Template, oldTemplate, field.NewPath("spec", "template"))
	if ss.Spec.RevisionHistoryLimit != nil && *ss.Spec.RevisionHistoryLimit < 0 {
		w = append(w, "spec.revisionHistoryLimit: a negative value retains all historical revisions; a value >= 0 is recommended")
	}
	return w
}

func deref(p *int32) int32 {
	if p == nil {
		return 0
	}
	return *p
}
