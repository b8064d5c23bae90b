package apiserver

import (
	"context"
	"testing"

	autoscalingv1 "k8s.io/api/autoscaling/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/kemudi/kemudi/internal/registry/autoscaling/horizontalpodautoscaler"
	"github.com/kemudi/kemudi/internal/registry/core/pod"
)

// TestAdmissionVersions: the HPA, served as autoscaling/v2 (stored) and
// v1, is indexed with its versions by priority and converts both ways
// for webhooks that match the other version, typed in each.
func TestAdmissionVersions(t *testing.T) {
	v2, v1 := newEndpoint(horizontalpodautoscaler.Resource()), newEndpoint(horizontalpodautoscaler.V1Resource())
	views := multiVersion(map[string]*endpoint{"v1": v1, "v2": v2, "pods": newEndpoint(pod.Resource())})
	vs := admissionVersions(views[v2.gvr.GroupResource()])
	if got := vs.Served(); len(got) != 2 || got[0] != "v2" || got[1] != "v1" || len(views) != 1 {
		t.Fatalf("served %v (%d resources indexed), want [v2 v1] for the HPA alone", got, len(views))
	}
	hpa := &autoscalingv2.HorizontalPodAutoscaler{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default"},
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{MaxReplicas: 5,
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{Kind: "Deployment", Name: "web", APIVersion: "apps/v1"},
			Metrics: []autoscalingv2.MetricSpec{{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricSource{
				Name: corev1.ResourceCPU, Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: ptr.To[int32](50)}}}}}}
	ctx := context.Background()
	out, gvk, err := vs.Convert(ctx, hpa, "v2", "v1")
	if err != nil {
		t.Fatal(err)
	}
	old, ok := out.(*autoscalingv1.HorizontalPodAutoscaler)
	if !ok || gvk != autoscalingv1.SchemeGroupVersion.WithKind("HorizontalPodAutoscaler") || old.Spec.TargetCPUUtilizationPercentage == nil || *old.Spec.TargetCPUUtilizationPercentage != 50 {
		t.Fatalf("in v1: %T %v %+v", out, gvk, out)
	}
	back, gvk, err := vs.Convert(ctx, old, "v1", "v2")
	if err != nil {
		t.Fatal(err)
	}
	again, ok := back.(*autoscalingv2.HorizontalPodAutoscaler)
	if !ok || gvk.Version != "v2" || len(again.Spec.Metrics) != 1 || *again.Spec.Metrics[0].Resource.Target.AverageUtilization != 50 || again.Spec.MaxReplicas != 5 {
		t.Fatalf("back in v2: %T %v %+v", back, gvk, back)
	}
	if _, _, err := vs.Convert(ctx, hpa, "v2", "v3"); err == nil {
		t.Error("converted to a version not served")
	}
}
