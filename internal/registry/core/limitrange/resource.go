// Package limitrange serves core/v1 limit ranges: per-namespace minimums,
// maximums and defaults for the resources of containers, pods and claims.
package limitrange

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/kemudi/kemudi/internal/registry"
	"github.com/kemudi/kemudi/internal/registry/printers"
)

// Resource returns the limitranges resource.
func Resource() *registry.Resource {
	return &registry.Resource{
		GroupVersion: schema.GroupVersion{Version: "v1"},
		Resource:     "limitranges",
		Kind:         "LimitRange",
		SingularName: "limitrange",
		ShortNames:   []string{"limits"},
		Namespaced:   true,
		New:          func() runtime.Object { return &corev1.LimitRange{} },
		NewList:      func() runtime.Object { return &corev1.LimitRangeList{} },
		Hooks: registry.Hooks{
			Default: func(obj runtime.Object) { Default(obj.(*corev1.LimitRange)) },
			Validate: func(_ context.Context, obj runtime.Object) field.ErrorList {
				return Validate(obj.(*corev1.LimitRange))
			},
			ValidateUpdate: func(_ context.Context, obj, _ runtime.Object) field.ErrorList {
				return Validate(obj.(*corev1.LimitRange))
			},
		},
		// Upstream has no printer for limit ranges: kubectl gets the
		// default table, NAME and CREATED AT.
		Table: &registry.Table{
			Columns: []metav1.TableColumnDefinition{printers.NameColumn, printers.CreatedAtColumn},
			Row: func(obj runtime.Object) ([]interface{}, error) {
				lr := obj.(*corev1.LimitRange)
				return []interface{}{lr.Name, printers.CreatedAt(lr.CreationTimestamp)}, nil
			},
		},
	}
}
