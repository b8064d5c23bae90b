// Package deployment serves apps/v1 deployments.
package deployment

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

// Resource returns the deployments resource.
func Resource() *registry.Resource {
	return &registry.Resource{
		GroupVersion:     schema.GroupVersion{Group: "apps", Version: "v1"},
		Resource:         "deployments",
		Kind:             "Deployment",
		SingularName:     "deployment",
		ShortNames:       []string{"deploy"},
		Categories:       []string{"all"},
		Namespaced:       true,
		New:              func() runtime.Object { return &appsv1.Deployment{} },
		NewList:          func() runtime.Object { return &appsv1.DeploymentList{} },
		HasStatus:        true,
		TracksGeneration: true,
		Hooks: registry.Hooks{
			Default: func(obj runtime.Object) { Default(obj.(*appsv1.Deployment)) },
			PrepareForCreate: func(_ context.Context, obj runtime.Object) {
				podspec.DropDisabledFields(&obj.(*appsv1.Deployment).Spec.Template.Spec, nil)
			},
			PrepareForUpdate: func(_ context.Context, obj, old runtime.Object) {
				prepareForUpdate(obj.(*appsv1.Deployment), old.(*appsv1.Deployment))
			},
			Validate: func(_ context.Context, obj runtime.Object) field.ErrorList {
				return Validate(obj.(*appsv1.Deployment))
			},
			ValidateUpdate: func(_ context.Context, obj, old runtime.Object) field.ErrorList {
				return ValidateUpdate(obj.(*appsv1.Deployment), old.(*appsv1.Deployment))
			},
			Warnings: func(_ context.Context, obj, old runtime.Object) []string {
				return warnings(obj.(*appsv1.Deployment), asDeployment(old))
			},
		},
		StatusHooks: registry.StatusHooks{
			Meta: registry.StatusMetaRequestButLabels,
			PrepareForUpdate: func(_ context.Context, obj, old runtime.Object) {
				// A status writer may not relabel the deployment: labels
				// are the user's, like the spec.
				obj.(*appsv1.Deployment).Labels = old.(*appsv1.Deployment).Labels
			},
			ValidateUpdate: func(_ context.Context, obj, old runtime.Object) field.ErrorList {
				return ValidateStatusUpdate(obj.(*appsv1.Deployment), old.(*appsv1.Deployment))
			},
		},
		Table: table(),
		Scale: &registry.Scale{
			Get: func(obj runtime.Object) (int32, int32, string) {
				d := obj.(*appsv1.Deployment)
				return deref(d.Spec.Replicas), d.Status.Replicas, workload.SelectorString(d.Spec.Selector)
			},
			Set: func(obj runtime.Object, replicas int32) {
				obj.(*appsv1.Deployment).Spec.Replicas = &replicas
			},
		},
	}
}

// prepareForUpdate drops the template's alpha fields the old one did not
// use, and bumps the generation when annotations change as well as
// the spec: the deployment controller copies annotations to its replica
// sets, so an annotation edit is a change it must act on. (The generic code
// bumps the generation for spec changes.)
func prepareForUpdate(d, old *appsv1.Deployment) {
	podspec.DropDisabledFields(&d.Spec.Template.Spec, &old.Spec.Template.Spec)
	if d.Generation == old.Generation && !stringMapsEqual(d.Annotations, old.Annotations) {
		d.Generation = old.Generation + 1
	}
}

func stringMapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// warnings are the name's on create and the pod template's.
func warnings(d, old *appsv1.Deployment) []string {
	var w []string
	var oldTemplate *corev1.PodTemplateSpec
	if old == nil {
		w = workload.NameWarnings(d.Name)
	} else {
		oldTemplate = &old.Spec.Template
	}
	return append(w, workload.TemplateWarnings(&d.Spec.Template, oldTemplate, field.NewPath("spec", "template"))...)
}

// asDeployment returns old as a deployment; nil (also for a typed nil) on
// create.
func asDeployment(old runtime.Object) *appsv1.Deployment {
	d, _ := old.(*appsv1.Deployment)
	return d
}

func deref(p *int32) int32 {
	if p == nil {
		return 0
	}
	return *p
}
