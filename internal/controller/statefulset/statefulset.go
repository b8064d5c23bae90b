// Package statefulset is the StatefulSet controller: pods with stable,
// ordered names (<set>-0, <set>-1, ...), hostnames under the governing
// service and claims from volumeClaimTemplates (<template>-<set>-<n>,
// kept or deleted by the claim retention policy); OrderedReady and
// Parallel management; rolling updates from the highest ordinal down to
// the partition within maxUnavailable; ControllerRevisions; status and
// events as upstream's.
package statefulset

import (
	"context"
	"fmt"
	"reflect"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/kubernetes"
	appslisters "k8s.io/client-go/listers/apps/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/utils/clock"

	"github.com/kemudi/kemudi/internal/controller"
)

// Name is the controller's name in --controllers; Component its name in
// events.
const (
	Name      = "statefulset"
	Component = "statefulset-controller"
)

var controllerKind = appsv1.SchemeGroupVersion.WithKind("StatefulSet")

const workers = 5

// Controller is the StatefulSet controller.
type Controller struct {
	client     kubernetes.Interface
	sets       appslisters.StatefulSetLister
	podIndexer cache.Indexer
	revisions  appslisters.ControllerRevisionLister
	recorder   record.EventRecorder
	clock      clock.PassiveClock
	loop       *controller.Loop
	ops        podOps
}

// New builds the StatefulSet controller.
func New(c *controller.Context) (*Controller, error) {
	clk := c.Clock
	setInf := c.Informers.Apps().V1().StatefulSets()
	podInf := c.Informers.Core().V1().Pods()
	revInf := c.Informers.Apps().V1().ControllerRevisions()
	pvcInf := c.Informers.Core().V1().PersistentVolumeClaims()
	if err := controller.AddPodControllerIndex(podInf.Informer()); err != nil {
		return nil, err
	}
	log := c.Logger(Name)
	sc := &Controller{
		client:     c.Client,
		sets:       setInf.Lister(),
		podIndexer: podInf.Informer().GetIndexer(),
		revisions:  revInf.Lister(),
		recorder:   c.Recorder(Component),
		clock:      clk,
	}
	sc.ops = &podControl{client: c.Client, claims: pvcInf.Lister(), recorder: sc.recorder}
	sc.loop = c.NewLoop(Name, sc.sync, log)
	if _, err := setInf.Informer().AddEventHandler(sc.loop.Handlers()); err != nil {
		return nil, err
	}
	// No requeue when a pod becomes ready: sync requeues until its pods
	// are available (nextAvailabilityCheck), as upstream's.
	owners := &controller.OwnerHandler[*appsv1.StatefulSet]{
		Kind:     controllerKind.Kind,
		Get:      func(ns, name string) (*appsv1.StatefulSet, error) { return sc.sets.StatefulSets(ns).Get(name) },
		Adopters: sc.selecting,
		Enqueue:  func(set *appsv1.StatefulSet) { sc.loop.Enqueue(set) },
	}
	if _, err := podInf.Informer().AddEventHandler(owners.Handlers()); err != nil {
		return nil, err
	}
	return sc, nil
}

// Run syncs StatefulSets until ctx ends.
func (sc *Controller) Run(ctx context.Context) error {
	sc.loop.Run(ctx, workers)
	return nil
}

// selecting returns the StatefulSets whose selector matches an orphan pod.
func (sc *Controller) selecting(o metav1.Object) []*appsv1.StatefulSet {
	p, ok := o.(*corev1.Pod)
	if !ok {
		return nil
	}
	sets, err := sc.sets.GetPodStatefulSets(p)
	if err != nil {
		return nil
	}
	return sets
}

func (sc *Controller) recheck(set *appsv1.StatefulSet) func(context.Context) error {
	return controller.RecheckOwner(set.UID, func(ctx context.Context) (metav1.Object, error) {
		return sc.client.AppsV1().StatefulSets(set.Namespace).Get(ctx, set.Name, metav1.GetOptions{})
	})
}

func (sc *Controller) sync(ctx context.Context, key string) error {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return controller.Terminal(err)
	}
	set, err := sc.sets.StatefulSets(ns).Get(name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	sel, err := metav1.LabelSelectorAsSelector(set.Spec.Selector)
	if err != nil {
		return controller.Terminal(fmt.Errorf("statefulset %s selector: %w", key, err))
	}
	set = set.DeepCopy()
	if set.Spec.Replicas == nil {
		return controller.Terminal(fmt.Errorf("statefulset %s has no replicas (not defaulted)", key))
	}
	// Revisions: ours, and orphans the selector matches.
	allRevs, err := sc.revisions.ControllerRevisions(ns).List(labels.Everything())
	if err != nil {
		return err
	}
	revs, err := controller.Claim(ctx, &controller.RefManager{
		Owner: set, Kind: controllerKind, Selector: sel,
		Patch: controller.RevisionPatcher(sc.client), CanAdopt: sc.recheck(set),
	}, allRevs)
	if err != nil {
		return err
	}
	candidates, err := controller.PodsControlledBy(sc.podIndexer, set, controllerKind.Kind, true)
	if err != nil {
		return err
	}
	pods, err := controller.Claim(ctx, &controller.RefManager{
		Owner: set, Kind: controllerKind, Selector: sel,
		Patch: controller.PodPatcher(sc.client), CanAdopt: sc.recheck(set),
	}, candidates, func(p *corev1.Pod) bool { return isMemberOf(set, p) })
	if err != nil {
		return err
	}
	current, updateRev, collisionCount, err := sc.revisionsOf(ctx, set, revs)
	if err != nil {
		return err
	}
	now := sc.clock.Now()
	status, err := sc.reconcile(ctx, set, current, updateRev, collisionCount, pods, now)
	if histErr := sc.truncateHistory(ctx, set, pods, revs, current, updateRev); histErr != nil && err == nil {
		err = histErr
	}
	if err != nil {
		return err
	}
	if set.Spec.MinReadySeconds > 0 && status != nil && status.ReadyReplicas != status.AvailableReplicas {
		return controller.RequeueAfter(nextAvailabilityCheck(pods, set.Spec.MinReadySeconds, now))
	}
	return nil
}

// reconcile runs the decision core and writes the status it returns.
func (sc *Controller) reconcile(ctx context.Context, set *appsv1.StatefulSet, current, updateRev *appsv1.ControllerRevision, collisionCount int32, pods []*corev1.Pod, now time.Time) (*appsv1.StatefulSetStatus, error) {
	currentSet, err := applyRevision(set, current)
	if err != nil {
		return nil, err
	}
	updateSet, err := applyRevision(set, updateRev)
	if err != nil {
		return nil, err
	}
	status, err := update(ctx, sc.ops, set, currentSet, updateSet, current.Name, updateRev.Name, collisionCount, pods, now)
	if status == nil {
		return nil, err
	}
	completeUpdate(set, status)
	if statusErr := sc.writeStatus(ctx, set, status); statusErr != nil && err == nil {
		err = statusErr
	}
	return status, err
}

func (sc *Controller) writeStatus(ctx context.Context, set *appsv1.StatefulSet, st *appsv1.StatefulSetStatus) error {
	cur := set.Status
	if st.ObservedGeneration <= cur.ObservedGeneration && st.Replicas == cur.Replicas &&
		st.CurrentReplicas == cur.CurrentReplicas && st.ReadyReplicas == cur.ReadyReplicas &&
		st.UpdatedReplicas == cur.UpdatedReplicas && st.CurrentRevision == cur.CurrentRevision &&
		st.AvailableReplicas == cur.AvailableReplicas && st.UpdateRevision == cur.UpdateRevision &&
		reflect.DeepEqual(cur.Conditions, st.Conditions) {
		return nil
	}
	up := set.DeepCopy()
	for attempt := 0; ; attempt++ {
		up.Status = *st
		_, err := sc.client.AppsV1().StatefulSets(up.Namespace).UpdateStatus(ctx, up, metav1.UpdateOptions{})
		if err == nil {
			return nil
		}
		if !apierrors.IsConflict(err) || attempt >= 4 {
			return fmt.Errorf("update status of statefulset %s/%s: %w", set.Namespace, set.Name, err)
		}
		fresh, getErr := sc.sets.StatefulSets(set.Namespace).Get(set.Name)
		if getErr != nil {
			return err
		}
		up = fresh.DeepCopy()
	}
}

// nextAvailabilityCheck is when the first ready pod becomes available.
func nextAvailabilityCheck(pods []*corev1.Pod, minReady int32, now time.Time) time.Duration {
	next := time.Duration(minReady) * time.Second
	if d, ok := controller.SoonestAvailable(pods, minReady, now); ok && d < next {
		next = d
	}
	return next
}
