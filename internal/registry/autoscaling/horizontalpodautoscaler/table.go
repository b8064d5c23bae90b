package horizontalpodautoscaler

import (
	"fmt"
	"strings"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/kemudi/kemudi/internal/registry"
	"github.com/kemudi/kemudi/internal/registry/printers"
)

// table prints NAME REFERENCE TARGETS MINPODS MAXPODS REPLICAS AGE, as
// upstream does.
func table() *registry.Table {
	spec, status := autoscalingv2.HorizontalPodAutoscalerSpec{}.SwaggerDoc(), autoscalingv2.HorizontalPodAutoscalerStatus{}.SwaggerDoc()
	return &registry.Table{
		Columns: []metav1.TableColumnDefinition{
			printers.NameColumn,
			{Name: "Reference", Type: "string", Description: spec["scaleTargetRef"]},
			{Name: "Targets", Type: "string", Description: spec["metrics"]},
			{Name: "MinPods", Type: "string", Description: spec["minReplicas"]},
			{Name: "MaxPods", Type: "string", Description: spec["maxReplicas"]},
			{Name: "Replicas", Type: "string", Description: status["currentReplicas"]},
			printers.AgeColumn,
		},
		Row: func(obj runtime.Object) ([]interface{}, error) {
			hpa := obj.(*autoscalingv2.HorizontalPodAutoscaler)
			minPods := "<unset>"
			if hpa.Spec.MinReplicas != nil {
				minPods = fmt.Sprintf("%d", *hpa.Spec.MinReplicas)
			}
			return []interface{}{
				hpa.Name,
				hpa.Spec.ScaleTargetRef.Kind + "/" + hpa.Spec.ScaleTargetRef.Name,
				targetsCell(hpa.Spec.Metrics, hpa.Status.CurrentMetrics),
				minPods,
				int64(hpa.Spec.MaxReplicas),
				int64(hpa.Status.CurrentReplicas),
				printers.Age(hpa.CreationTimestamp),
			}, nil
		},
	}
}

// maxTargets is how many metrics the TARGETS cell shows before "+ N more...".
const maxTargets = 2

// targetsCell shows each metric as current/target, e.g.
// "cpu: 42%/80%, memory: <unknown>/500Mi", the current value taken from
// the status entry at the same position.
func targetsCell(specs []autoscalingv2.MetricSpec, statuses []autoscalingv2.MetricStatus) string {
	if len(specs) == 0 {
		return "<none>"
	}
	cells := make([]string, 0, len(specs))
	for i := range specs {
		var st *autoscalingv2.MetricStatus
		if i < len(statuses) {
			st = &statuses[i]
		}
		cells = append(cells, metricCell(&specs[i], st))
	}
	if len(cells) > maxTargets {
		return fmt.Sprintf("%s + %d more...", strings.Join(cells[:maxTargets], ", "), len(cells)-maxTargets)
	}
	return strings.Join(cells, ", ")
}

func metricCell(spec *autoscalingv2.MetricSpec, st *autoscalingv2.MetricStatus) string {
	const unknown = "<unknown>"
	switch {
	case spec.Type == autoscalingv2.ExternalMetricSourceType && spec.External != nil:
		t := spec.External.Target
		if t.AverageValue != nil {
			current := unknown
			if st != nil && st.External != nil && st.External.Current.AverageValue != nil {
				current = st.External.Current.AverageValue.String()
			}
			return fmt.Sprintf("%s/%s (avg)", current, t.AverageValue.String())
		}
		current := unknown
		if st != nil && st.External != nil {
			current = st.External.Current.Value.String()
		}
		return fmt.Sprintf("%s/%s", current, t.Value.String())
	case spec.Type == autoscalingv2.PodsMetricSourceType && spec.Pods != nil:
		current := unknown
		if st != nil && st.Pods != nil {
			current = st.Pods.Current.AverageValue.String()
		}
		return fmt.Sprintf("%s/%s", current, spec.Pods.Target.AverageValue.String())
	case spec.Type == autoscalingv2.ObjectMetricSourceType && spec.Object != nil:
		t := spec.Object.Target
		if t.AverageValue != nil {
			current := unknown
			if st != nil && st.Object != nil && st.Object.Current.AverageValue != nil {
				current = st.Object.Current.AverageValue.String()
			}
			return fmt.Sprintf("%s/%s (avg)", current, t.AverageValue.String())
		}
		current := unknown
		if st != nil && st.Object != nil {
			current = st.Object.Current.Value.String()
		}
		return fmt.Sprintf("%s/%s", current, t.Value.String())
	case spec.Type == autoscalingv2.ResourceMetricSourceType && spec.Resource != nil:
		var current *autoscalingv2.MetricValueStatus
		if st != nil && st.Resource != nil {
			current = &st.Resource.Current
		}
		return resourceCell(string(spec.Resource.Name), &spec.Resource.Target, current)
	case spec.Type == autoscalingv2.ContainerResourceMetricSourceType && spec.ContainerResource != nil:
		var current *autoscalingv2.MetricValueStatus
		if st != nil && st.ContainerResource != nil {
			current = &st.ContainerResource.Current
		}
		return resourceCell(string(spec.ContainerResource.Name), &spec.ContainerResource.Target, current)
	}
	return "<unknown type>"
}

// resourceCell shows a resource metric as "cpu: 42%/80%" (utilization) or
// "memory: 120Mi/500Mi" (average value).
func resourceCell(name string, target *autoscalingv2.MetricTarget, current *autoscalingv2.MetricValueStatus) string {
	if target.AverageValue != nil {
		cur := "<unknown>"
		if current != nil {
			cur = current.AverageValue.String()
		}
		return fmt.Sprintf("%s: %s/%s", name, cur, target.AverageValue.String())
	}
	cur := "<unknown>"
	if current != nil && current.AverageUtilization != nil {
		cur = fmt.Sprintf("%d%%", *current.AverageUtilization)
	}
	tgt := "<auto>"
	if target.AverageUtilization != nil {
		tgt = fmt.Sprintf("%d%%", *target.AverageUtilization)
	}
	return fmt.Sprintf("%s: %s/%s", name, cur, tgt)
}
