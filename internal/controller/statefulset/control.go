package statefulset

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/kemudi/kemudi/internal/controller"
)

// podOps are the writes the decision core asks for (podControl does them
// through the API; unit tests record them).
type podOps interface {
	// createPod creates the pod's claims, then the pod, then gives the
	// claims their retention owners.
	createPod(ctx context.Context, set *appsv1.StatefulSet, p *corev1.Pod) error
	// updatePod restores the pod's identity, storage and claim owners.
	updatePod(ctx context.Context, set *appsv1.StatefulSet, p *corev1.Pod) error
	deletePod(ctx context.Context, set *appsv1.StatefulSet, p *corev1.Pod) error
	createMissingClaims(ctx context.Context, set *appsv1.StatefulSet, p *corev1.Pod) error
	claimsMatchRetention(set *appsv1.StatefulSet, p *corev1.Pod) (bool, error)
	updateClaimsRetention(ctx context.Context, set *appsv1.StatefulSet, p *corev1.Pod) error
	// claimIsStale: a claim of the ordinal still belongs to an earlier
	// pod of that name (being deleted with it on scale-down).
	claimIsStale(set *appsv1.StatefulSet, p *corev1.Pod) (bool, error)
}

// replicaStatus computes the status counters over the pods.
func replicaStatus(st *appsv1.StatefulSetStatus, minReady int32, current, update string, now time.Time, lists ...[]*corev1.Pod) {
	st.Replicas, st.ReadyReplicas, st.AvailableReplicas, st.CurrentReplicas, st.UpdatedReplicas = 0, 0, 0, 0, 0
	for _, list := range lists {
		for _, p := range list {
			if p == nil {
				continue
			}
			if isCreated(p) {
				st.Replicas++
			}
			if isRunningAndReady(p) {
				st.ReadyReplicas++
				if isAvailable(p, minReady, now) {
					st.AvailableReplicas++
				}
			}
			if isCreated(p) && !isTerminating(p) {
				if revisionOf(p) == current {
					st.CurrentReplicas++
				}
				if revisionOf(p) == update {
					st.UpdatedReplicas++
				}
			}
		}
	}
}

// forAll runs fn over the pods: in order, stopping when fn says so, for
// OrderedReady; all at once for Parallel.
func forAll(n int, fn func(i int) (bool, error), monotonic bool) (bool, error) {
	if monotonic {
		for i := 0; i < n; i++ {
			if stop, err := fn(i); stop || err != nil {
				return true, err
			}
		}
		return false, nil
	}
	if _, errs := controller.SlowStart(n, func(i int) error { _, err := fn(i); return err }); len(errs) > 0 {
		return true, errors.Join(errs...)
	}
	return false, nil
}

// update is one reconciliation of a StatefulSet with its pods: create
// missing ordinals, replace finished ones, delete condemned ones (above
// the range) and roll the update out, as upstream's
// updateStatefulSet. It returns the status to write.
func update(ctx context.Context, ops podOps, set, currentSet, updateSet *appsv1.StatefulSet, currentRev, updateRev string, collisionCount int32, pods []*corev1.Pod, now time.Time) (*appsv1.StatefulSetStatus, error) {
	status := &appsv1.StatefulSetStatus{
		ObservedGeneration: set.Generation,
		CurrentRevision:    currentRev,
		UpdateRevision:     updateRev,
		CollisionCount:     &collisionCount,
		Conditions:         append([]appsv1.StatefulSetCondition(nil), set.Status.Conditions...),
	}
	minReady := set.Spec.MinReadySeconds
	replicaStatus(status, minReady, currentRev, updateRev, now, pods)

	start, end := startOrdinal(set), endOrdinal(set)
	replicas := make([]*corev1.Pod, int(*set.Spec.Replicas))
	var condemned []*corev1.Pod
	for _, p := range pods {
		switch o := ordinal(p); {
		case inOrdinalRange(p, set):
			replicas[o-start] = p
		case o >= 0:
			condemned = append(condemned, p)
		}
	}
	for o := start; o <= end; o++ {
		if replicas[o-start] == nil {
			replicas[o-start] = newVersionedPod(currentSet, updateSet, currentRev, updateRev, o)
		}
	}
	sort.SliceStable(condemned, func(i, j int) bool { return ordinal(condemned[i]) > ordinal(condemned[j]) })
	var firstUnhealthy *corev1.Pod
	for _, p := range replicas {
		if isUnavailable(p, minReady, now) {
			firstUnhealthy = p
			break
		}
	}
	if firstUnhealthy == nil {
		for i := len(condemned) - 1; i >= 0; i-- {
			if isUnavailable(condemned[i], minReady, now) {
				firstUnhealthy = condemned[i]
				break
			}
		}
	}
	if set.DeletionTimestamp != nil {
		return status, nil
	}
	monotonic := !allowsBurst(set)
	done := func(err error) (*appsv1.StatefulSetStatus, error) {
		replicaStatus(status, minReady, currentRev, updateRev, now, replicas, condemned)
		return status, err
	}

	// Replicas: in ordinal order, each created and running and ready
	// before the next (OrderedReady), or all at once (Parallel).
	processReplica := func(i int) (bool, error) {
		p := replicas[i]
		if isTerminal(p) {
			// A finished pod is replaced: delete it, create it next sync.
			if p.DeletionTimestamp == nil {
				if err := ops.deletePod(ctx, set, p); err != nil {
					return true, err
				}
			}
			return true, nil
		}
		if !isCreated(p) {
			stale, err := ops.claimIsStale(set, p)
			if err != nil || stale {
				return true, err
			}
			if err := ops.createPod(ctx, set, p); err != nil {
				return true, err
			}
			if monotonic {
				return true, nil
			}
		}
		if isPending(p) {
			if err := ops.createMissingClaims(ctx, set, p); err != nil {
				return true, err
			}
		}
		if monotonic && (isTerminating(p) || !isRunningAndReady(p) || !isAvailable(p, minReady, now)) {
			return true, nil
		}
		match, err := ops.claimsMatchRetention(updateSet, p)
		if err != nil {
			match = true
		}
		if identityMatches(set, p) && storageMatches(set, p) && match {
			return false, nil
		}
		return false, ops.updatePod(ctx, updateSet, p.DeepCopy())
	}
	if stop, err := forAll(len(replicas), processReplica, monotonic); stop || err != nil {
		return done(err)
	}
	fixClaims := func(i int) (bool, error) {
		match, err := ops.claimsMatchRetention(updateSet, condemned[i])
		if err != nil {
			return true, err
		}
		if !match {
			if err := ops.updateClaimsRetention(ctx, updateSet, condemned[i]); err != nil {
				return true, err
			}
		}
		return false, nil
	}
	if stop, err := forAll(len(condemned), fixClaims, monotonic); stop || err != nil {
		return done(err)
	}
	// Condemned pods: highest ordinal first, one at a time once the
	// rest are healthy (OrderedReady).
	processCondemned := func(i int) (bool, error) {
		p := condemned[i]
		if isTerminating(p) {
			return monotonic, nil
		}
		if monotonic && p != firstUnhealthy && (!isRunningAndReady(p) || !isAvailable(p, minReady, now)) {
			return true, nil
		}
		return true, ops.deletePod(ctx, set, p)
	}
	if stop, err := forAll(len(condemned), processCondemned, monotonic); stop || err != nil {
		return done(err)
	}
	replicaStatus(status, minReady, currentRev, updateRev, now, replicas, condemned)
	if set.Spec.UpdateStrategy.Type == appsv1.OnDeleteStatefulSetStrategyType {
		return status, nil
	}
	return status, rollingUpdate(ctx, ops, set, replicas, updateRev, status, now)
}

// rollingUpdate deletes pods of old revisions from the highest ordinal
// down to the partition, no more than maxUnavailable unavailable at a
// time (MaxUnavailableStatefulSet, on by default in 1.37).
func rollingUpdate(ctx context.Context, ops podOps, set *appsv1.StatefulSet, replicas []*corev1.Pod, updateRev string, status *appsv1.StatefulSetStatus, now time.Time) error {
	partition := 0
	if r := set.Spec.UpdateStrategy.RollingUpdate; r != nil && r.Partition != nil {
		partition = int(*r.Partition)
	}
	maxUnavail, err := maxUnavailable(set)
	if err != nil {
		return fmt.Errorf("maxUnavailable: %w", err)
	}
	minReady := set.Spec.MinReadySeconds
	unavailable, unavailableNeedingUpdate := 0, 0
	for _, p := range replicas {
		if isUnavailable(p, minReady, now) {
			unavailable++
			if allowsBurst(set) && revisionOf(p) != updateRev && !isTerminating(p) {
				unavailableNeedingUpdate++
			}
		}
	}
	if unavailable >= maxUnavail && unavailableNeedingUpdate == 0 {
		return nil
	}
	del := func(p *corev1.Pod) error {
		if err := ops.deletePod(ctx, set, p); err != nil {
			return err
		}
		status.CurrentReplicas--
		return nil
	}
	if allowsBurst(set) {
		// Unavailable old pods cost nothing to replace.
		for t := len(replicas) - 1; t >= partition; t-- {
			p := replicas[t]
			if revisionOf(p) != updateRev && !isAvailable(p, minReady, now) && !isTerminating(p) {
				if err := del(p); err != nil {
					return err
				}
			}
		}
		budget := maxUnavail - unavailable
		for t := len(replicas) - 1; t >= partition && budget > 0; t-- {
			p := replicas[t]
			if revisionOf(p) != updateRev && !isUnavailable(p, minReady, now) {
				if err := del(p); err != nil {
					return err
				}
				budget--
			}
		}
		return nil
	}
	budget := maxUnavail - unavailable
	for t := len(replicas) - 1; t >= partition && budget > 0; t-- {
		p := replicas[t]
		if revisionOf(p) != updateRev && !isTerminating(p) {
			if err := del(p); err != nil {
				return err
			}
			budget--
		}
	}
	return nil
}

// completeUpdate makes the update revision current once every replica
// runs it and is ready.
func completeUpdate(set *appsv1.StatefulSet, st *appsv1.StatefulSetStatus) {
	n := *set.Spec.Replicas
	if st.UpdatedReplicas == n && st.ReadyReplicas == n && st.Replicas == n {
		st.CurrentReplicas = st.UpdatedReplicas
		st.CurrentRevision = st.UpdateRevision
	}
}
