package horizontalpodautoscaler

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func v1HPA(cpu *int32, annotations map[string]string) *autoscalingv1.HorizontalPodAutoscaler {
	return &autoscalingv1.HorizontalPodAutoscaler{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default", Annotations: annotations},
		Spec: autoscalingv1.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv1.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "web"},
			MinReplicas:    new(int32(1)), MaxReplicas: 3, TargetCPUUtilizationPercentage: cpu,
		},
	}
}

func podsMetric(name, value string) autoscalingv2.MetricSpec {
	return autoscalingv2.MetricSpec{Type: autoscalingv2.PodsMetricSourceType, Pods: &autoscalingv2.PodsMetricSource{
		Metric: autoscalingv2.MetricIdentifier{Name: name},
		Target: autoscalingv2.MetricTarget{Type: autoscalingv2.AverageValueMetricType, AverageValue: qty(value)},
	}}
}

func TestToV2(t *testing.T) {
	for _, tc := range []struct {
		name        string
		in          *autoscalingv1.HorizontalPodAutoscaler
		metrics     []autoscalingv2.MetricSpec
		behavior    *autoscalingv2.HorizontalPodAutoscalerBehavior
		annotations map[string]string
	}{{
		name:    "targetCPUUtilizationPercentage is a CPU utilization metric",
		in:      v1HPA(new(int32(50)), nil),
		metrics: []autoscalingv2.MetricSpec{cpuUtilization(50)},
	}, {
		name:    "no metric at all targets 80% CPU",
		in:      v1HPA(nil, nil),
		metrics: []autoscalingv2.MetricSpec{cpuUtilization(80)},
	}, {
		name: "the annotation's metrics come first, then the CPU target; the annotation goes",
		in: v1HPA(new(int32(50)), map[string]string{"team": "a",
			MetricSpecsAnnotation: `[{"type":"Pods","pods":{"metricName":"qps","targetAverageValue":"10"}}]`}),
		metrics:     []autoscalingv2.MetricSpec{podsMetric("qps", "10"), cpuUtilization(50)},
		annotations: map[string]string{"team": "a"},
	}, {
		name: "an object metric with an average value keeps no zero value",
		in: v1HPA(nil, map[string]string{MetricSpecsAnnotation: `[{"type":"Object","object":{"target":{"kind":"Service","name":"s"},` +
			`"metricName":"rps","targetValue":"0","averageValue":"5"}}]`}),
		metrics: []autoscalingv2.MetricSpec{{Type: autoscalingv2.ObjectMetricSourceType, Object: &autoscalingv2.ObjectMetricSource{
			DescribedObject: autoscalingv2.CrossVersionObjectReference{Kind: "Service", Name: "s"},
			Metric:          autoscalingv2.MetricIdentifier{Name: "rps"},
			Target:          autoscalingv2.MetricTarget{Type: autoscalingv2.AverageValueMetricType, AverageValue: qty("5")},
		}}},
		annotations: map[string]string{},
	}, {
		name: "a resource metric by average value",
		in:   v1HPA(nil, map[string]string{MetricSpecsAnnotation: `[{"type":"Resource","resource":{"name":"memory","targetAverageValue":"100Mi"}}]`}),
		metrics: []autoscalingv2.MetricSpec{{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricSource{
			Name: corev1.ResourceMemory, Target: autoscalingv2.MetricTarget{Type: autoscalingv2.AverageValueMetricType, AverageValue: qty("100Mi")},
		}}},
		annotations: map[string]string{},
	}, {
		name:        "an annotation that does not parse is ignored",
		in:          v1HPA(new(int32(60)), map[string]string{MetricSpecsAnnotation: `{not json`, BehaviorSpecsAnnotation: `[]`}),
		metrics:     []autoscalingv2.MetricSpec{cpuUtilization(60)},
		annotations: map[string]string{},
	}, {
		name: "behavior in upstream's internal shape",
		in: v1HPA(new(int32(50)), map[string]string{
			BehaviorSpecsAnnotation: `{"ScaleUp":null,"ScaleDown":{"StabilizationWindowSeconds":60,"SelectPolicy":"Min","Policies":[{"Type":"Percent","Value":10,"PeriodSeconds":30}],"Tolerance":"50m"}}`}),
		metrics: []autoscalingv2.MetricSpec{cpuUtilization(50)},
		behavior: &autoscalingv2.HorizontalPodAutoscalerBehavior{ScaleDown: &autoscalingv2.HPAScalingRules{
			StabilizationWindowSeconds: new(int32(60)), SelectPolicy: new(autoscalingv2.MinChangePolicySelect),
			Policies:  []autoscalingv2.HPAScalingPolicy{{Type: autoscalingv2.PercentScalingPolicy, Value: 10, PeriodSeconds: 30}},
			Tolerance: qty("50m"),
		}},
		annotations: map[string]string{},
	}, {
		name:        "an empty behavior is none",
		in:          v1HPA(new(int32(50)), map[string]string{BehaviorSpecsAnnotation: `{"ScaleUp":null,"ScaleDown":null}`}),
		metrics:     []autoscalingv2.MetricSpec{cpuUtilization(50)},
		annotations: map[string]string{},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			in := tc.in.DeepCopy()
			got := ToV2(tc.in)
			if !apiequality.Semantic.DeepEqual(got.Spec.Metrics, tc.metrics) {
				t.Errorf("metrics:\n%s", cmp.Diff(tc.metrics, got.Spec.Metrics))
			}
			if !apiequality.Semantic.DeepEqual(got.Spec.Behavior, tc.behavior) {
				t.Errorf("behavior:\n%s", cmp.Diff(tc.behavior, got.Spec.Behavior))
			}
			if len(got.Annotations) != len(tc.annotations) || (tc.annotations == nil) != (got.Annotations == nil) {
				t.Errorf("annotations %v, want %v", got.Annotations, tc.annotations)
			}
			for k, v := range tc.annotations {
				if got.Annotations[k] != v {
					t.Errorf("annotation %s=%q, want %q", k, got.Annotations[k], v)
				}
			}
			if *got.Spec.MinReplicas != 1 || got.Spec.MaxReplicas != 3 || got.Spec.ScaleTargetRef.Name != "web" {
				t.Errorf("spec %+v", got.Spec)
			}
			if !apiequality.Semantic.DeepEqual(in, tc.in) {
				t.Error("ToV2 changed its input")
			}
		})
	}
}

// fullV2 has everything v1 cannot say: metrics besides CPU utilization,
// behavior, current metrics and conditions.
func fullV2() *autoscalingv2.HorizontalPodAutoscaler {
	hpa := newHPA()
	hpa.Annotations = map[string]string{"team": "a"}
	hpa.Spec.Metrics = []autoscalingv2.MetricSpec{podsMetric("qps", "10"), {
		Type: autoscalingv2.ExternalMetricSourceType, External: &autoscalingv2.ExternalMetricSource{
			Metric: autoscalingv2.MetricIdentifier{Name: "queue", Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"q": "jobs"}}},
			Target: autoscalingv2.MetricTarget{Type: autoscalingv2.ValueMetricType, Value: qty("30")},
		}}, {
		Type: autoscalingv2.ContainerResourceMetricSourceType, ContainerResource: &autoscalingv2.ContainerResourceMetricSource{
			Name: corev1.ResourceMemory, Container: "app",
			Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: new(int32(70))},
		}},
		cpuUtilization(50),
	}
	hpa.Spec.Behavior = &autoscalingv2.HorizontalPodAutoscalerBehavior{ScaleDown: &autoscalingv2.HPAScalingRules{StabilizationWindowSeconds: new(int32(60))}}
	Default(hpa)
	hpa.Status = autoscalingv2.HorizontalPodAutoscalerStatus{
		ObservedGeneration: new(int64(1)), CurrentReplicas: 2, DesiredReplicas: 3,
		LastScaleTime: new(metav1.NewTime(time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC))),
		CurrentMetrics: []autoscalingv2.MetricStatus{
			{Type: autoscalingv2.PodsMetricSourceType, Pods: &autoscalingv2.PodsMetricStatus{
				Metric: autoscalingv2.MetricIdentifier{Name: "qps"}, Current: autoscalingv2.MetricValueStatus{AverageValue: qty("12")}}},
			{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricStatus{
				Name: corev1.ResourceCPU, Current: autoscalingv2.MetricValueStatus{AverageValue: qty("200m"), AverageUtilization: new(int32(40))}}},
		},
		Conditions: []autoscalingv2.HorizontalPodAutoscalerCondition{{
			Type: autoscalingv2.AbleToScale, Status: corev1.ConditionTrue, Reason: "ReadyForNewScale",
			LastTransitionTime: metav1.NewTime(time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC)),
		}},
	}
	return hpa
}

func TestFromV2(t *testing.T) {
	in := fullV2()
	got, err := FromV2(in)
	if err != nil {
		t.Fatal(err)
	}
	if p := got.Spec.TargetCPUUtilizationPercentage; p == nil || *p != 50 {
		t.Errorf("targetCPUUtilizationPercentage %v, want 50", p)
	}
	if p := got.Status.CurrentCPUUtilizationPercentage; p == nil || *p != 40 {
		t.Errorf("currentCPUUtilizationPercentage %v, want 40", p)
	}
	if got.Status.CurrentReplicas != 2 || got.Status.DesiredReplicas != 3 || *got.Status.ObservedGeneration != 1 {
		t.Errorf("status %+v", got.Status)
	}
	// Upstream's encodings: v1's metric types (camelCase), and its
	// internal behavior type (Go field names, nulls).
	for key, want := range map[string]string{
		"team": "a",
		MetricSpecsAnnotation: `[{"type":"Pods","pods":{"metricName":"qps","targetAverageValue":"10"}},` +
			`{"type":"External","external":{"metricName":"queue","metricSelector":{"matchLabels":{"q":"jobs"}},"targetValue":"30"}},` +
			`{"type":"ContainerResource","containerResource":{"name":"memory","targetAverageUtilization":70,"container":"app"}}]`,
		MetricStatusesAnnotation: `[{"type":"Pods","pods":{"metricName":"qps","currentAverageValue":"12"}},` +
			`{"type":"Resource","resource":{"name":"cpu","currentAverageUtilization":40,"currentAverageValue":"200m"}}]`,
		BehaviorSpecsAnnotation: `{"ScaleUp":{"StabilizationWindowSeconds":0,"SelectPolicy":"Max","Policies":[{"Type":"Pods","Value":4,"PeriodSeconds":15},{"Type":"Percent","Value":100,"PeriodSeconds":15}],"Tolerance":null},` +
			`"ScaleDown":{"StabilizationWindowSeconds":60,"SelectPolicy":"Max","Policies":[{"Type":"Percent","Value":100,"PeriodSeconds":15}],"Tolerance":null}}`,
		ConditionsAnnotation: `[{"type":"AbleToScale","status":"True","lastTransitionTime":"2026-12-06T09:00:00Z","reason":"ReadyForNewScale"}]`,
	} {
		if got.Annotations[key] != want {
			t.Errorf("annotation %s:\n got %s\nwant %s", key, got.Annotations[key], want)
		}
	}
	if len(got.Annotations) != 5 {
		t.Errorf("annotations %v", got.Annotations)
	}
	if in.Annotations[MetricSpecsAnnotation] != "" {
		t.Error("FromV2 changed its input's annotations")
	}

	// Back to v2, nothing is lost (a v1 client that sends back what it
	// read keeps the v2-only fields).
	back := ToV2(got)
	Default(back)
	back.TypeMeta = in.TypeMeta
	if !apiequality.Semantic.DeepEqual(back, in) {
		t.Errorf("round trip:\n%s", cmp.Diff(in, back))
	}
}

func TestFromV2DropsStoredRoundTripAnnotations(t *testing.T) {
	in := newHPA()
	in.Annotations = map[string]string{MetricSpecsAnnotation: `[{"type":"Pods"}]`, ConditionsAnnotation: "x", "keep": "y"}
	got, err := FromV2(in)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Annotations) != 1 || got.Annotations["keep"] != "y" {
		t.Errorf("annotations %v, want only keep=y", got.Annotations)
	}
}

func TestV1Resource(t *testing.T) {
	r := V1Resource()
	hpa := v1HPA(new(int32(0)), nil)
	hpa.Spec.MinReplicas = nil
	r.Hooks.Default(hpa)
	if hpa.Spec.MinReplicas == nil || *hpa.Spec.MinReplicas != 1 {
		t.Errorf("minReplicas %v, want 1", hpa.Spec.MinReplicas)
	}
	// Errors name the v2 fields, as upstream's (it validates the internal form).
	errs := r.Hooks.Validate(t.Context(), hpa)
	if len(errs) != 1 || errs[0].Field != "spec.metrics[0].resource.target.averageUtilization" {
		t.Errorf("errors %v, want one for spec.metrics[0].resource.target.averageUtilization", errs)
	}

	// An update that changes only a v2-only metric bumps the generation.
	old, _ := FromV2(fullV2())
	old.Generation = 4
	upd := old.DeepCopy()
	upd.Annotations[MetricSpecsAnnotation] = `[{"type":"Pods","pods":{"metricName":"qps","targetAverageValue":"20"}}]`
	r.Hooks.PrepareForUpdate(t.Context(), upd, old)
	if upd.Generation != 5 {
		t.Errorf("generation %d, want 5", upd.Generation)
	}
	same := old.DeepCopy()
	r.Hooks.PrepareForUpdate(t.Context(), same, old)
	if same.Generation != 4 {
		t.Errorf("generation of an unchanged object %d, want 4", same.Generation)
	}

	row, err := r.Table.Row(old)
	if err != nil {
		t.Fatal(err)
	}
	if row[1] != "Deployment/php-apache" || row[2] == "<unknown>" {
		t.Errorf("row %v", row)
	}
}
