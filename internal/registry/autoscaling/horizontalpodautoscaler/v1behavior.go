package horizontalpodautoscaler

import (
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	"k8s.io/apimachinery/pkg/api/resource"
)

// behaviorAnnotation is the shape of the behavior annotation of an
// autoscaling/v1 object. Upstream marshals its internal type there, which
// has no JSON tags: the keys are Go field names ("ScaleUp",
// "StabilizationWindowSeconds"), nils are nulls. These types keep that
// shape so that upstream's clients and ours read each other's
// annotations (reading ignores the keys' case).
type behaviorAnnotation struct {
	ScaleUp   *scalingRulesAnnotation
	ScaleDown *scalingRulesAnnotation
}

type scalingRulesAnnotation struct {
	StabilizationWindowSeconds *int32
	SelectPolicy               *autoscalingv2.ScalingPolicySelect
	Policies                   []scalingPolicyAnnotation
	Tolerance                  *resource.Quantity
}

type scalingPolicyAnnotation struct {
	Type          autoscalingv2.HPAScalingPolicyType
	Value         int32
	PeriodSeconds int32
}

func behaviorAnnotationOf(b *autoscalingv2.HorizontalPodAutoscalerBehavior) behaviorAnnotation {
	return behaviorAnnotation{ScaleUp: rulesAnnotationOf(b.ScaleUp), ScaleDown: rulesAnnotationOf(b.ScaleDown)}
}

func rulesAnnotationOf(r *autoscalingv2.HPAScalingRules) *scalingRulesAnnotation {
	if r == nil {
		return nil
	}
	out := &scalingRulesAnnotation{StabilizationWindowSeconds: r.StabilizationWindowSeconds, SelectPolicy: r.SelectPolicy, Tolerance: r.Tolerance}
	if r.Policies != nil {
		out.Policies = make([]scalingPolicyAnnotation, len(r.Policies))
		for i, p := range r.Policies {
			out.Policies[i] = scalingPolicyAnnotation(p)
		}
	}
	return out
}

func (b behaviorAnnotation) toV2() *autoscalingv2.HorizontalPodAutoscalerBehavior {
	return &autoscalingv2.HorizontalPodAutoscalerBehavior{ScaleUp: b.ScaleUp.toV2(), ScaleDown: b.ScaleDown.toV2()}
}

func (r *scalingRulesAnnotation) toV2() *autoscalingv2.HPAScalingRules {
	if r == nil {
		return nil
	}
	out := &autoscalingv2.HPAScalingRules{StabilizationWindowSeconds: r.StabilizationWindowSeconds, SelectPolicy: r.SelectPolicy, Tolerance: r.Tolerance}
	if r.Policies != nil {
		out.Policies = make([]autoscalingv2.HPAScalingPolicy, len(r.Policies))
		for i, p := range r.Policies {
			out.Policies[i] = autoscalingv2.HPAScalingPolicy(p)
		}
	}
	return out
}
