package replicaset

import (
	"context"
	"errors"
	"fmt"
	"sync"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/kemudi/kemudi/internal/controller"
)

// sync makes one set's pods match its spec and writes its status.
func (rc *Controller) sync(ctx context.Context, key string) error {
	ns, name, err := splitKey(key)
	if err != nil {
		return controller.Terminal(err)
	}
	rs, err := rc.kind.get(ns, name)
	if apierrors.IsNotFound(err) {
		rc.expect.Forget(key)
		return nil
	}
	if err != nil {
		return err
	}
	// Read before looking at pods: a creation observed in between makes
	// us wait one more event rather than act twice.
	mayAct := rc.expect.Satisfied(key)
	selector, err := metav1.LabelSelectorAsSelector(rs.Spec.Selector)
	if err != nil {
		return controller.Terminal(fmt.Errorf("%s %s: bad selector: %w", rc.kind.gvk().Kind, key, err))
	}
	all, err := controller.PodsControlledBy(rc.podIndex, rs, rc.kind.gvk().Kind, true)
	if err != nil {
		return err
	}
	var active, terminating []*corev1.Pod
	if rc.kind.countsTerminating() {
		terminating = []*corev1.Pod{}
	}
	for _, p := range all {
		switch {
		case controller.IsPodActive(p):
			active = append(active, p)
		case controller.IsPodTerminating(p) && metav1.IsControlledBy(p, rs) && selector.Matches(labels.Set(p.Labels)):
			terminating = append(terminating, p)
		}
	}
	refs := &controller.RefManager{
		Owner:    rs,
		Kind:     rc.kind.gvk(),
		Selector: selector,
		CanAdopt: controller.RecheckOwner(rs.UID, func(ctx context.Context) (metav1.Object, error) {
			return rc.kind.live(ctx, ns, name)
		}),
		Patch: controller.PodPatcher(rc.client),
	}
	active, err = controller.Claim(ctx, refs, active)
	if err != nil {
		return err
	}

	var manageErr error
	if mayAct && rs.DeletionTimestamp == nil {
		manageErr = rc.manage(ctx, key, rs, active)
	}

	now := rc.clock.Now()
	status := calculateStatus(rs, active, terminating, manageErr, now)
	stored := rs
	if statusChanged(rs, status) {
		update := rs.DeepCopy()
		update.Status = status
		update.Status.ObservedGeneration = rs.Generation
		if stored, err = rc.kind.updateStatus(ctx, update); err != nil {
			return errors.Join(manageErr, fmt.Errorf("update status of %s: %w", key, err))
		}
	}
	if manageErr != nil {
		return manageErr
	}
	// Pods ready but not yet available for minReadySeconds: come back
	// when the first of them becomes available.
	if minReady := stored.Spec.MinReadySeconds; minReady > 0 && stored.Status.ReadyReplicas != stored.Status.AvailableReplicas {
		after, ok := controller.SoonestAvailable(active, minReady, rc.clock.Now())
		if !ok {
			return nil
		}
		return &controller.Requeue{After: after}
	}
	return nil
}

// manage creates or deletes pods so that the set has as many active pods
// as it wants, at most burstReplicas per sync.
func (rc *Controller) manage(ctx context.Context, key string, rs *appsv1.ReplicaSet, active []*corev1.Pod) error {
	diff := len(active) - int(*rs.Spec.Replicas)
	switch {
	case diff < 0:
		n := min(-diff, burstReplicas)
		rc.expect.ExpectCreations(key, n)
		rc.log.Debug("too few replicas", "key", key, "need", *rs.Spec.Replicas, "creating", n)
		created, errs := controller.SlowStart(n, func(int) error { return rc.createPod(ctx, rs) })
		if skipped := n - created; skipped > 0 {
			// Pods never created will never be observed.
			rc.expect.Lower(key, skipped, 0)
		}
		if len(errs) > 0 {
			return errs[0]
		}
		return nil
	case diff > 0:
		n := min(diff, burstReplicas)
		rc.log.Debug("too many replicas", "key", key, "need", *rs.Spec.Replicas, "deleting", n)
		victims := podsToDelete(active, rc.relatedPods(rs), n, rc.clock.Now())
		keys := make([]string, len(victims))
		for i, p := range victims {
			keys[i] = controller.PodKey(p)
		}
		rc.expect.ExpectDeletionsOf(key, keys)
		errs := make(chan error, len(victims))
		var wg sync.WaitGroup
		for _, p := range victims {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := rc.deletePodOf(ctx, rs, p.Name); err != nil {
					rc.expect.DeletionObserved(key, controller.PodKey(p))
					if !apierrors.IsNotFound(err) {
						errs <- err
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		return <-errs
	}
	return nil
}

// createPod creates one pod from the set's template, with the set as its
// controller.
func (rc *Controller) createPod(ctx context.Context, rs *appsv1.ReplicaSet) error {
	pod := controller.PodFromTemplate(&rs.Spec.Template, rs.Name, controller.ControllerRef(rs, rc.kind.gvk()))
	if len(pod.Labels) == 0 {
		return errors.New("unable to create pods, no labels")
	}
	created, err := rc.client.CoreV1().Pods(rs.Namespace).Create(ctx, pod, metav1.CreateOptions{})
	if err != nil {
		if apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause) {
			// Everything in the namespace is going: nothing to report.
			return nil
		}
		rc.recorder.Eventf(rc.kind.eventObject(rs), corev1.EventTypeWarning, "FailedCreate", "Error creating: %v", err)
		return err
	}
	rc.recorder.Eventf(rc.kind.eventObject(rs), corev1.EventTypeNormal, "SuccessfulCreate", "Created pod: %v", created.Name)
	return nil
}

func (rc *Controller) deletePodOf(ctx context.Context, rs *appsv1.ReplicaSet, name string) error {
	err := rc.client.CoreV1().Pods(rs.Namespace).Delete(ctx, name, metav1.DeleteOptions{})
	switch {
	case apierrors.IsNotFound(err):
		return err
	case err != nil:
		rc.recorder.Eventf(rc.kind.eventObject(rs), corev1.EventTypeWarning, "FailedDelete", "Error deleting: %v", err)
		return fmt.Errorf("unable to delete pods: %w", err)
	}
	rc.recorder.Eventf(rc.kind.eventObject(rs), corev1.EventTypeNormal, "SuccessfulDelete", "Deleted pod: %v", name)
	return nil
}

// relatedPods are the pods of every set with the same controller as rs
// (the ReplicaSets of one Deployment): scale-down prefers pods doubled up
// on a node with many of them. Sets and pods are found through the
// controller indexes, not by selector over the namespace.
func (rc *Controller) relatedPods(rs *appsv1.ReplicaSet) []*corev1.Pod {
	owner := metav1.GetControllerOfNoCopy(rs)
	if owner == nil {
		return nil
	}
	sets, err := controller.ControlledBy[interface{}](rc.kind.informer().GetIndexer(), string(owner.UID))
	if err != nil {
		return nil
	}
	var out []*corev1.Pod
	for _, obj := range sets {
		s := rc.kind.toSet(obj)
		if s == nil || s.Namespace != rs.Namespace {
			continue
		}
		pods, err := controller.PodsControlledBy(rc.podIndex, s, rc.kind.gvk().Kind, false)
		if err != nil {
			continue
		}
		out = append(out, pods...)
	}
	return out
}
