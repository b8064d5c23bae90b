// Package podtemplate serves core/v1 podtemplates: named pod templates
// whose spec follows the shared podspec rules.
package podtemplate

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/kemudi/kemudi/internal/registry"
	"github.com/kemudi/kemudi/internal/registry/core/podspec"
)

// Resource returns the podtemplates resource.
func Resource() *registry.Resource {
	return &registry.Resource{
		GroupVersion:        schema.GroupVersion{Version: "v1"},
		Resource:            "podtemplates",
		Kind:                "PodTemplate",
		ReturnDeletedObject: true,
		SingularName:        "podtemplate",
		Namespaced:          true,
		New:                 func() runtime.Object { return &corev1.PodTemplate{} },
		NewList:             func() runtime.Object { return &corev1.PodTemplateList{} },
		// Generation starts at 1 and moves when the template changes.
		TracksGeneration: true,
		Hooks: registry.Hooks{
			Default: func(obj runtime.Object) { podspec.DefaultPodTemplateSpec(&obj.(*corev1.PodTemplate).Template) },
			PrepareForCreate: func(_ context.Context, obj runtime.Object) {
				podspec.DropDisabledFields(&obj.(*corev1.PodTemplate).Template.Spec, nil)
			},
			PrepareForUpdate: func(_ context.Context, obj, old runtime.Object) {
				podspec.DropDisabledFields(&obj.(*corev1.PodTemplate).Template.Spec, &old.(*corev1.PodTemplate).Template.Spec)
			},
			Validate: func(_ context.Context, obj runtime.Object) field.ErrorList {
				return Validate(obj.(*corev1.PodTemplate))
			},
			ValidateUpdate: func(_ context.Context, obj, _ runtime.Object) field.ErrorList {
				// Templates may change freely; the new one must be valid.
				return Validate(obj.(*corev1.PodTemplate))
			},
			Warnings: func(_ context.Context, obj, old runtime.Object) []string {
				return Warnings(obj.(*corev1.PodTemplate), optional(old))
			},
		},
		Table: table(),
	}
}

func optional(obj runtime.Object) *corev1.PodTemplate {
	if obj == nil {
		return nil
	}
	t, _ := obj.(*corev1.PodTemplate)
	return t
}
