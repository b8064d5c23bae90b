package replicaset

import (
	"math"
	"sort"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/kemudi/kemudi/internal/controller"
)

// podDeletionCostAnnotation lets users rank the pods of a set for
// scale-down: lower cost goes first.
const podDeletionCostAnnotation = "controller.kubernetes.io/pod-deletion-cost"

// podsToDelete picks the n pods to delete from a set's active pods, as
// upstream ranks them: unscheduled before scheduled; Pending, then
// Unknown, then Running; not ready before ready; lower pod-deletion-cost
// first; pods doubled up on a node with more of the related pods (the
// pods of the sets with the same owner) first; ready for less time
// first; more restarts first; newer first. Ready and creation times are
// compared on a logarithmic scale from now, so pods of about the same age
// count as the same and the order among them is random (by UID) rather
// than always the newest.
func podsToDelete(active, related []*corev1.Pod, n int, now time.Time) []*corev1.Pod {
	if n >= len(active) {
		return active
	}
	onNode := map[string]int{}
	for _, p := range related {
		if controller.IsPodActive(p) {
			onNode[p.Spec.NodeName]++
		}
	}
	ranked := make([]rankedPod, len(active))
	for i, p := range active {
		ranked[i] = rankedPod{pod: p, rank: onNode[p.Spec.NodeName], cost: deletionCost(p)}
	}
	sort.SliceStable(ranked, func(i, j int) bool { return lessForDeletion(ranked[i], ranked[j], now) })
	out := make([]*corev1.Pod, n)
	for i := range out {
		out[i] = ranked[i].pod
	}
	return out
}

type rankedPod struct {
	pod  *corev1.Pod
	rank int
	cost int32
}

func lessForDeletion(a, b rankedPod, now time.Time) bool {
	pa, pb := a.pod, b.pod
	if pa.Spec.NodeName != pb.Spec.NodeName && (pa.Spec.NodeName == "" || pb.Spec.NodeName == "") {
		return pa.Spec.NodeName == ""
	}
	if oa, ob := controller.PodPhaseOrdinal(pa.Status.Phase), controller.PodPhaseOrdinal(pb.Status.Phase); oa != ob {
		return oa < ob
	}
	ra, rb := controller.IsPodReady(pa), controller.IsPodReady(pb)
	if ra != rb {
		return !ra
	}
	if a.cost != b.cost {
		return a.cost < b.cost
	}
	if a.rank != b.rank {
		return a.rank > b.rank
	}
	if ra && rb {
		ta, tb := controller.PodReadyCondition(pa).LastTransitionTime.Time, controller.PodReadyCondition(pb).LastTransitionTime.Time
		if !ta.Equal(tb) {
			if ta.IsZero() || tb.IsZero() {
				return controller.AfterOrZero(ta, tb)
			}
			if d := logRankDiff(ta, tb, now); d != 0 {
				return d < 0
			}
			return pa.UID < pb.UID
		}
	}
	if r := controller.ComparePodRestarts(pa, pb); r != 0 {
		return r > 0
	}
	ca, cb := pa.CreationTimestamp.Time, pb.CreationTimestamp.Time
	if !ca.Equal(cb) {
		if ca.IsZero() || cb.IsZero() {
			return controller.AfterOrZero(ca, cb)
		}
		if d := logRankDiff(ca, cb, now); d != 0 {
			return d < 0
		}
		return pa.UID < pb.UID
	}
	return false
}

// logRankDiff compares the base-2 logarithms of the ages of a and b at
// now: negative when a is younger by that measure.
func logRankDiff(a, b, now time.Time) int64 {
	rank := func(t time.Time) int64 {
		if d := now.Sub(t); d > 0 {
			return int64(math.Log2(float64(d)))
		}
		return -1
	}
	return rank(a) - rank(b)
}

// deletionCost reads the pod-deletion-cost annotation (0 when absent or
// not an int32, as upstream).
func deletionCost(p *corev1.Pod) int32 {
	v, ok := p.Annotations[podDeletionCostAnnotation]
	if !ok {
		return 0
	}
	n, err := strconv.ParseInt(v, 10, 32)
	if err != nil {
		return 0
	}
	return int32(n)
}
