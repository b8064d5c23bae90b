// Package horizontalpodautoscaler serves autoscaling/v2 horizontal pod
// autoscalers.
package horizontalpodautoscaler

import (
	"context"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/kemudi/kemudi/internal/registry"
)

// Resource returns the horizontalpodautoscalers resource.
func Resource() *registry.Resource {
	return &registry.Resource{
		GroupVersion: schema.GroupVersion{Group: "autoscaling", Version: "v2"},
		Resource:     "horizontalpodautoscalers",
		Kind:         "HorizontalPodAutoscaler",
		SingularName: "horizontalpodautoscaler",
		ShortNames:   []string{"hpa"},
		Categories:   []string{"all"},
		Namespaced:   true,
		New:          func() runtime.Object { return &autoscalingv2.HorizontalPodAutoscaler{} },
		NewList:      func() runtime.Object { return &autoscalingv2.HorizontalPodAutoscalerList{} },
		HasStatus:    true,
		// Generation tracking (HPAGeneration) is beta and on in 1.37.
		TracksGeneration: true,
		Hooks: registry.Hooks{
			Default: func(obj runtime.Object) { Default(obj.(*autoscalingv2.HorizontalPodAutoscaler)) },
			Validate: func(_ context.Context, obj runtime.Object) field.ErrorList {
				return Validate(obj.(*autoscalingv2.HorizontalPodAutoscaler))
			},
			ValidateUpdate: func(_ context.Context, obj, old runtime.Object) field.ErrorList {
				return ValidateUpdate(obj.(*autoscalingv2.HorizontalPodAutoscaler), old.(*autoscalingv2.HorizontalPodAutoscaler))
			},
		},
		StatusHooks: registry.StatusHooks{
			Meta: registry.StatusMetaRequest,
			ValidateUpdate: func(_ context.Context, obj, _ runtime.Object) field.ErrorList {
				return ValidateStatus(&obj.(*autoscalingv2.HorizontalPodAutoscaler).Status, field.NewPath("status"))
			},
		},
		Table: table(),
	}
}
