package apiserver

import (
	"testing"

	autoscalingv1 "k8s.io/api/autoscaling/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/kemudi/kemudi/internal/registry/autoscaling/horizontalpodautoscaler"
)

// TestViewConverter: the field manager's converter turns an object of
// one served version into another through storage, types built-in kinds
// as their conversions need them, and calls a version that is not
// served not registered (the field manager then forgets its managers).
func TestViewConverter(t *testing.T) {
	scheme := NewScheme()
	v1 := newEndpoint(horizontalpodautoscaler.V1Resource())
	v2 := newEndpoint(horizontalpodautoscaler.Resource())
	c := newViewConverter(scheme, v1, []*endpoint{v1, v2})
	cpu := int32(40)
	typedV1 := &autoscalingv1.HorizontalPodAutoscaler{Spec: autoscalingv1.HorizontalPodAutoscalerSpec{MaxReplicas: 3, TargetCPUUtilizationPercentage: &cpu}}
	u, err := runtime.DefaultUnstructuredConverter.ToUnstructured(typedV1)
	if err != nil {
		t.Fatal(err)
	}
	unstructuredV1 := &unstructured.Unstructured{Object: u}
	unstructuredV1.SetAPIVersion("autoscaling/v1")
	unstructuredV1.SetKind("HorizontalPodAutoscaler")

	for _, tc := range []struct {
		name          string
		in            runtime.Object
		to            schema.GroupVersion
		notRegistered bool
		check         func(t *testing.T, out runtime.Object)
	}{
		{name: "typed v1 to v2", in: typedV1, to: autoscalingv2.SchemeGroupVersion, check: func(t *testing.T, out runtime.Object) {
			hpa, ok := out.(*autoscalingv2.HorizontalPodAutoscaler)
			if !ok || hpa.APIVersion != "autoscaling/v2" || hpa.Kind != "HorizontalPodAutoscaler" || hpa.Spec.MaxReplicas != 3 ||
				len(hpa.Spec.Metrics) != 1 || *hpa.Spec.Metrics[0].Resource.Target.AverageUtilization != 40 {
				t.Errorf("got %#v", out)
			}
		}},
		{name: "unstructured v1 to v2", in: unstructuredV1, to: autoscalingv2.SchemeGroupVersion, check: func(t *testing.T, out runtime.Object) {
			if hpa, ok := out.(*autoscalingv2.HorizontalPodAutoscaler); !ok || len(hpa.Spec.Metrics) != 1 {
				t.Errorf("got %#v", out)
			}
		}},
		{name: "unstructured v1 to v1 is typed", in: unstructuredV1, to: autoscalingv1.SchemeGroupVersion, check: func(t *testing.T, out runtime.Object) {
			if hpa, ok := out.(*autoscalingv1.HorizontalPodAutoscaler); !ok || hpa.Spec.MaxReplicas != 3 || hpa.Kind != "HorizontalPodAutoscaler" {
				t.Errorf("got %#v", out)
			}
		}},
		{name: "to a version not served", in: typedV1, to: schema.GroupVersion{Group: "autoscaling", Version: "v2beta2"}, notRegistered: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := c.ConvertToVersion(tc.in, tc.to)
			if tc.notRegistered {
				if !runtime.IsNotRegisteredError(err) {
					t.Fatalf("got %v, %v; want a not-registered error", out, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, out)
		})
	}
	if typedV1.APIVersion != "" || unstructuredV1.GetAPIVersion() != "autoscaling/v1" {
		t.Error("a conversion changed its input")
	}
}
