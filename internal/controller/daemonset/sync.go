package daemonset

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/tools/cache"

	"github.com/kemudi/kemudi/internal/controller"
)

func labelsEverything() labels.Selector { return labels.Everything() }

func (dc *Controller) recheck(ds *appsv1.DaemonSet) func(context.Context) error {
	return controller.RecheckOwner(ds.UID, func(ctx context.Context) (metav1.Object, error) {
		return dc.client.AppsV1().DaemonSets(ds.Namespace).Get(ctx, ds.Name, metav1.GetOptions{})
	})
}

// daemonPods claims the DaemonSet's pods.
func (dc *Controller) daemonPods(ctx context.Context, ds *appsv1.DaemonSet) ([]*corev1.Pod, error) {
	sel, err := metav1.LabelSelectorAsSelector(ds.Spec.Selector)
	if err != nil {
		return nil, err
	}
	candidates, err := controller.PodsControlledBy(dc.podIndexer, ds, controllerKind.Kind, true)
	if err != nil {
		return nil, err
	}
	m := &controller.RefManager{
		Owner: ds, Kind: controllerKind, Selector: sel,
		Patch: controller.PodPatcher(dc.client), CanAdopt: dc.recheck(ds),
	}
	return controller.Claim(ctx, m, candidates)
}

// podsByNode maps node names to the DaemonSet's pods there (finished
// pods being deleted left out unless withDeletedFinished).
func (dc *Controller) podsByNode(ctx context.Context, ds *appsv1.DaemonSet, withDeletedFinished bool) (map[string][]*corev1.Pod, error) {
	pods, err := dc.daemonPods(ctx, ds)
	if err != nil {
		return nil, err
	}
	out := map[string][]*corev1.Pod{}
	for _, p := range pods {
		if !withDeletedFinished && controller.IsPodTerminal(p) && p.DeletionTimestamp != nil {
			continue
		}
		if node, ok := targetNode(p); ok {
			out[node] = append(out[node], p)
		}
	}
	return out, nil
}

func (dc *Controller) sync(ctx context.Context, k string) error {
	ns, name, err := cache.SplitMetaNamespaceKey(k)
	if err != nil {
		return controller.Terminal(err)
	}
	ds, err := dc.dsLister.DaemonSets(ns).Get(name)
	if apierrors.IsNotFound(err) {
		dc.expectations.Forget(k)
		return nil
	}
	if err != nil {
		return err
	}
	nodes, err := dc.nodeLister.List(labels.Everything())
	if err != nil {
		return err
	}
	if reflect.DeepEqual(ds.Spec.Selector, &metav1.LabelSelector{}) {
		dc.recorder.Eventf(ds, corev1.EventTypeWarning, reasonSelectingAll, "This daemon set is selecting all pods. A non-empty selector is required.")
		return nil
	}
	if ds.DeletionTimestamp != nil {
		return nil
	}
	cur, old, err := dc.history(ctx, ds)
	if err != nil {
		return fmt.Errorf("failed to construct revisions of DaemonSet: %w", err)
	}
	hash := cur.Labels[appsv1.DefaultDaemonSetUniqueLabelKey]
	if !dc.expectations.Satisfied(k) {
		minReady, err := dc.updateStatus(ctx, ds, nodes, hash, false)
		if err != nil {
			return err
		}
		return controller.RequeueSoonest(minReady)
	}
	backoff, err := dc.update(ctx, ds, nodes, hash, k, old)
	minReady, statusErr := dc.updateStatus(ctx, ds, nodes, hash, true)
	if err != nil {
		return err
	}
	if statusErr != nil {
		return statusErr
	}
	return controller.RequeueSoonest(backoff, minReady)
}

// update manages the daemon pods and rolls them; it returns when a
// node in backoff may get its pod again.
func (dc *Controller) update(ctx context.Context, ds *appsv1.DaemonSet, nodes []*corev1.Node, hash, k string, old []*appsv1.ControllerRevision) (time.Duration, error) {
	backoff, err := dc.manage(ctx, ds, nodes, hash, k)
	if err != nil {
		return 0, err
	}
	if dc.expectations.Satisfied(k) && ds.Spec.UpdateStrategy.Type == appsv1.RollingUpdateDaemonSetStrategyType {
		byNode, err := dc.podsByNode(ctx, ds, false)
		if err != nil {
			return 0, err
		}
		nodeMap := make(map[string]*corev1.Node, len(nodes))
		for _, n := range nodes {
			nodeMap[n.Name] = n
		}
		r, err := rollingUpdate(newPlacement(ds), nodeMap, byNode, hash, dc.clock.Now())
		if err != nil {
			return 0, err
		}
		if err := dc.syncNodes(ctx, ds, r.delete, r.create, hash, k); err != nil {
			return 0, err
		}
	}
	if err := dc.cleanupHistory(ctx, ds, old); err != nil {
		return 0, fmt.Errorf("failed to clean up revisions of DaemonSet: %w", err)
	}
	return backoff, nil
}

// manage creates the missing daemon pods and deletes those that should
// not run; it returns when the soonest node in backoff (its daemon pod
// failed) may get a pod again.
func (dc *Controller) manage(ctx context.Context, ds *appsv1.DaemonSet, nodes []*corev1.Node, hash, k string) (time.Duration, error) {
	byNode, err := dc.podsByNode(ctx, ds, false)
	if err != nil {
		return 0, err
	}
	pl := newPlacement(ds)
	now := dc.clock.Now()
	var a nodeActions
	for _, node := range nodes {
		backoffKey := fmt.Sprintf("%s/%d/%s", ds.UID, ds.Status.ObservedGeneration, node.Name)
		inBackoff := func(string) bool {
			if dc.backoff.IsInBackOffSinceUpdate(backoffKey, now) {
				return true
			}
			dc.backoff.Next(backoffKey, now)
			return false
		}
		podsOnNode(pl, node, byNode[node.Name], hash, now, inBackoff, &a)
	}
	for _, p := range a.failed {
		dc.recorder.Eventf(ds, corev1.EventTypeWarning, reasonFailedDaemonPod, "Found failed daemon pod %s/%s on node %s, will try to kill it", p.Namespace, p.Name, p.Spec.NodeName)
	}
	for _, p := range a.succeeded {
		dc.recorder.Eventf(ds, corev1.EventTypeNormal, reasonSucceededDaemon, "Found succeeded daemon pod %s/%s on node %s, will try to delete it", p.Namespace, p.Name, p.Spec.NodeName)
	}
	var backoff time.Duration
	for _, node := range a.backoff {
		d := dc.backoff.Get(fmt.Sprintf("%s/%d/%s", ds.UID, ds.Status.ObservedGeneration, node))
		if backoff == 0 || d < backoff {
			backoff = d
		}
	}
	a.delete = append(a.delete, unscheduledWithoutNode(nodes, byNode)...)
	return backoff, dc.syncNodes(ctx, ds, a.delete, a.create, hash, k)
}

// syncNodes deletes pods by name and creates pods pinned to nodes, at
// most burstReplicas of each, creations in slow-start batches.
func (dc *Controller) syncNodes(ctx context.Context, ds *appsv1.DaemonSet, toDelete, toCreate []string, hash, k string) error {
	if len(toCreate) > burstReplicas {
		toCreate = toCreate[:burstReplicas]
	}
	if len(toDelete) > burstReplicas {
		toDelete = toDelete[:burstReplicas]
	}
	if len(toCreate) == 0 && len(toDelete) == 0 {
		return nil
	}
	deleteKeys := make([]string, len(toDelete))
	for i, n := range toDelete {
		deleteKeys[i] = key(ds.Namespace, n)
	}
	dc.expectations.ExpectDeletionsOf(k, deleteKeys)
	dc.expectations.Lower(k, -len(toCreate), 0) // add the creations
	template := podTemplate(ds, hash)
	ref := controller.ControllerRef(ds, controllerKind)
	created, createErrs := controller.SlowStart(len(toCreate), func(i int) error {
		return dc.createPod(ctx, ds, template, ref, toCreate[i])
	})
	dc.expectations.Lower(k, len(toCreate)-created, 0)
	var errs []error
	for _, err := range createErrs {
		// A namespace being deleted refuses every pod: nothing to report.
		if !apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause) {
			errs = append(errs, err)
		}
	}

	deleteErrs := make([]error, len(toDelete))
	var wg sync.WaitGroup
	for i, name := range toDelete {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := dc.client.CoreV1().Pods(ds.Namespace).Delete(ctx, name, metav1.DeleteOptions{})
			if err != nil {
				dc.expectations.DeletionObserved(k, key(ds.Namespace, name))
				if !apierrors.IsNotFound(err) {
					dc.recorder.Eventf(ds, corev1.EventTypeWarning, reasonFailedDelete, "Error deleting: %v", err)
					deleteErrs[i] = err
				}
				return
			}
			dc.recorder.Eventf(ds, corev1.EventTypeNormal, reasonSuccessfulDelete, "Deleted pod: %v", name)
		}()
	}
	wg.Wait()
	return errors.Join(append(errs, deleteErrs...)...)
}

func (dc *Controller) createPod(ctx context.Context, ds *appsv1.DaemonSet, template *corev1.PodTemplateSpec, ref *metav1.OwnerReference, node string) error {
	t := template.DeepCopy()
	t.Spec.Affinity = pinToNode(t.Spec.Affinity, node)
	p := controller.PodFromTemplate(t, ds.Name, ref)
	p.Namespace = ds.Namespace
	created, err := dc.client.CoreV1().Pods(ds.Namespace).Create(ctx, p, metav1.CreateOptions{})
	if err != nil {
		if !apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause) {
			dc.recorder.Eventf(ds, corev1.EventTypeWarning, reasonFailedCreate, "Error creating: %v", err)
		}
		return err
	}
	dc.recorder.Eventf(ds, corev1.EventTypeNormal, reasonSuccessfulCreate, "Created pod: %v", created.Name)
	return nil
}

// updateStatus writes the status counts (and observedGeneration once the
// spec has been acted on); it returns when minReadySeconds will make
// ready pods available (0: none waits).
func (dc *Controller) updateStatus(ctx context.Context, ds *appsv1.DaemonSet, nodes []*corev1.Node, hash string, observed bool) (time.Duration, error) {
	byNode, err := dc.podsByNode(ctx, ds, false)
	if err != nil {
		return 0, err
	}
	c := statusCounts(newPlacement(ds), nodes, byNode, hash, dc.clock.Now())
	st := ds.Status
	unavailable := c.desired - c.available
	if st.DesiredNumberScheduled == c.desired && st.CurrentNumberScheduled == c.current &&
		st.NumberMisscheduled == c.misscheduled && st.NumberReady == c.ready &&
		st.UpdatedNumberScheduled == c.updated && st.NumberAvailable == c.available &&
		st.NumberUnavailable == unavailable && st.ObservedGeneration >= ds.Generation {
		return untilAvailable(ds, c), nil
	}
	up := ds.DeepCopy()
	for i := 0; ; i++ {
		if observed {
			up.Status.ObservedGeneration = ds.Generation
		}
		up.Status.DesiredNumberScheduled = c.desired
		up.Status.CurrentNumberScheduled = c.current
		up.Status.NumberMisscheduled = c.misscheduled
		up.Status.NumberReady = c.ready
		up.Status.UpdatedNumberScheduled = c.updated
		up.Status.NumberAvailable = c.available
		up.Status.NumberUnavailable = unavailable
		_, err = dc.client.AppsV1().DaemonSets(ds.Namespace).UpdateStatus(ctx, up, metav1.UpdateOptions{})
		if err == nil || i >= statusUpdateRetries {
			break
		}
		if up, err = dc.client.AppsV1().DaemonSets(ds.Namespace).Get(ctx, ds.Name, metav1.GetOptions{}); err != nil {
			break
		}
	}
	if err != nil {
		return 0, fmt.Errorf("store status of daemon set %s/%s: %w", ds.Namespace, ds.Name, err)
	}
	return untilAvailable(ds, c), nil
}

// untilAvailable is when ready pods not yet available may be (0: none
// waits).
func untilAvailable(ds *appsv1.DaemonSet, c counts) time.Duration {
	if ds.Spec.MinReadySeconds > 0 && c.ready != c.available {
		return time.Duration(ds.Spec.MinReadySeconds) * time.Second
	}
	return 0
}
