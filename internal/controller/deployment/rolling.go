package deployment

import (
	"context"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
)

// rolloutRolling moves one step of a rolling update: scale the new set up
// within maxSurge; if that did nothing, scale old sets down within
// maxUnavailable (unavailable pods first); once complete, clean up old
// sets; then write the status.
func (dc *Controller) rolloutRolling(ctx context.Context, d *appsv1.Deployment, sets []*appsv1.ReplicaSet) error {
	newRS, oldRSs, err := dc.newAndOld(ctx, d, sets, true)
	if err != nil {
		return ignoreTerminating(err)
	}
	all := append(append([]*appsv1.ReplicaSet(nil), oldRSs...), newRS)

	scaledUp, err := dc.reconcileNewReplicaSet(ctx, all, newRS, d)
	if err != nil {
		return err
	}
	if scaledUp {
		return dc.syncRolloutStatus(ctx, all, newRS, d)
	}
	scaledDown, err := dc.reconcileOldReplicaSets(ctx, all, activeSets(oldRSs), newRS, d)
	if err != nil {
		return err
	}
	if scaledDown {
		return dc.syncRolloutStatus(ctx, all, newRS, d)
	}
	if deploymentComplete(d, &d.Status) {
		if err := dc.cleanup(ctx, oldRSs, d); err != nil {
			return err
		}
	}
	return dc.syncRolloutStatus(ctx, all, newRS, d)
}

// reconcileNewReplicaSet grows (or, past the replicas, shrinks) the new set.
func (dc *Controller) reconcileNewReplicaSet(ctx context.Context, all []*appsv1.ReplicaSet, newRS *appsv1.ReplicaSet, d *appsv1.Deployment) (bool, error) {
	if *newRS.Spec.Replicas == *d.Spec.Replicas {
		return false, nil
	}
	if *newRS.Spec.Replicas > *d.Spec.Replicas {
		scaled, _, err := dc.scaleReplicaSet(ctx, newRS, *d.Spec.Replicas, d, false)
		return scaled, err
	}
	n, err := newRSNewReplicas(d, all, newRS)
	if err != nil {
		return false, err
	}
	scaled, _, err := dc.scaleReplicaSet(ctx, newRS, n, d, false)
	return scaled, err
}

// reconcileOldReplicaSets shrinks old sets as far as availability allows:
// first their unavailable pods, then available ones beyond the minimum.
func (dc *Controller) reconcileOldReplicaSets(ctx context.Context, all, oldRSs []*appsv1.ReplicaSet, newRS *appsv1.ReplicaSet, d *appsv1.Deployment) (bool, error) {
	if replicasOf(oldRSs) == 0 {
		return false, nil
	}
	limit := maxScaledDown(d, all, newRS)
	if limit <= 0 {
		return false, nil
	}
	steps, cleaned, ok := unhealthyCleanup(oldRSs, limit)
	if !ok {
		// An old set's status lags its last scale-down: wait for it.
		return false, nil
	}
	resized := map[types.UID]*appsv1.ReplicaSet{}
	for _, s := range steps {
		_, updated, err := dc.scaleReplicaSet(ctx, s.rs, s.replicas, d, false)
		if err != nil {
			return false, err
		}
		resized[s.rs.UID] = updated
	}
	current := make([]*appsv1.ReplicaSet, len(oldRSs))
	for i, rs := range oldRSs {
		current[i] = rs
		if u, ok := resized[rs.UID]; ok {
			current[i] = u
		}
	}
	var scaledDown int32
	for _, s := range oldScaleDown(d, append(append([]*appsv1.ReplicaSet(nil), current...), newRS), current) {
		if _, _, err := dc.scaleReplicaSet(ctx, s.rs, s.replicas, d, false); err != nil {
			return false, err
		}
		scaledDown += *s.rs.Spec.Replicas - s.replicas
	}
	return cleaned+scaledDown > 0, nil
}

// rolloutRecreate: scale every old set to zero, wait until their pods are
// gone, then create the new set at full size.
func (dc *Controller) rolloutRecreate(ctx context.Context, d *appsv1.Deployment, sets []*appsv1.ReplicaSet) error {
	newRS, oldRSs, err := dc.newAndOld(ctx, d, sets, false)
	if err != nil {
		return err
	}
	all := append(append([]*appsv1.ReplicaSet(nil), oldRSs...), newRS)
	scaledDown := false
	for _, rs := range activeSets(oldRSs) {
		scaled, _, err := dc.scaleReplicaSet(ctx, rs, 0, d, false)
		if err != nil {
			return err
		}
		scaledDown = scaledDown || scaled
	}
	if scaledDown {
		return dc.syncRolloutStatus(ctx, all, newRS, d)
	}
	pods, err := dc.podsBySet(sets)
	if err != nil {
		return err
	}
	if oldPodsRunning(newRS, oldRSs, pods) {
		return dc.syncRolloutStatus(ctx, all, newRS, d)
	}
	if newRS == nil {
		if newRS, oldRSs, err = dc.newAndOld(ctx, d, sets, true); err != nil {
			return ignoreTerminating(err)
		}
		all = append(append([]*appsv1.ReplicaSet(nil), oldRSs...), newRS)
	}
	if _, _, err := dc.scaleReplicaSet(ctx, newRS, *d.Spec.Replicas, d, false); err != nil {
		return err
	}
	if deploymentComplete(d, &d.Status) {
		if err := dc.cleanup(ctx, oldRSs, d); err != nil {
			return err
		}
	}
	return dc.syncRolloutStatus(ctx, all, newRS, d)
}

// oldPodsRunning: an old set still reports pods, or has a pod that has
// not finished (whatever its phase, even being deleted).
func oldPodsRunning(newRS *appsv1.ReplicaSet, oldRSs []*appsv1.ReplicaSet, pods map[types.UID][]*corev1.Pod) bool {
	if statusReplicasOf(oldRSs) > 0 {
		return true
	}
	for uid, list := range pods {
		if newRS != nil && newRS.UID == uid {
			continue
		}
		for _, p := range list {
			if p.Status.Phase != corev1.PodFailed && p.Status.Phase != corev1.PodSucceeded {
				return true
			}
		}
	}
	return false
}
