package horizontalpodautoscaler

import (
	"context"
	"fmt"

	autoscalingv1 "k8s.io/api/autoscaling/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/kemudi/kemudi/internal/registry"
)

// V1Resource returns autoscaling/v1 horizontalpodautoscalers, a view of
// the autoscaling/v2 objects (upstream serves both and stores v2). Its
// objects are checked as v2 objects, as upstream checks the internal
// form of either, so errors name v2's fields.
func V1Resource() *registry.Resource {
	v2 := Resource()
	return &registry.Resource{
		GroupVersion:     autoscalingv1.SchemeGroupVersion,
		Resource:         v2.Resource,
		Kind:             v2.Kind,
		SingularName:     v2.SingularName,
		ShortNames:       v2.ShortNames,
		Categories:       v2.Categories,
		Namespaced:       true,
		StoragePrefix:    v2.Resource,
		New:              func() runtime.Object { return &autoscalingv1.HorizontalPodAutoscaler{} },
		NewList:          func() runtime.Object { return &autoscalingv1.HorizontalPodAutoscalerList{} },
		HasStatus:        true,
		TracksGeneration: true,
		Hooks: registry.Hooks{
			Default: func(obj runtime.Object) { DefaultV1(obj.(*autoscalingv1.HorizontalPodAutoscaler)) },
			Validate: func(_ context.Context, obj runtime.Object) field.ErrorList {
				return Validate(ToV2(obj.(*autoscalingv1.HorizontalPodAutoscaler)))
			},
			ValidateUpdate: func(_ context.Context, obj, old runtime.Object) field.ErrorList {
				return ValidateUpdate(ToV2(obj.(*autoscalingv1.HorizontalPodAutoscaler)), ToV2(old.(*autoscalingv1.HorizontalPodAutoscaler)))
			},
			PrepareForUpdate: func(_ context.Context, obj, old runtime.Object) {
				bumpGenerationV1(obj.(*autoscalingv1.HorizontalPodAutoscaler), old.(*autoscalingv1.HorizontalPodAutoscaler))
			},
		},
		StatusHooks: registry.StatusHooks{
			Meta: registry.StatusMetaRequest,
			ValidateUpdate: func(_ context.Context, obj, _ runtime.Object) field.ErrorList {
				return ValidateStatus(&ToV2(obj.(*autoscalingv1.HorizontalPodAutoscaler)).Status, field.NewPath("status"))
			},
		},
		Table: v1Table(v2.Table),
		Convert: &registry.Convert{
			ToStorage: func(_ context.Context, obj runtime.Object) (runtime.Object, error) {
				hpa, ok := obj.(*autoscalingv1.HorizontalPodAutoscaler)
				if !ok {
					return nil, fmt.Errorf("object is a %T, not an autoscaling/v1 HorizontalPodAutoscaler", obj)
				}
				out := ToV2(hpa)
				// What a v2 read of it shows (upstream defaults v2
				// objects as it reads them from storage).
				Default(out)
				return out, nil
			},
			FromStorage: func(_ context.Context, obj runtime.Object) (runtime.Object, error) {
				hpa, ok := obj.(*autoscalingv2.HorizontalPodAutoscaler)
				if !ok {
					return nil, fmt.Errorf("stored object is a %T, not an autoscaling/v2 HorizontalPodAutoscaler", obj)
				}
				return FromV2(hpa)
			},
		},
	}
}

// DefaultV1 is upstream's autoscaling/v1 defaulting: minReplicas 1. The
// default CPU target comes with the conversion, which sees the
// annotations' metrics.
func DefaultV1(hpa *autoscalingv1.HorizontalPodAutoscaler) {
	if hpa.Spec.MinReplicas == nil {
		hpa.Spec.MinReplicas = new(int32(1))
	}
}

// bumpGenerationV1 bumps metadata.generation when the spec changed in a
// way v1's fields do not show (the metrics or behavior annotations),
// unless the generic code bumped it already.
func bumpGenerationV1(hpa, old *autoscalingv1.HorizontalPodAutoscaler) {
	if hpa.Generation != old.Generation {
		return
	}
	if !apiequality.Semantic.DeepEqual(ToV2(hpa).Spec, ToV2(old).Spec) {
		hpa.Generation = old.Generation + 1
	}
}

// v1Table prints v1 objects with v2's columns, as upstream prints both
// from the internal form.
func v1Table(v2 *registry.Table) *registry.Table {
	return &registry.Table{
		Columns: v2.Columns,
		Row: func(obj runtime.Object) ([]interface{}, error) {
			hpa, ok := obj.(*autoscalingv1.HorizontalPodAutoscaler)
			if !ok {
				return nil, fmt.Errorf("object is a %T, not an autoscaling/v1 HorizontalPodAutoscaler", obj)
			}
			return v2.Row(ToV2(hpa))
		},
	}
}

func typeMeta(apiVersion string) metav1.TypeMeta {
	return metav1.TypeMeta{APIVersion: apiVersion, Kind: "HorizontalPodAutoscaler"}
}
