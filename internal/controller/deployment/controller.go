package deployment

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	appslisters "k8s.io/client-go/listers/apps/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/utils/clock"

	"github.com/kemudi/kemudi/internal/controller"
)

// workers syncing Deployments concurrently. Upstream's
// --concurrent-deployment-syncs is 5; a sync is mostly waiting on API
// round trips to a local server, and 500 Deployments created at once
// wait in line behind 5 workers (bench/deploybench: 166 -> 290 pods/s).
const workers = 16

var (
	deploymentKind = appsv1.SchemeGroupVersion.WithKind("Deployment")
	replicaSetKind = appsv1.SchemeGroupVersion.WithKind("ReplicaSet")
)

// Controller rolls Deployments out.
type Controller struct {
	client      kubernetes.Interface
	deployments appslisters.DeploymentLister
	sets        appslisters.ReplicaSetLister
	setIndex    cache.Indexer
	podIndex    cache.Indexer
	recorder    record.EventRecorder
	loop        *controller.Loop
	clock       clock.PassiveClock
	log         *slog.Logger
}

// New builds the Deployment controller.
func New(c *controller.Context) (*Controller, error) {
	dInf := c.Informers.Apps().V1().Deployments()
	rsInf := c.Informers.Apps().V1().ReplicaSets()
	podInf := c.Informers.Core().V1().Pods()
	dc := &Controller{
		client:      c.Client,
		deployments: dInf.Lister(),
		sets:        rsInf.Lister(),
		setIndex:    rsInf.Informer().GetIndexer(),
		podIndex:    podInf.Informer().GetIndexer(),
		recorder:    c.Recorder("deployment-controller"),
		clock:       c.Clock,
		log:         c.Logger("deployment"),
	}
	dc.loop = c.NewLoop("deployment", dc.sync, dc.log)
	if err := controller.AddPodControllerIndex(podInf.Informer()); err != nil {
		return nil, err
	}
	if err := controller.AddControllerUIDIndex(rsInf.Informer()); err != nil {
		return nil, err
	}
	if _, err := dInf.Informer().AddEventHandler(dc.loop.Handlers()); err != nil {
		return nil, err
	}
	owners := &controller.OwnerHandler[*appsv1.Deployment]{
		Kind:     deploymentKind.Kind,
		Get:      func(ns, name string) (*appsv1.Deployment, error) { return dc.deployments.Deployments(ns).Get(name) },
		Adopters: dc.selecting,
		Enqueue:  func(d *appsv1.Deployment) { dc.loop.Enqueue(d) },
	}
	if _, err := rsInf.Informer().AddEventHandler(owners.Handlers()); err != nil {
		return nil, err
	}
	// Only Recreate waits on pods (for the old ones to be gone).
	if _, err := podInf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{DeleteFunc: dc.deletePod}); err != nil {
		return nil, err
	}
	return dc, nil
}

// Run syncs Deployments until ctx ends.
func (dc *Controller) Run(ctx context.Context) error {
	dc.log.Info("starting")
	dc.loop.Run(ctx, workers)
	return nil
}

// resolve returns the Deployment a controller reference names, if it is
// still that object.
func (dc *Controller) resolve(namespace string, ref *metav1.OwnerReference) *appsv1.Deployment {
	return controller.ResolveControllerRef(ref, deploymentKind.Kind, dc.deployments.Deployments(namespace).Get)
}

// selecting returns the Deployments whose selector matches an orphan set.
func (dc *Controller) selecting(rs metav1.Object) []*appsv1.Deployment {
	if len(rs.GetLabels()) == 0 {
		return nil
	}
	ds, err := dc.deployments.Deployments(rs.GetNamespace()).List(labels.Everything())
	if err != nil {
		return nil
	}
	var out []*appsv1.Deployment
	for _, d := range ds {
		sel, err := metav1.LabelSelectorAsSelector(d.Spec.Selector)
		if err != nil || sel.Empty() || !sel.Matches(labels.Set(rs.GetLabels())) {
			continue
		}
		out = append(out, d)
	}
	return out
}

func (dc *Controller) deletePod(obj interface{}) {
	pod, ok := controller.DeletedObject[*corev1.Pod](obj)
	if !ok {
		return
	}
	ref := metav1.GetControllerOfNoCopy(pod)
	if ref == nil {
		return
	}
	rs := controller.ResolveControllerRef(ref, replicaSetKind.Kind, dc.sets.ReplicaSets(pod.Namespace).Get)
	if rs == nil {
		return
	}
	rsRef := metav1.GetControllerOfNoCopy(rs)
	if rsRef == nil {
		return
	}
	if d := dc.resolve(rs.Namespace, rsRef); d != nil && d.Spec.Strategy.Type == appsv1.RecreateDeploymentStrategyType {
		dc.loop.Enqueue(d)
	}
}

// sync brings one Deployment's sets in line with its spec.
func (dc *Controller) sync(ctx context.Context, key string) error {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return controller.Terminal(err)
	}
	cached, err := dc.deployments.Deployments(ns).Get(name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	d := cached.DeepCopy()

	if d.Spec.Selector == nil || (len(d.Spec.Selector.MatchLabels) == 0 && len(d.Spec.Selector.MatchExpressions) == 0) {
		dc.recorder.Eventf(d, corev1.EventTypeWarning, "SelectingAll", "This deployment is selecting all pods. A non-empty selector is required.")
		if d.Status.ObservedGeneration < d.Generation {
			d.Status.ObservedGeneration = d.Generation
			_, err := dc.client.AppsV1().Deployments(ns).UpdateStatus(ctx, d, metav1.UpdateOptions{})
			return err
		}
		return nil
	}

	sets, err := dc.claimReplicaSets(ctx, d)
	if err != nil {
		return err
	}
	if d.DeletionTimestamp != nil {
		return dc.syncStatusOnly(ctx, d, sets)
	}
	if err := dc.checkPausedConditions(ctx, d); err != nil {
		return err
	}
	if d.Spec.Paused {
		return dc.syncScale(ctx, d, sets)
	}
	if rollbackTo(d) != nil {
		return dc.rollback(ctx, d, sets)
	}
	scaling, err := dc.isScalingEvent(ctx, d, sets)
	if err != nil {
		return err
	}
	if scaling {
		return dc.syncScale(ctx, d, sets)
	}
	switch d.Spec.Strategy.Type {
	case appsv1.RecreateDeploymentStrategyType:
		return dc.rolloutRecreate(ctx, d, sets)
	case appsv1.RollingUpdateDeploymentStrategyType:
		return dc.rolloutRolling(ctx, d, sets)
	}
	return controller.Terminal(fmt.Errorf("deployment %s: unexpected strategy type %q", key, d.Spec.Strategy.Type))
}

// claimReplicaSets returns the Deployment's sets, adopting the orphans
// its selector matches and releasing those it no longer matches.
func (dc *Controller) claimReplicaSets(ctx context.Context, d *appsv1.Deployment) ([]*appsv1.ReplicaSet, error) {
	all, err := dc.candidateSets(d)
	if err != nil {
		return nil, err
	}
	selector, err := metav1.LabelSelectorAsSelector(d.Spec.Selector)
	if err != nil {
		return nil, controller.Terminal(fmt.Errorf("deployment %s/%s has an invalid selector: %w", d.Namespace, d.Name, err))
	}
	refs := &controller.RefManager{
		Owner:    d,
		Kind:     deploymentKind,
		Selector: selector,
		CanAdopt: controller.RecheckOwner(d.UID, func(ctx context.Context) (metav1.Object, error) {
			return dc.client.AppsV1().Deployments(d.Namespace).Get(ctx, d.Name, metav1.GetOptions{})
		}),
		Patch: func(ctx context.Context, namespace, name string, patch []byte) error {
			_, err := dc.client.AppsV1().ReplicaSets(namespace).Patch(ctx, name, types.StrategicMergePatchType, patch, metav1.PatchOptions{})
			return err
		},
	}
	return controller.Claim(ctx, refs, all)
}

// podsBySet returns the pods of each set (for Recreate).
func (dc *Controller) podsBySet(sets []*appsv1.ReplicaSet) (map[types.UID][]*corev1.Pod, error) {
	out := make(map[types.UID][]*corev1.Pod, len(sets))
	for _, rs := range sets {
		pods, err := controller.PodsControlledBy(dc.podIndex, rs, replicaSetKind.Kind, false)
		if err != nil {
			return nil, err
		}
		out[rs.UID] = pods
	}
	return out, nil
}

func (dc *Controller) now() time.Time { return dc.clock.Now() }

// candidateSets are the sets a Deployment may claim: those it controls
// and the orphans of its namespace (not every set of the namespace).
func (dc *Controller) candidateSets(d *appsv1.Deployment) ([]*appsv1.ReplicaSet, error) {
	return controller.ControlledBy[*appsv1.ReplicaSet](dc.setIndex, string(d.UID), d.Namespace)
}
