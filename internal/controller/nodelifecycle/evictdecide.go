package nodelifecycle

import (
	"math"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
)

// noExecuteTaints are the taints that evict.
func noExecuteTaints(taints []corev1.Taint) []corev1.Taint {
	var out []corev1.Taint
	for _, t := range taints {
		if t.Effect == corev1.TaintEffectNoExecute {
			out = append(out, t)
		}
	}
	return out
}

// matchingTolerations reports whether every taint is tolerated, and the
// first toleration matching each.
func matchingTolerations(taints []corev1.Taint, tolerations []corev1.Toleration) (bool, []corev1.Toleration) {
	var used []corev1.Toleration
	for i := range taints {
		found := false
		for j := range tolerations {
			if tolerations[j].ToleratesTaint(logr.Discard(), &taints[i], false) {
				used = append(used, tolerations[j])
				found = true
				break
			}
		}
		if !found {
			return false, nil
		}
	}
	return true, used
}

// minTolerationTime is the shortest tolerationSeconds of the used
// tolerations (zero or less means at once); -1 means forever (none of
// them is bounded).
func minTolerationTime(used []corev1.Toleration) time.Duration {
	if len(used) == 0 {
		return 0
	}
	min := int64(math.MaxInt64)
	for _, t := range used {
		if t.TolerationSeconds == nil {
			continue
		}
		if *t.TolerationSeconds <= 0 {
			return 0
		}
		if *t.TolerationSeconds < min {
			min = *t.TolerationSeconds
		}
	}
	if min == math.MaxInt64 {
		return -1
	}
	return time.Duration(min) * time.Second
}

// evictionTime decides when a pod on a node with these taints goes:
// evict false means it stays (no NoExecute taint, or all tolerated
// forever); otherwise at is when to delete it: now for an untolerated
// taint, else the tolerated period counted from when the earliest
// NoExecute taint was added (firstSeen for taints without TimeAdded).
func evictionTime(tolerations []corev1.Toleration, taints []corev1.Taint, firstSeen time.Time) (at time.Time, evict bool) {
	taints = noExecuteTaints(taints)
	if len(taints) == 0 {
		return time.Time{}, false
	}
	all, used := matchingTolerations(taints, tolerations)
	if !all {
		return time.Time{}, true
	}
	d := minTolerationTime(used)
	if d < 0 {
		return time.Time{}, false
	}
	start := firstSeen
	for _, t := range taints {
		if t.TimeAdded != nil && (start.IsZero() || t.TimeAdded.Time.Before(start)) {
			start = t.TimeAdded.Time
		}
	}
	return start.Add(d), true
}
