package apiserver_test

import (
	"context"
	"strings"
	"testing"
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	applyautoscalingv1 "k8s.io/client-go/applyconfigurations/autoscaling/v1"
	applyautoscalingv2 "k8s.io/client-go/applyconfigurations/autoscaling/v2"
	applycorev1 "k8s.io/client-go/applyconfigurations/core/v1"
	applyeventsv1 "k8s.io/client-go/applyconfigurations/events/v1"

	"github.com/kemudi/kemudi/internal/cluster/clustertest"
)

// TestServerSideApplyHorizontalPodAutoscalerV1: autoscaling/v1 horizontal
// pod autoscalers, a view of the stored v2 objects, are applied as
// upstream applies them: kubectl creates and updates one, a v2 manager
// who changes what the v1 manager set conflicts with it until it forces,
// both versions read the result, and a dry run stores nothing.
func TestServerSideApplyHorizontalPodAutoscalerV1(t *testing.T) {
	s := clustertest.Start(t)
	ctx := context.Background()
	v1 := s.Client.AutoscalingV1().HorizontalPodAutoscalers("default")
	v2 := s.Client.AutoscalingV2().HorizontalPodAutoscalers("default")
	manifest := func(maxReplicas, cpu string) string {
		return "apiVersion: autoscaling/v1\nkind: HorizontalPodAutoscaler\nmetadata:\n  name: web\nspec:\n" +
			"  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}\n" +
			"  maxReplicas: " + maxReplicas + "\n  targetCPUUtilizationPercentage: " + cpu + "\n"
	}
	// cpuTarget is the stored (v2) object's CPU utilization target.
	cpuTarget := func(hpa *autoscalingv2.HorizontalPodAutoscaler) int32 {
		for _, m := range hpa.Spec.Metrics {
			if m.Resource != nil && m.Resource.Name == corev1.ResourceCPU && m.Resource.Target.AverageUtilization != nil {
				return *m.Resource.Target.AverageUtilization
			}
		}
		return 0
	}

	for _, step := range []struct{ maxReplicas, cpu string }{{"3", "50"}, {"5", "60"}} {
		out, err := s.KubectlStdin(strings.NewReader(manifest(step.maxReplicas, step.cpu)), "apply", "--server-side", "-f", "-")
		if err != nil || !strings.Contains(out, "horizontalpodautoscaler.autoscaling/web serverside-applied") {
			t.Fatalf("kubectl apply --server-side (max %s, cpu %s): %q %v", step.maxReplicas, step.cpu, out, err)
		}
	}
	got, err := v2.Get(ctx, "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got.Spec.MaxReplicas != 5 || cpuTarget(got) != 60 || got.Spec.MinReplicas == nil || *got.Spec.MinReplicas != 1 {
		t.Errorf("v2 read of the applied v1 object: %+v", got.Spec)
	}
	if m := got.ManagedFields; len(m) != 1 || m[0].Manager != "kubectl" || m[0].Operation != metav1.ManagedFieldsOperationApply || m[0].APIVersion != "autoscaling/v1" {
		t.Errorf("managed fields %+v, want kubectl's apply in autoscaling/v1", m)
	}

	// Another manager applies a CPU target in v2: the v1 manager's
	// targetCPUUtilizationPercentage changes with it.
	other := applyautoscalingv2.HorizontalPodAutoscaler("web", "default").WithSpec(applyautoscalingv2.HorizontalPodAutoscalerSpec().
		WithMetrics(applyautoscalingv2.MetricSpec().WithType(autoscalingv2.ResourceMetricSourceType).WithResource(
			applyautoscalingv2.ResourceMetricSource().WithName(corev1.ResourceCPU).WithTarget(
				applyautoscalingv2.MetricTarget().WithType(autoscalingv2.UtilizationMetricType).WithAverageUtilization(70)))))
	_, err = v2.Apply(ctx, other, metav1.ApplyOptions{FieldManager: "tuner"})
	if !apierrors.IsConflict(err) || !strings.Contains(err.Error(), `conflict with "kubectl": .spec.targetCPUUtilizationPercentage`) {
		t.Fatalf("apply in v2 of another CPU target: %v, want a conflict with kubectl's .spec.targetCPUUtilizationPercentage", err)
	}
	if _, err := v2.Apply(ctx, other, metav1.ApplyOptions{FieldManager: "tuner", Force: true}); err != nil {
		t.Fatalf("forced apply in v2: %v", err)
	}
	read, err := v1.Get(ctx, "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if p := read.Spec.TargetCPUUtilizationPercentage; p == nil || *p != 70 || read.Spec.MaxReplicas != 5 {
		t.Errorf("v1 read after the forced apply: %+v", read.Spec)
	}

	// kubectl's apply in v1 now conflicts with the v2 manager.
	if out, err := s.KubectlStdin(strings.NewReader(manifest("5", "60")), "apply", "--server-side", "-f", "-"); err == nil || !strings.Contains(err.Error(), `conflict with "tuner"`) {
		t.Errorf("kubectl apply of the old CPU target: %q %v, want a conflict with tuner", out, err)
	}

	// Dry runs, of a change and of a new object, store nothing.
	for _, name := range []string{"web", "dry"} {
		cfg := applyautoscalingv1.HorizontalPodAutoscaler(name, "default").WithSpec(applyautoscalingv1.HorizontalPodAutoscalerSpec().
			WithScaleTargetRef(applyautoscalingv1.CrossVersionObjectReference().WithAPIVersion("apps/v1").WithKind("Deployment").WithName("web")).
			WithMaxReplicas(9))
		ans, err := v1.Apply(ctx, cfg, metav1.ApplyOptions{FieldManager: "dry", Force: true, DryRun: []string{metav1.DryRunAll}})
		if err != nil || ans.Spec.MaxReplicas != 9 {
			t.Fatalf("dry-run apply of %s: %v %+v", name, err, ans)
		}
	}
	if got, err := v2.Get(ctx, "web", metav1.GetOptions{}); err != nil || got.Spec.MaxReplicas != 5 {
		t.Errorf("after a dry-run apply: %v, maxReplicas %d, want 5", err, got.Spec.MaxReplicas)
	}
	if _, err := v1.Get(ctx, "dry", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("dry-run apply of a new object stored it: %v", err)
	}
}

// TestServerSideApplyEventsV1: events.k8s.io/v1 events, a view of the
// stored core/v1 events, are applied as upstream applies them; their
// fields have other names in core/v1 (note is message), and a core/v1
// manager who changes one conflicts with the events.k8s.io manager.
func TestServerSideApplyEventsV1(t *testing.T) {
	s := clustertest.Start(t)
	ctx := context.Background()
	now := metav1.NewMicroTime(time.Now().Truncate(time.Microsecond))
	ev := applyeventsv1.Event("boot", "default").WithEventTime(now).WithReportingController("example.com/recorder").
		WithReportingInstance("recorder-1").WithAction("Boot").WithReason("Booted").WithType(corev1.EventTypeNormal).
		WithNote("booted").WithRegarding(applycorev1.ObjectReference().WithKind("Node").WithName("n1"))
	created, err := s.Client.EventsV1().Events("default").Apply(ctx, ev, metav1.ApplyOptions{FieldManager: "recorder"})
	if err != nil {
		t.Fatalf("apply in events.k8s.io/v1: %v", err)
	}
	if created.Note != "booted" || created.Regarding.Name != "n1" {
		t.Errorf("applied %+v", created)
	}
	core := s.Client.CoreV1().Events("default")
	got, err := core.Get(ctx, "boot", metav1.GetOptions{})
	if err != nil || got.Message != "booted" || got.InvolvedObject.Name != "n1" {
		t.Fatalf("core/v1 read: %v %+v", err, got)
	}
	if m := got.ManagedFields; len(m) != 1 || m[0].Manager != "recorder" || m[0].APIVersion != "events.k8s.io/v1" {
		t.Errorf("managed fields %+v, want recorder's apply in events.k8s.io/v1", m)
	}
	msg := applycorev1.Event("boot", "default").WithMessage("rebooted")
	if _, err := core.Apply(ctx, msg, metav1.ApplyOptions{FieldManager: "editor"}); !apierrors.IsConflict(err) || !strings.Contains(err.Error(), `conflict with "recorder": .note`) {
		t.Fatalf("apply of another message in core/v1: %v, want a conflict with recorder's .note", err)
	}
	if _, err := core.Apply(ctx, msg, metav1.ApplyOptions{FieldManager: "editor", Force: true}); err != nil {
		t.Fatalf("forced apply in core/v1: %v", err)
	}
	after, err := s.Client.EventsV1().Events("default").Get(ctx, "boot", metav1.GetOptions{})
	if err != nil || after.Note != "rebooted" || after.Reason != "Booted" {
		t.Errorf("events.k8s.io/v1 read after the forced apply: %v %+v", err, after)
	}
}
