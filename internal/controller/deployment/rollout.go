package deployment

import (
	"fmt"
	"math"
	"sort"

	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// resolveFenceposts turns maxSurge and maxUnavailable into pod counts for
// desired replicas: surge rounds up, unavailable down, and when both come
// to zero one pod may be unavailable (else nothing could ever move).
func resolveFenceposts(surgeV, unavailableV *intstr.IntOrString, desired int32) (surge, unavailable int32, err error) {
	s, err := intstr.GetScaledValueFromIntOrPercent(intstr.ValueOrDefault(surgeV, intstr.FromInt32(0)), int(desired), true)
	if err != nil {
		return 0, 0, err
	}
	u, err := intstr.GetScaledValueFromIntOrPercent(intstr.ValueOrDefault(unavailableV, intstr.FromInt32(0)), int(desired), false)
	if err != nil {
		return 0, 0, err
	}
	if s == 0 && u == 0 {
		u = 1
	}
	return int32(s), int32(u), nil
}

func isRollingUpdate(d *appsv1.Deployment) bool {
	return d.Spec.Strategy.Type == appsv1.RollingUpdateDeploymentStrategyType
}

func rollingParams(d *appsv1.Deployment) (surge, unavailable *intstr.IntOrString) {
	if ru := d.Spec.Strategy.RollingUpdate; ru != nil {
		return ru.MaxSurge, ru.MaxUnavailable
	}
	return nil, nil
}

// maxSurge is how many pods a rolling Deployment may have beyond its
// replicas (0 for Recreate).
func maxSurge(d *appsv1.Deployment) int32 {
	if !isRollingUpdate(d) {
		return 0
	}
	s, u := rollingParams(d)
	surge, _, _ := resolveFenceposts(s, u, *d.Spec.Replicas)
	return surge
}

// maxUnavailable is how many of its replicas a rolling Deployment may
// lack (0 for Recreate or no replicas), at most its replicas.
func maxUnavailable(d *appsv1.Deployment) int32 {
	if !isRollingUpdate(d) || *d.Spec.Replicas == 0 {
		return 0
	}
	s, u := rollingParams(d)
	_, unavailable, _ := resolveFenceposts(s, u, *d.Spec.Replicas)
	return min(unavailable, *d.Spec.Replicas)
}

// newRSNewReplicas is the size the new set may grow to now: for a
// rolling update as far as maxSurge allows over all sets, never past the
// Deployment's replicas; for Recreate the replicas at once.
//
// Upstream counts the sets' spec.replicas only, so the new set may grow
// as soon as an old set is told to shrink, before its pods are gone, and
// for a moment more than replicas+maxSurge pods exist. Here a set counts
// for the larger of what it wants and the pods it reports, so the pod
// count itself stays within the surge; the new set grows one status
// update of the old set later.
func newRSNewReplicas(d *appsv1.Deployment, all []*appsv1.ReplicaSet, newRS *appsv1.ReplicaSet) (int32, error) {
	switch d.Spec.Strategy.Type {
	case appsv1.RollingUpdateDeploymentStrategyType:
		s, _ := rollingParams(d)
		surge, err := intstr.GetScaledValueFromIntOrPercent(intstr.ValueOrDefault(s, intstr.FromInt32(0)), int(*d.Spec.Replicas), true)
		if err != nil {
			return 0, err
		}
		current := podsOf(all)
		maxTotal := *d.Spec.Replicas + int32(surge)
		if current >= maxTotal {
			return *newRS.Spec.Replicas, nil
		}
		up := min(maxTotal-current, *d.Spec.Replicas-*newRS.Spec.Replicas)
		return *newRS.Spec.Replicas + up, nil
	case appsv1.RecreateDeploymentStrategyType:
		return *d.Spec.Replicas, nil
	}
	return 0, fmt.Errorf("deployment strategy %q isn't supported", d.Spec.Strategy.Type)
}

// isSaturated says whether the new set has all the Deployment's
// replicas, believes so (desired-replicas), and all are available.
func isSaturated(d *appsv1.Deployment, rs *appsv1.ReplicaSet) bool {
	if rs == nil {
		return false
	}
	desired, ok := nonNegativeInt32Annotation(rs, DesiredReplicasAnnotation)
	return ok && *rs.Spec.Replicas == *d.Spec.Replicas && desired == *d.Spec.Replicas &&
		rs.Status.AvailableReplicas == *d.Spec.Replicas
}

func replicasOf(sets []*appsv1.ReplicaSet) int32 {
	var n int32
	for _, rs := range sets {
		if rs != nil {
			n += *rs.Spec.Replicas
		}
	}
	return n
}

// podsOf sums, per set, the larger of its replicas and the pods it
// reports.
func podsOf(sets []*appsv1.ReplicaSet) int32 {
	var n int32
	for _, rs := range sets {
		if rs != nil {
			n += max(*rs.Spec.Replicas, rs.Status.Replicas)
		}
	}
	return n
}

func statusReplicasOf(sets []*appsv1.ReplicaSet) int32 {
	var n int32
	for _, rs := range sets {
		if rs != nil {
			n += rs.Status.Replicas
		}
	}
	return n
}

func readyOf(sets []*appsv1.ReplicaSet) int32 {
	var n int32
	for _, rs := range sets {
		if rs != nil {
			n += rs.Status.ReadyReplicas
		}
	}
	return n
}

func availableOf(sets []*appsv1.ReplicaSet) int32 {
	var n int32
	for _, rs := range sets {
		if rs != nil {
			n += rs.Status.AvailableReplicas
		}
	}
	return n
}

// terminatingOf sums terminatingReplicas; nil when a set the controller
// has synced does not report it.
func terminatingOf(sets []*appsv1.ReplicaSet) *int32 {
	var n int32
	for _, rs := range sets {
		switch {
		case rs == nil:
		case rs.Status.ObservedGeneration == 0 && rs.Status.TerminatingReplicas == nil:
			// never synced: counts nothing yet
		case rs.Status.TerminatingReplicas == nil:
			return nil
		default:
			n += *rs.Status.TerminatingReplicas
		}
	}
	return &n
}

// activeSets are the sets that have (or ought to have) pods.
func activeSets(sets []*appsv1.ReplicaSet) []*appsv1.ReplicaSet {
	var out []*appsv1.ReplicaSet
	for _, rs := range sets {
		if rs != nil && *rs.Spec.Replicas > 0 {
			out = append(out, rs)
		}
	}
	return out
}

// activeOrLatest is the one set with replicas, or the newest set when
// none has any; nil when several have replicas.
func activeOrLatest(newRS *appsv1.ReplicaSet, oldRSs []*appsv1.ReplicaSet) *appsv1.ReplicaSet {
	if newRS == nil && len(oldRSs) == 0 {
		return nil
	}
	sorted := append([]*appsv1.ReplicaSet(nil), oldRSs...)
	sort.Sort(sort.Reverse(byCreation(sorted)))
	active := activeSets(append(append([]*appsv1.ReplicaSet(nil), sorted...), newRS))
	switch len(active) {
	case 0:
		if newRS != nil {
			return newRS
		}
		return sorted[0]
	case 1:
		return active[0]
	}
	return nil
}

// scaleStep is one set resized.
type scaleStep struct {
	rs       *appsv1.ReplicaSet
	replicas int32
}

// proportionalScale shares a change of the Deployment's size among its
// active sets in proportion to their sizes (during a rollout, or while
// paused): sets are resized toward replicas+maxSurge in total, larger
// sets first (newer first when scaling up, older first when down), the
// rounding leftover to the largest. It returns every active set with its
// new size (possibly unchanged: their annotations are refreshed too).
func proportionalScale(d *appsv1.Deployment, newRS *appsv1.ReplicaSet, oldRSs []*appsv1.ReplicaSet) []scaleStep {
	all := activeSets(append(append([]*appsv1.ReplicaSet(nil), oldRSs...), newRS))
	total := replicasOf(all)
	allowed := int32(0)
	if *d.Spec.Replicas > 0 {
		allowed = *d.Spec.Replicas + maxSurge(d)
	}
	toAdd := allowed - total
	switch {
	case toAdd > 0:
		sort.Sort(bySizeNewer(all))
	case toAdd < 0:
		sort.Sort(bySizeOlder(all))
	}
	added := int32(0)
	sizes := make([]int32, len(all))
	for i, rs := range all {
		sizes[i] = *rs.Spec.Replicas
		if toAdd != 0 {
			p := proportion(rs, d, toAdd, added)
			sizes[i] += p
			added += p
		}
	}
	steps := make([]scaleStep, len(all))
	for i, rs := range all {
		if i == 0 && toAdd != 0 {
			sizes[i] = max(sizes[i]+toAdd-added, 0)
		}
		steps[i] = scaleStep{rs: rs, replicas: sizes[i]}
	}
	return steps
}

// proportion is the share of toAdd (negative: to remove) a set takes,
// given what was already added, bounded by what is left.
func proportion(rs *appsv1.ReplicaSet, d *appsv1.Deployment, toAdd, added int32) int32 {
	if rs == nil || *rs.Spec.Replicas == 0 || toAdd == 0 || toAdd == added {
		return 0
	}
	fraction := fraction(rs, d)
	allowed := toAdd - added
	if toAdd > 0 {
		return min(fraction, allowed)
	}
	return max(fraction, allowed)
}

// fraction is how much a set grows or shrinks if scaled in proportion
// from the Deployment's size when it was last sized (max-replicas) to
// its size now.
func fraction(rs *appsv1.ReplicaSet, d *appsv1.Deployment) int32 {
	if *d.Spec.Replicas == 0 {
		return -*rs.Spec.Replicas
	}
	maxNow := *d.Spec.Replicas + maxSurge(d)
	maxBefore, ok := nonNegativeInt32Annotation(rs, MaxReplicasAnnotation)
	if !ok || maxBefore == 0 {
		maxBefore = d.Status.Replicas
		if maxBefore == 0 {
			return 0
		}
	}
	size := float64(*rs.Spec.Replicas*maxNow) / float64(maxBefore)
	return int32(math.Floor(size+0.5)) - *rs.Spec.Replicas
}

// unhealthyCleanup plans scaling down old sets' pods that are not
// available (oldest sets first), at most limit in all: they serve no one,
// so they go before any available pod does. A set reporting more
// available pods than it wants has not caught up with its last scale-down
// yet: nothing is planned then (ok false), as upstream refuses to scale
// it "down" to more than it has.
func unhealthyCleanup(oldRSs []*appsv1.ReplicaSet, limit int32) (steps []scaleStep, total int32, ok bool) {
	sorted := append([]*appsv1.ReplicaSet(nil), oldRSs...)
	sort.Sort(byCreation(sorted))
	for _, rs := range sorted {
		if total >= limit {
			break
		}
		if *rs.Spec.Replicas == 0 || *rs.Spec.Replicas == rs.Status.AvailableReplicas {
			continue
		}
		if *rs.Spec.Replicas < rs.Status.AvailableReplicas {
			return nil, 0, false
		}
		n := min(limit-total, *rs.Spec.Replicas-rs.Status.AvailableReplicas)
		steps = append(steps, scaleStep{rs: rs, replicas: *rs.Spec.Replicas - n})
		total += n
	}
	return steps, total, true
}

// oldScaleDown plans scaling old sets down (oldest first) by as many
// available pods as exceed the minimum availability.
func oldScaleDown(d *appsv1.Deployment, all, oldRSs []*appsv1.ReplicaSet) []scaleStep {
	minAvailable := *d.Spec.Replicas - maxUnavailable(d)
	available := availableOf(all)
	if available <= minAvailable {
		return nil
	}
	sorted := append([]*appsv1.ReplicaSet(nil), oldRSs...)
	sort.Sort(byCreation(sorted))
	var steps []scaleStep
	var total int32
	want := available - minAvailable
	for _, rs := range sorted {
		if total >= want {
			break
		}
		if *rs.Spec.Replicas == 0 {
			continue
		}
		n := min(*rs.Spec.Replicas, want-total)
		steps = append(steps, scaleStep{rs: rs, replicas: *rs.Spec.Replicas - n})
		total += n
	}
	return steps
}

// maxScaledDown is how many old pods a rolling update may remove now:
// all pods minus the minimum available minus the new set's pods that are
// not available yet (they may never be).
func maxScaledDown(d *appsv1.Deployment, all []*appsv1.ReplicaSet, newRS *appsv1.ReplicaSet) int32 {
	minAvailable := *d.Spec.Replicas - maxUnavailable(d)
	newUnavailable := *newRS.Spec.Replicas - newRS.Status.AvailableReplicas
	return replicasOf(all) - minAvailable - newUnavailable
}
