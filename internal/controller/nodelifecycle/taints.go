package nodelifecycle

import (
	corev1 "k8s.io/api/core/v1"
)

var (
	unreachableTaint = corev1.Taint{Key: corev1.TaintNodeUnreachable, Effect: corev1.TaintEffectNoExecute}
	notReadyTaint    = corev1.Taint{Key: corev1.TaintNodeNotReady, Effect: corev1.TaintEffectNoExecute}
)

// conditionTaintKeys says which condition status calls for which
// NoSchedule taint (upstream's TaintNodesByCondition).
var conditionTaintKeys = map[corev1.NodeConditionType]map[corev1.ConditionStatus]string{
	corev1.NodeReady: {
		corev1.ConditionFalse:   corev1.TaintNodeNotReady,
		corev1.ConditionUnknown: corev1.TaintNodeUnreachable,
	},
	corev1.NodeMemoryPressure:     {corev1.ConditionTrue: corev1.TaintNodeMemoryPressure},
	corev1.NodeDiskPressure:       {corev1.ConditionTrue: corev1.TaintNodeDiskPressure},
	corev1.NodeNetworkUnavailable: {corev1.ConditionTrue: corev1.TaintNodeNetworkUnavailable},
	corev1.NodePIDPressure:        {corev1.ConditionTrue: corev1.TaintNodePIDPressure},
}

// conditionTaintKey reports whether key is a taint this controller derives
// from conditions.
func conditionTaintKey(key string) bool {
	if key == corev1.TaintNodeUnschedulable {
		return true
	}
	for _, m := range conditionTaintKeys {
		for _, k := range m {
			if k == key {
				return true
			}
		}
	}
	return false
}

// noScheduleTaints returns the NoSchedule taints a node's conditions and
// spec.unschedulable call for.
func noScheduleTaints(node *corev1.Node) []corev1.Taint {
	var out []corev1.Taint
	for _, c := range node.Status.Conditions {
		if key, ok := conditionTaintKeys[c.Type][c.Status]; ok {
			out = append(out, corev1.Taint{Key: key, Effect: corev1.TaintEffectNoSchedule})
		}
	}
	if node.Spec.Unschedulable {
		out = append(out, corev1.Taint{Key: corev1.TaintNodeUnschedulable, Effect: corev1.TaintEffectNoSchedule})
	}
	return out
}

// reconcileNoSchedule returns the node's taints with the condition
// NoSchedule taints made to match want (other taints are kept as they
// are), and whether anything changed.
func reconcileNoSchedule(taints, want []corev1.Taint) ([]corev1.Taint, bool) {
	var out []corev1.Taint
	changed := false
	for _, t := range taints {
		if t.Effect == corev1.TaintEffectNoSchedule && conditionTaintKey(t.Key) && !hasTaint(want, t) {
			changed = true
			continue
		}
		out = append(out, t)
	}
	for _, w := range want {
		if !hasTaint(out, w) {
			out = append(out, w)
			changed = true
		}
	}
	return out, changed
}

// noExecuteChange is what the node lifecycle controller does to a node's
// NoExecute taints for a Ready condition status: add (rate-limited) and
// remove (at once).
func noExecuteChange(ready corev1.ConditionStatus) (add *corev1.Taint, remove []corev1.Taint) {
	switch ready {
	case corev1.ConditionFalse:
		t := notReadyTaint
		return &t, []corev1.Taint{unreachableTaint}
	case corev1.ConditionUnknown:
		t := unreachableTaint
		return &t, []corev1.Taint{notReadyTaint}
	default:
		return nil, []corev1.Taint{unreachableTaint, notReadyTaint}
	}
}

// swapTaints adds add (when missing; stamped with now's TimeAdded by the
// caller) and removes remove, returning whether anything changed.
func swapTaints(taints []corev1.Taint, add *corev1.Taint, remove []corev1.Taint) ([]corev1.Taint, bool) {
	var out []corev1.Taint
	changed := false
	for _, t := range taints {
		if hasTaint(remove, t) {
			changed = true
			continue
		}
		out = append(out, t)
	}
	if add != nil && !hasTaint(out, *add) {
		out = append(out, *add)
		changed = true
	}
	return out, changed
}

// hasTaint matches by key and effect, as upstream's MatchTaint does.
func hasTaint(taints []corev1.Taint, t corev1.Taint) bool {
	for _, x := range taints {
		if x.Key == t.Key && x.Effect == t.Effect {
			return true
		}
	}
	return false
}
