package horizontalpodautoscaler

import (
	"testing"
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	. "github.com/kemudi/kemudi/internal/registry/apps/workload/workloadtest"
)

// newHPA is `kubectl autoscale deployment php-apache --cpu-percent=50
// --min=1 --max=10`, defaulted.
func newHPA() *autoscalingv2.HorizontalPodAutoscaler {
	hpa := &autoscalingv2.HorizontalPodAutoscaler{
		ObjectMeta: metav1.ObjectMeta{Name: "php-apache", Namespace: "default"},
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "php-apache"},
			MinReplicas:    new(int32(1)),
			MaxReplicas:    10,
			Metrics: []autoscalingv2.MetricSpec{{
				Type: autoscalingv2.ResourceMetricSourceType,
				Resource: &autoscalingv2.ResourceMetricSource{Name: corev1.ResourceCPU, Target: autoscalingv2.MetricTarget{
					Type: autoscalingv2.UtilizationMetricType, AverageUtilization: new(int32(50)),
				}},
			}},
		},
	}
	Default(hpa)
	return hpa
}

func qty(s string) *resource.Quantity { return new(resource.MustParse(s)) }

func TestDefault(t *testing.T) {
	hpa := &autoscalingv2.HorizontalPodAutoscaler{Spec: autoscalingv2.HorizontalPodAutoscalerSpec{MaxReplicas: 3}}
	Default(hpa)
	if *hpa.Spec.MinReplicas != 1 {
		t.Errorf("minReplicas %d", *hpa.Spec.MinReplicas)
	}
	m := hpa.Spec.Metrics
	if len(m) != 1 || m[0].Resource == nil || m[0].Resource.Name != corev1.ResourceCPU || *m[0].Resource.Target.AverageUtilization != 80 {
		t.Errorf("default metrics %+v", m)
	}
	if hpa.Spec.Behavior != nil {
		t.Errorf("behavior defaulted without being set")
	}

	withBehavior := newHPA()
	withBehavior.Spec.Behavior = &autoscalingv2.HorizontalPodAutoscalerBehavior{
		ScaleDown: &autoscalingv2.HPAScalingRules{StabilizationWindowSeconds: new(int32(60))},
	}
	Default(withBehavior)
	up, down := withBehavior.Spec.Behavior.ScaleUp, withBehavior.Spec.Behavior.ScaleDown
	if *up.StabilizationWindowSeconds != 0 || *up.SelectPolicy != autoscalingv2.MaxChangePolicySelect || len(up.Policies) != 2 ||
		up.Policies[0] != (autoscalingv2.HPAScalingPolicy{Type: autoscalingv2.PodsScalingPolicy, Value: 4, PeriodSeconds: 15}) {
		t.Errorf("scaleUp %+v", up)
	}
	if *down.StabilizationWindowSeconds != 60 || *down.SelectPolicy != autoscalingv2.MaxChangePolicySelect ||
		len(down.Policies) != 1 || down.Policies[0].Value != 100 {
		t.Errorf("scaleDown %+v", down)
	}
	Expect(t, Validate(withBehavior))
}

func TestValidate(t *testing.T) {
	type H = autoscalingv2.HorizontalPodAutoscaler
	external := autoscalingv2.MetricSpec{Type: autoscalingv2.ExternalMetricSourceType, External: &autoscalingv2.ExternalMetricSource{
		Metric: autoscalingv2.MetricIdentifier{Name: "queue_messages_ready"},
		Target: autoscalingv2.MetricTarget{Type: autoscalingv2.AverageValueMetricType, AverageValue: qty("30")},
	}}
	tests := []struct {
		name   string
		mutate func(h *H)
		want   []Err
	}{
		{"valid", func(h *H) {}, nil},
		{"replication controller", func(h *H) {
			h.Spec.ScaleTargetRef = autoscalingv2.CrossVersionObjectReference{APIVersion: "v1", Kind: "ReplicationController", Name: "rc"}
		}, nil},
		{"scale to zero on an external metric", func(h *H) {
			h.Spec.MinReplicas = new(int32(0))
			h.Spec.Metrics = []autoscalingv2.MetricSpec{external}
		}, nil},
		{"scale to zero on cpu", func(h *H) { h.Spec.MinReplicas = new(int32(0)) }, []Err{Forbidden("spec.metrics")}},
		{"negative min", func(h *H) { h.Spec.MinReplicas = new(int32(-1)) }, []Err{Invalid("spec.minReplicas")}},
		{"no max", func(h *H) { h.Spec.MaxReplicas = 0 }, []Err{Required("spec.maxReplicas"), Invalid("spec.maxReplicas")}},
		{"negative max", func(h *H) { h.Spec.MaxReplicas = -1 }, []Err{Invalid("spec.maxReplicas"), Invalid("spec.maxReplicas")}},
		{"max below min", func(h *H) { h.Spec.MinReplicas = new(int32(5)); h.Spec.MaxReplicas = 2 }, []Err{Invalid("spec.maxReplicas")}},
		{"empty target", func(h *H) { h.Spec.ScaleTargetRef = autoscalingv2.CrossVersionObjectReference{} },
			[]Err{Required("spec.scaleTargetRef.kind"), Required("spec.scaleTargetRef.name"), Invalid("spec.scaleTargetRef.apiVersion")}},
		{"core group deployment", func(h *H) { h.Spec.ScaleTargetRef.APIVersion = "v1" }, []Err{Invalid("spec.scaleTargetRef.apiVersion")}},
		{"bad target name", func(h *H) { h.Spec.ScaleTargetRef.Name = "a/b" }, []Err{Invalid("spec.scaleTargetRef.name")}},
		{"bad metric type", func(h *H) { h.Spec.Metrics[0].Type = "Custom" },
			[]Err{NotSupported("spec.metrics[0].type"), NotSupported("spec.metrics[0].type")}},
		{"missing source", func(h *H) { h.Spec.Metrics[0].Type = autoscalingv2.PodsMetricSourceType },
			[]Err{Required("spec.metrics[0].pods")}},
		{"two sources", func(h *H) { h.Spec.Metrics[0].External = external.External },
			[]Err{Forbidden("spec.metrics[0].external")}},
		{"utilization and value", func(h *H) { h.Spec.Metrics[0].Resource.Target.AverageValue = qty("200m") },
			[]Err{Forbidden("spec.metrics[0].resource.target.averageValue")}},
		{"zero utilization, bad target type", func(h *H) {
			h.Spec.Metrics[0].Resource.Target = autoscalingv2.MetricTarget{Type: "Percent", AverageUtilization: new(int32(0))}
		}, []Err{Invalid("spec.metrics[0].resource.target.type"), Invalid("spec.metrics[0].resource.target.averageUtilization")}},
		{"no resource name", func(h *H) { h.Spec.Metrics[0].Resource.Name = "" }, []Err{Required("spec.metrics[0].resource.name")}},
		{"pods metric", func(h *H) {
			h.Spec.Metrics = []autoscalingv2.MetricSpec{{Type: autoscalingv2.PodsMetricSourceType, Pods: &autoscalingv2.PodsMetricSource{
				Metric: autoscalingv2.MetricIdentifier{Name: "packets-per-second"},
				Target: autoscalingv2.MetricTarget{Type: autoscalingv2.AverageValueMetricType, AverageValue: qty("-1k")},
			}}}
		}, []Err{Invalid("spec.metrics[0].pods.target.averageValue")}},
		{"object metric", func(h *H) {
			h.Spec.Metrics = []autoscalingv2.MetricSpec{{Type: autoscalingv2.ObjectMetricSourceType, Object: &autoscalingv2.ObjectMetricSource{
				DescribedObject: autoscalingv2.CrossVersionObjectReference{APIVersion: "v1", Kind: "Service", Name: "web"},
				Metric:          autoscalingv2.MetricIdentifier{Name: ""},
				Target:          autoscalingv2.MetricTarget{Type: autoscalingv2.ValueMetricType},
			}}}
		}, []Err{Required("spec.metrics[0].object.metric.name"), Required("spec.metrics[0].object.target.averageValue")}},
		{"container resource", func(h *H) {
			h.Spec.Metrics = []autoscalingv2.MetricSpec{{Type: autoscalingv2.ContainerResourceMetricSourceType, ContainerResource: &autoscalingv2.ContainerResourceMetricSource{
				Name: "pods", Container: "App",
				Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: new(int32(60))},
			}}}
		}, []Err{Invalid("spec.metrics[0].containerResource.name"), Invalid("spec.metrics[0].containerResource.container")}},
		{"bad behavior", func(h *H) {
			h.Spec.Behavior = &autoscalingv2.HorizontalPodAutoscalerBehavior{
				ScaleUp: &autoscalingv2.HPAScalingRules{
					StabilizationWindowSeconds: new(int32(3601)),
					SelectPolicy:               new(autoscalingv2.ScalingPolicySelect("Avg")),
					Policies:                   []autoscalingv2.HPAScalingPolicy{{Type: "Nodes", Value: 0, PeriodSeconds: 1801}},
					Tolerance:                  qty("-0.1"),
				},
				ScaleDown: &autoscalingv2.HPAScalingRules{Policies: []autoscalingv2.HPAScalingPolicy{}},
			}
		}, []Err{
			Invalid("spec.behavior.scaleUp.stabilizationWindowSeconds"), NotSupported("spec.behavior.scaleUp.selectPolicy"),
			NotSupported("spec.behavior.scaleUp.policies[0].type"), Invalid("spec.behavior.scaleUp.policies[0].value"),
			Invalid("spec.behavior.scaleUp.policies[0].periodSeconds"), Invalid("spec.behavior.scaleUp.tolerance"),
			Required("spec.behavior.scaleDown.policies"),
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHPA()
			tt.mutate(h)
			Expect(t, Validate(h), tt.want...)
		})
	}
}

func TestValidateUpdate(t *testing.T) {
	// A target stored with a since-forbidden apiVersion may stay.
	old := newHPA()
	old.Spec.ScaleTargetRef.APIVersion = "extensions/v1beta1/x"
	upd := old.DeepCopy()
	upd.Spec.MaxReplicas = 20
	Expect(t, ValidateUpdate(upd, old))
	retarget := old.DeepCopy()
	retarget.Spec.ScaleTargetRef.Kind = "StatefulSet"
	Expect(t, ValidateUpdate(retarget, old), Invalid("spec.scaleTargetRef.apiVersion"))
}

func TestStatus(t *testing.T) {
	Expect(t, ValidateStatus(&autoscalingv2.HorizontalPodAutoscalerStatus{CurrentReplicas: 2, DesiredReplicas: 3}, nil))
	Expect(t, ValidateStatus(&autoscalingv2.HorizontalPodAutoscalerStatus{CurrentReplicas: -1, Conditions: []autoscalingv2.HorizontalPodAutoscalerCondition{
		{Type: autoscalingv2.AbleToScale, ObservedGeneration: new(int64(-1))}}}, nil),
		Invalid("currentReplicas"), Invalid("conditions[0].observedGeneration"))
}

func TestTable(t *testing.T) {
	hpa := newHPA()
	hpa.CreationTimestamp = metav1.NewTime(time.Now().Add(-20 * time.Minute))
	hpa.Status = autoscalingv2.HorizontalPodAutoscalerStatus{CurrentReplicas: 4}
	row, err := Resource().Table.Row(hpa)
	if err != nil {
		t.Fatal(err)
	}
	want := []interface{}{"php-apache", "Deployment/php-apache", "cpu: <unknown>/50%", "1", int64(10), int64(4), "20m"}
	for i := range want {
		if row[i] != want[i] {
			t.Errorf("cell %d = %#v, want %#v", i, row[i], want[i])
		}
	}

	specs := []autoscalingv2.MetricSpec{
		hpa.Spec.Metrics[0],
		{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricSource{Name: corev1.ResourceMemory,
			Target: autoscalingv2.MetricTarget{Type: autoscalingv2.AverageValueMetricType, AverageValue: qty("500Mi")}}},
		{Type: autoscalingv2.ExternalMetricSourceType, External: &autoscalingv2.ExternalMetricSource{
			Target: autoscalingv2.MetricTarget{Type: autoscalingv2.AverageValueMetricType, AverageValue: qty("30")}}},
	}
	statuses := []autoscalingv2.MetricStatus{
		{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricStatus{Name: corev1.ResourceCPU,
			Current: autoscalingv2.MetricValueStatus{AverageUtilization: new(int32(42))}}},
		{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricStatus{Name: corev1.ResourceMemory,
			Current: autoscalingv2.MetricValueStatus{AverageValue: qty("120Mi")}}},
	}
	if got := targetsCell(specs[:2], statuses); got != "cpu: 42%/50%, memory: 120Mi/500Mi" {
		t.Errorf("targets %q", got)
	}
	if got := targetsCell(specs, statuses); got != "cpu: 42%/50%, memory: 120Mi/500Mi + 1 more..." {
		t.Errorf("targets %q", got)
	}
	if got := targetsCell(specs[2:], nil); got != "<unknown>/30 (avg)" {
		t.Errorf("targets %q", got)
	}
	if got := targetsCell(nil, nil); got != "<none>" {
		t.Errorf("targets %q", got)
	}
}
