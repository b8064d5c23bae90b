// Package configmap serves core/v1 configmaps.
package configmap

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/kemudi/kemudi/internal/registry"
)

// Resource returns the configmaps resource.
func Resource() *registry.Resource {
	return &registry.Resource{
		GroupVersion: schema.GroupVersion{Version: "v1"},
		Resource:     "configmaps",
		Kind:         "ConfigMap",
		SingularName: "configmap",
		ShortNames:   []string{"cm"},
		Namespaced:   true,
		New:          func() runtime.Object { return &corev1.ConfigMap{} },
		NewList:      func() runtime.Object { return &corev1.ConfigMapList{} },
		Hooks: registry.Hooks{
			Validate: func(_ context.Context, obj runtime.Object) field.ErrorList {
				return Validate(obj.(*corev1.ConfigMap))
			},
			ValidateUpdate: func(_ context.Context, obj, old runtime.Object) field.ErrorList {
				return ValidateUpdate(obj.(*corev1.ConfigMap), old.(*corev1.ConfigMap))
			},
		},
		Table: table(),
	}
}
