package apiserver_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	autoscalingv1 "k8s.io/api/autoscaling/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/discovery"
	"k8s.io/utils/ptr"

	"github.com/kemudi/kemudi/internal/cluster/clustertest"
)

// TestHorizontalPodAutoscalerV1: autoscaling/v1 horizontal pod
// autoscalers are served as upstream serves them, a view of the
// autoscaling/v2 objects: both versions read one object alike, a v1
// update keeps what only v2 can say (through upstream's annotations),
// and kubectl and discovery find both.
func TestHorizontalPodAutoscalerV1(t *testing.T) {
	s := clustertest.Start(t)
	ctx := context.Background()
	v1 := s.Client.AutoscalingV1().HorizontalPodAutoscalers("default")
	v2 := s.Client.AutoscalingV2().HorizontalPodAutoscalers("default")

	t.Run("discovery", func(t *testing.T) {
		dc, err := discovery.NewDiscoveryClientForConfig(s.Config)
		if err != nil {
			t.Fatal(err)
		}
		// Legacy discovery: only it has storageVersionHash.
		groups, lists, err := dc.WithLegacy().ServerGroupsAndResources()
		if err != nil {
			t.Fatal(err)
		}
		served := map[string]map[string]metav1.APIResource{}
		for _, l := range lists {
			served[l.GroupVersion] = map[string]metav1.APIResource{}
			for _, r := range l.APIResources {
				served[l.GroupVersion][r.Name] = r
			}
		}
		for _, g := range groups {
			if g.Name == "autoscaling" && g.PreferredVersion.Version != "v2" {
				t.Errorf("autoscaling prefers %s, want v2", g.PreferredVersion.Version)
			}
		}
		for _, gv := range []string{"autoscaling/v1", "autoscaling/v2"} {
			for _, name := range []string{"horizontalpodautoscalers", "horizontalpodautoscalers/status"} {
				if _, ok := served[gv][name]; !ok {
					t.Errorf("%s %s not in discovery", gv, name)
				}
			}
		}
		if a, b := served["autoscaling/v1"]["horizontalpodautoscalers"].StorageVersionHash, served["autoscaling/v2"]["horizontalpodautoscalers"].StorageVersionHash; a == "" || a != b {
			t.Errorf("storageVersionHash v1 %q, v2 %q: want one, the same", a, b)
		}
		// Every scale subresource names a kind of a served group version
		// (autoscaling/v1 Scale), as clients follow it there.
		for gv, resources := range served {
			for name, r := range resources {
				if !strings.HasSuffix(name, "/scale") {
					continue
				}
				if r.Group != "autoscaling" || r.Version != "v1" || r.Kind != "Scale" {
					t.Errorf("%s %s: kind %s/%s %s, want autoscaling/v1 Scale", gv, name, r.Group, r.Version, r.Kind)
				}
			}
		}
		if _, ok := served["autoscaling/v1"]; !ok {
			t.Error("autoscaling/v1 (the group version of Scale) is not served")
		}
		// The document itself, as upstream's Discovery spec fetches it.
		if err := s.Client.Discovery().RESTClient().Get().AbsPath("/apis/autoscaling/v1").Do(ctx).Error(); err != nil {
			t.Errorf("GET /apis/autoscaling/v1: %v", err)
		}
	})

	if _, err := s.Client.AppsV1().Deployments("default").Create(ctx, deployment("web", 1), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	t.Run("kubectl", func(t *testing.T) {
		// kubectl autoscale creates an autoscaling/v2 object; v1 reads it.
		if out := s.MustKubectl("autoscale", "deployment", "web", "--cpu-percent=50", "--max=3"); !strings.Contains(out, "horizontalpodautoscaler.autoscaling/web autoscaled") {
			t.Errorf("autoscale: %q", out)
		}
		out := s.MustKubectl("get", "hpa")
		if h := header(out); h != "NAME REFERENCE TARGETS MINPODS MAXPODS REPLICAS AGE" {
			t.Errorf("get hpa header %q", h)
		}
		if r := rows(out)["web"]; len(r) < 6 || r[1] != "Deployment/web" || r[2] != "cpu:" || r[3] != "<unknown>/50%" || r[4] != "1" || r[5] != "3" {
			t.Errorf("get hpa row %q", r)
		}
		v1out := s.MustKubectl("get", "hpa.v1.autoscaling", "web")
		if header(v1out) != header(out) || strings.Join(rows(v1out)["web"][:6], " ") != strings.Join(rows(out)["web"][:6], " ") {
			t.Errorf("get hpa.v1.autoscaling:\n%s\nwant as get hpa:\n%s", v1out, out)
		}
		// A short name loses its version in client-go's expansion (as
		// against upstream): the full name reaches v1.
		if got := s.MustKubectl("get", "horizontalpodautoscalers.v1.autoscaling", "web", "-o", "jsonpath={.apiVersion} {.spec.targetCPUUtilizationPercentage} {.spec.minReplicas}"); got != "autoscaling/v1 50 1" {
			t.Errorf("v1 read %q, want autoscaling/v1 50 1", got)
		}
		s.MustKubectl("delete", "hpa", "web")
	})

	t.Run("v1 create is read by v2", func(t *testing.T) {
		created, err := v1.Create(ctx, &autoscalingv1.HorizontalPodAutoscaler{
			ObjectMeta: metav1.ObjectMeta{Name: "plain"},
			Spec: autoscalingv1.HorizontalPodAutoscalerSpec{
				ScaleTargetRef: autoscalingv1.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "web"},
				MaxReplicas:    4,
			},
		}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if created.APIVersion != "autoscaling/v1" && created.APIVersion != "" || *created.Spec.MinReplicas != 1 || created.Generation != 1 {
			t.Errorf("created %+v", created)
		}
		got, err := v2.Get(ctx, "plain", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		m := got.Spec.Metrics
		if len(m) != 1 || m[0].Resource == nil || m[0].Resource.Name != corev1.ResourceCPU || *m[0].Resource.Target.AverageUtilization != 80 {
			t.Errorf("v2 metrics of a v1 object without a target %+v, want 80%% CPU", m)
		}
		if *got.Spec.MinReplicas != 1 || got.Spec.MaxReplicas != 4 || got.UID != created.UID || got.ResourceVersion != created.ResourceVersion {
			t.Errorf("v2 read %+v of v1's %+v", got.ObjectMeta, created.ObjectMeta)
		}
	})

	t.Run("v1 update keeps v2-only fields", func(t *testing.T) {
		hpa := &autoscalingv2.HorizontalPodAutoscaler{
			ObjectMeta: metav1.ObjectMeta{Name: "full", Annotations: map[string]string{"team": "a"}},
			Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
				ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "web"},
				MaxReplicas:    5,
				Metrics: []autoscalingv2.MetricSpec{{
					Type: autoscalingv2.PodsMetricSourceType, Pods: &autoscalingv2.PodsMetricSource{
						Metric: autoscalingv2.MetricIdentifier{Name: "qps"},
						Target: autoscalingv2.MetricTarget{Type: autoscalingv2.AverageValueMetricType, AverageValue: ptr.To(resource.MustParse("10"))},
					}}, {
					Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricSource{
						Name:   corev1.ResourceCPU,
						Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: ptr.To[int32](60)},
					}},
				},
				Behavior: &autoscalingv2.HorizontalPodAutoscalerBehavior{ScaleDown: &autoscalingv2.HPAScalingRules{StabilizationWindowSeconds: ptr.To[int32](30)}},
			},
		}
		created, err := v2.Create(ctx, hpa, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		created.Status = autoscalingv2.HorizontalPodAutoscalerStatus{
			CurrentReplicas: 1, DesiredReplicas: 2,
			CurrentMetrics: []autoscalingv2.MetricStatus{{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricStatus{
				Name: corev1.ResourceCPU, Current: autoscalingv2.MetricValueStatus{AverageUtilization: ptr.To[int32](90), AverageValue: ptr.To(resource.MustParse("450m"))}}}},
			Conditions: []autoscalingv2.HorizontalPodAutoscalerCondition{{Type: autoscalingv2.ScalingActive, Status: corev1.ConditionTrue, Reason: "ValidMetricFound",
				LastTransitionTime: metav1.Now()}},
		}
		if _, err := v2.UpdateStatus(ctx, created, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}

		old, err := v1.Get(ctx, "full", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if p := old.Spec.TargetCPUUtilizationPercentage; p == nil || *p != 60 {
			t.Errorf("v1 targetCPUUtilizationPercentage %v, want 60", p)
		}
		if p := old.Status.CurrentCPUUtilizationPercentage; p == nil || *p != 90 || old.Status.DesiredReplicas != 2 {
			t.Errorf("v1 status %+v", old.Status)
		}
		var others []autoscalingv1.MetricSpec
		if err := json.Unmarshal([]byte(old.Annotations["autoscaling.alpha.kubernetes.io/metrics"]), &others); err != nil || len(others) != 1 || others[0].Pods == nil || others[0].Pods.MetricName != "qps" {
			t.Errorf("v1 metrics annotation %q (%v)", old.Annotations["autoscaling.alpha.kubernetes.io/metrics"], err)
		}
		for _, k := range []string{"autoscaling.alpha.kubernetes.io/behavior", "autoscaling.alpha.kubernetes.io/conditions", "autoscaling.alpha.kubernetes.io/current-metrics", "team"} {
			if old.Annotations[k] == "" {
				t.Errorf("v1 read lacks annotation %s: %v", k, old.Annotations)
			}
		}

		old.Spec.MaxReplicas = 7
		old.Spec.TargetCPUUtilizationPercentage = ptr.To[int32](70)
		updated, err := v1.Update(ctx, old, metav1.UpdateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if updated.Generation != created.Generation+1 {
			t.Errorf("generation %d after a spec change, want %d", updated.Generation, created.Generation+1)
		}
		got, err := v2.Get(ctx, "full", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		m := got.Spec.Metrics
		if got.Spec.MaxReplicas != 7 || len(m) != 2 || m[0].Pods == nil || m[0].Pods.Metric.Name != "qps" || m[1].Resource == nil || *m[1].Resource.Target.AverageUtilization != 70 {
			t.Errorf("v2 spec after a v1 update %+v", got.Spec)
		}
		if b := got.Spec.Behavior; b == nil || b.ScaleDown == nil || *b.ScaleDown.StabilizationWindowSeconds != 30 {
			t.Errorf("v2 behavior after a v1 update %+v", b)
		}
		if len(got.Status.Conditions) != 1 || got.Status.Conditions[0].Reason != "ValidMetricFound" || got.Status.CurrentReplicas != 1 {
			t.Errorf("v2 status after a v1 update %+v", got.Status)
		}
		for k := range got.Annotations {
			if strings.HasPrefix(k, "autoscaling.alpha.kubernetes.io/") {
				t.Errorf("v2 object keeps round-trip annotation %s", k)
			}
		}
		if got.Annotations["team"] != "a" {
			t.Errorf("v2 annotations %v", got.Annotations)
		}

		// A v1 status update changes status only.
		updated.Status.DesiredReplicas = 3
		updated.Spec.MaxReplicas = 1
		if _, err := v1.UpdateStatus(ctx, updated, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		if got, err = v2.Get(ctx, "full", metav1.GetOptions{}); err != nil {
			t.Fatal(err)
		}
		if got.Status.DesiredReplicas != 3 || got.Spec.MaxReplicas != 7 || len(got.Spec.Metrics) != 2 || got.Spec.Behavior == nil {
			t.Errorf("after a v1 status update: spec %+v status %+v", got.Spec, got.Status)
		}
	})

	t.Run("v1 errors name upstream's fields", func(t *testing.T) {
		_, err := v1.Create(ctx, &autoscalingv1.HorizontalPodAutoscaler{
			ObjectMeta: metav1.ObjectMeta{Name: "bad"},
			Spec: autoscalingv1.HorizontalPodAutoscalerSpec{
				ScaleTargetRef: autoscalingv1.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "web"},
				MaxReplicas:    2, TargetCPUUtilizationPercentage: ptr.To[int32](0),
			},
		}, metav1.CreateOptions{})
		if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), "spec.metrics[0].resource.target.averageUtilization") {
			t.Errorf("create with a 0%% target: %v, want 422 naming spec.metrics[0].resource.target.averageUtilization", err)
		}
	})

	t.Run("v1 watch and list", func(t *testing.T) {
		list, err := v1.List(ctx, metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		w, err := v1.Watch(ctx, metav1.ListOptions{ResourceVersion: list.ResourceVersion})
		if err != nil {
			t.Fatal(err)
		}
		defer w.Stop()
		if _, err := v2.Patch(ctx, "plain", "application/merge-patch+json", []byte(`{"spec":{"maxReplicas":6}}`), metav1.PatchOptions{}); err != nil {
			t.Fatal(err)
		}
		select {
		case ev := <-w.ResultChan():
			hpa, ok := ev.Object.(*autoscalingv1.HorizontalPodAutoscaler)
			if ev.Type != watch.Modified || !ok || hpa.Name != "plain" || hpa.Spec.MaxReplicas != 6 || *hpa.Spec.TargetCPUUtilizationPercentage != 80 {
				t.Errorf("watch event %s %+v", ev.Type, ev.Object)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("no watch event")
		}
	})
}
