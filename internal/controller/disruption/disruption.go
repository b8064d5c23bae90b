// Package disruption is the disruption controller: it keeps the status
// of every PodDisruptionBudget (currentHealthy, desiredHealthy,
// expectedPods, disruptionsAllowed, disruptedPods, observedGeneration,
// the DisruptionAllowed condition) from its pods and their controllers'
// replicas, which the API server's eviction reads; and it clears the
// DisruptionTarget condition of pods an eviction marked but did not
// delete. As upstream's.
package disruption

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	appslisters "k8s.io/client-go/listers/apps/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	policylisters "k8s.io/client-go/listers/policy/v1"
	"k8s.io/client-go/restmapper"
	"k8s.io/client-go/scale"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	pdbhelper "k8s.io/component-helpers/apps/poddisruptionbudget"
	"k8s.io/utils/clock"

	"github.com/kemudi/kemudi/internal/controller"
)

// Name is the controller's name in --controllers; Component its name in
// events (upstream's).
const (
	Name      = "disruption"
	Component = "controllermanager"
)

const (
	workers = 2
	// staleDisruptionTimeout is how long a pod may keep a DisruptionTarget
	// condition without being deleted.
	staleDisruptionTimeout = 2 * time.Minute
)

// Controller is the disruption controller.
type Controller struct {
	client   kubernetes.Interface
	pdbs     policylisters.PodDisruptionBudgetLister
	pods     corelisters.PodLister
	rcs      corelisters.ReplicationControllerLister
	rss      appslisters.ReplicaSetLister
	deploys  appslisters.DeploymentLister
	sets     appslisters.StatefulSetLister
	scales   scale.ScalesGetter
	mapper   apimeta.RESTMapper
	disco    discovery.DiscoveryInterface
	recorder record.EventRecorder
	clock    clock.PassiveClock
	log      *slog.Logger
	loop     *controller.Loop
	stale    *controller.Loop
}

// New builds the disruption controller.
func New(c *controller.Context) (*Controller, error) {
	clk := c.Clock
	inf := c.Informers
	log := c.Logger(Name)
	dc := &Controller{
		client:   c.Client,
		pdbs:     inf.Policy().V1().PodDisruptionBudgets().Lister(),
		pods:     inf.Core().V1().Pods().Lister(),
		rcs:      inf.Core().V1().ReplicationControllers().Lister(),
		rss:      inf.Apps().V1().ReplicaSets().Lister(),
		deploys:  inf.Apps().V1().Deployments().Lister(),
		sets:     inf.Apps().V1().StatefulSets().Lister(),
		recorder: c.Recorder(Component),
		clock:    clk,
		log:      log,
	}
	if c.Config != nil {
		disco, err := discovery.NewDiscoveryClientForConfig(c.Config)
		if err != nil {
			return nil, fmt.Errorf("discovery client: %w", err)
		}
		dc.disco = disco
		dc.mapper = restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(disco))
		if dc.scales, err = scale.NewForConfig(c.Config, dc.mapper, dynamic.LegacyAPIPathResolverFunc, scale.NewDiscoveryScaleKindResolver(disco)); err != nil {
			return nil, fmt.Errorf("scale client: %w", err)
		}
	}
	dc.loop = c.NewLoop(Name, dc.sync, log)
	dc.stale = c.NewLoop(Name+"-stale-pod-disruption", dc.syncStalePod, log)
	if _, err := inf.Policy().V1().PodDisruptionBudgets().Informer().AddEventHandler(dc.loop.Handlers()); err != nil {
		return nil, err
	}
	onPod := func(obj interface{}) {
		p, ok := controller.DeletedObject[*corev1.Pod](obj)
		if !ok {
			return
		}
		if pdb := dc.pdbFor(p); pdb != nil {
			dc.loop.Enqueue(pdb)
		}
	}
	checkStale := func(obj interface{}) {
		if p, ok := obj.(*corev1.Pod); ok {
			if has, after := dc.staleDisruption(p); has {
				dc.stale.EnqueueAfter(p, after)
			}
		}
	}
	if _, err := inf.Core().V1().Pods().Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj interface{}) { onPod(obj); checkStale(obj) },
		UpdateFunc: func(_, obj interface{}) { onPod(obj); checkStale(obj) },
		DeleteFunc: onPod,
	}); err != nil {
		return nil, err
	}
	return dc, nil
}

// Run keeps budgets' status until ctx ends.
func (dc *Controller) Run(ctx context.Context) error {
	go dc.stale.Run(ctx, 1)
	dc.loop.Run(ctx, workers)
	return nil
}

// pdbFor returns the budget selecting a pod (the first, with a warning,
// when several do).
func (dc *Controller) pdbFor(p *corev1.Pod) *policyv1.PodDisruptionBudget {
	pdbs, err := dc.pdbs.GetPodPodDisruptionBudgets(p)
	if err != nil || len(pdbs) == 0 {
		return nil
	}
	if len(pdbs) > 1 {
		dc.recorder.Eventf(p, corev1.EventTypeWarning, "MultiplePodDisruptionBudgets",
			"Pod %q/%q matches multiple PodDisruptionBudgets.  Chose %q arbitrarily.", p.Namespace, p.Name, pdbs[0].Name)
	}
	return pdbs[0]
}

func (dc *Controller) sync(ctx context.Context, key string) error {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return controller.Terminal(err)
	}
	pdb, err := dc.pdbs.PodDisruptionBudgets(ns).Get(name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	recheck, err := dc.trySync(ctx, pdb)
	if err == nil {
		return controller.RequeueSoonest(recheck)
	}
	if apierrors.IsConflict(err) {
		return err
	}
	dc.log.Warn("failed to sync budget", "pdb", key, "err", err)
	return dc.failSafe(ctx, pdb, err)
}

// trySync writes the budget's status; it returns when to look again
// because a disrupted pod's grace ends (0: nothing to wait for).
func (dc *Controller) trySync(ctx context.Context, pdb *policyv1.PodDisruptionBudget) (time.Duration, error) {
	sel, err := metav1.LabelSelectorAsSelector(pdb.Spec.Selector)
	if err != nil {
		dc.recorder.Eventf(pdb, corev1.EventTypeWarning, "NoPods", "Failed to get pods: %v", err)
		return 0, err
	}
	pods, err := dc.pods.Pods(pdb.Namespace).List(sel)
	if err != nil {
		dc.recorder.Eventf(pdb, corev1.EventTypeWarning, "NoPods", "Failed to get pods: %v", err)
		return 0, err
	}
	if len(pods) == 0 {
		dc.recorder.Eventf(pdb, corev1.EventTypeNormal, "NoPods", "No matching pods found")
	}
	expected, desired, unmanaged, err := expectedCounts(ctx, pdb, pods, dc.finders())
	if err != nil {
		dc.recorder.Eventf(pdb, corev1.EventTypeWarning, "CalculateExpectedPodCountFailed", "Failed to calculate the number of expected pods: %v", err)
		return 0, err
	}
	if len(unmanaged) > 0 {
		dc.recorder.Eventf(pdb, corev1.EventTypeWarning, "UnmanagedPods", "Pods selected by this PodDisruptionBudget (selector: %v) were found "+
			"to be unmanaged. As a result, the status of the PDB cannot be calculated correctly, which may result in undefined behavior. "+
			"To account for these pods please set \".spec.minAvailable\" "+
			"field of the PDB to an integer value.", pdb.Spec.Selector)
	}
	now := dc.clock.Now()
	disrupted, expired, recheck := disruptedPods(pdb, pods, now)
	for _, p := range expired {
		dc.recorder.Eventf(p, corev1.EventTypeWarning, "NotDeleted", "Pod was expected by PDB %s/%s to be deleted but it wasn't", pdb.Namespace, pdb.Namespace)
	}
	current := countHealthy(pods, disrupted, now)
	if err := dc.writeStatus(ctx, pdb, current, desired, expected, disrupted); err != nil {
		return 0, err
	}
	if recheck == nil {
		return 0, nil
	}
	return max(recheck.Sub(now), time.Millisecond), nil
}

func (dc *Controller) writeStatus(ctx context.Context, pdb *policyv1.PodDisruptionBudget, current, desired, expected int32, disrupted map[string]metav1.Time) error {
	allowed := disruptionsAllowed(current, desired, expected)
	st := pdb.Status
	if st.CurrentHealthy == current && st.DesiredHealthy == desired && st.ExpectedPods == expected &&
		st.DisruptionsAllowed == allowed && equality.Semantic.DeepEqual(st.DisruptedPods, disrupted) &&
		st.ObservedGeneration == pdb.Generation && pdbhelper.ConditionsAreUpToDate(pdb) {
		return nil
	}
	up := pdb.DeepCopy()
	up.Status = policyv1.PodDisruptionBudgetStatus{
		CurrentHealthy:     current,
		DesiredHealthy:     desired,
		ExpectedPods:       expected,
		DisruptionsAllowed: allowed,
		DisruptedPods:      disrupted,
		ObservedGeneration: pdb.Generation,
		Conditions:         up.Status.Conditions,
	}
	pdbhelper.UpdateDisruptionAllowedCondition(up)
	_, err := dc.client.PolicyV1().PodDisruptionBudgets(up.Namespace).UpdateStatus(ctx, up, metav1.UpdateOptions{})
	return err
}

// failSafe allows no disruption and says why in the condition.
func (dc *Controller) failSafe(ctx context.Context, pdb *policyv1.PodDisruptionBudget, cause error) error {
	up := pdb.DeepCopy()
	up.Status.DisruptionsAllowed = 0
	if up.Status.Conditions == nil {
		up.Status.Conditions = []metav1.Condition{}
	}
	apimeta.SetStatusCondition(&up.Status.Conditions, metav1.Condition{
		Type:               policyv1.DisruptionAllowedCondition,
		Status:             metav1.ConditionFalse,
		Reason:             policyv1.SyncFailedReason,
		Message:            cause.Error(),
		ObservedGeneration: up.Status.ObservedGeneration,
	})
	if _, err := dc.client.PolicyV1().PodDisruptionBudgets(up.Namespace).UpdateStatus(ctx, up, metav1.UpdateOptions{}); err != nil {
		return err
	}
	return cause
}

// finders resolve pods' controllers: the known workloads from the
// caches, anything else through its scale subresource.
func (dc *Controller) finders() []finder {
	fs := []finder{dc.replicationController, dc.deployment, dc.replicaSet, dc.statefulSet}
	if dc.scales != nil {
		fs = append(fs, dc.scaleSubresource)
	}
	return fs
}

func groupKindIs(ref *metav1.OwnerReference, kind string, groups ...string) (bool, error) {
	gv, err := schema.ParseGroupVersion(ref.APIVersion)
	if err != nil {
		return false, err
	}
	return ref.Kind == kind && slices.Contains(groups, gv.Group), nil
}

func (dc *Controller) replicaSet(_ context.Context, ref *metav1.OwnerReference, ns string) (*scaleOf, error) {
	if ok, err := groupKindIs(ref, "ReplicaSet", "apps", "extensions"); !ok || err != nil {
		return nil, err
	}
	rs, err := dc.rss.ReplicaSets(ns).Get(ref.Name)
	if err != nil || rs.UID != ref.UID {
		return nil, nil
	}
	if owner := metav1.GetControllerOfNoCopy(rs); owner != nil && owner.Kind == "Deployment" {
		return nil, nil // counted by its Deployment
	}
	return &scaleOf{rs.UID, replicas(rs.Spec.Replicas)}, nil
}

func (dc *Controller) deployment(_ context.Context, ref *metav1.OwnerReference, ns string) (*scaleOf, error) {
	if ok, err := groupKindIs(ref, "ReplicaSet", "apps", "extensions"); !ok || err != nil {
		return nil, err
	}
	rs, err := dc.rss.ReplicaSets(ns).Get(ref.Name)
	if err != nil || rs.UID != ref.UID {
		return nil, nil
	}
	owner := metav1.GetControllerOfNoCopy(rs)
	if owner == nil {
		return nil, nil
	}
	if ok, err := groupKindIs(owner, "Deployment", "apps", "extensions"); !ok || err != nil {
		return nil, err
	}
	d, err := dc.deploys.Deployments(ns).Get(owner.Name)
	if err != nil || d.UID != owner.UID {
		return nil, nil
	}
	return &scaleOf{d.UID, replicas(d.Spec.Replicas)}, nil
}

func (dc *Controller) statefulSet(_ context.Context, ref *metav1.OwnerReference, ns string) (*scaleOf, error) {
	if ok, err := groupKindIs(ref, "StatefulSet", "apps"); !ok || err != nil {
		return nil, err
	}
	ss, err := dc.sets.StatefulSets(ns).Get(ref.Name)
	if err != nil || ss.UID != ref.UID {
		return nil, nil
	}
	return &scaleOf{ss.UID, replicas(ss.Spec.Replicas)}, nil
}

func (dc *Controller) replicationController(_ context.Context, ref *metav1.OwnerReference, ns string) (*scaleOf, error) {
	if ok, err := groupKindIs(ref, "ReplicationController", ""); !ok || err != nil {
		return nil, err
	}
	rc, err := dc.rcs.ReplicationControllers(ns).Get(ref.Name)
	if err != nil || rc.UID != ref.UID {
		return nil, nil
	}
	return &scaleOf{rc.UID, replicas(rc.Spec.Replicas)}, nil
}

// scaleSubresource reads any other controller's replicas from its scale
// subresource (custom workloads).
func (dc *Controller) scaleSubresource(ctx context.Context, ref *metav1.OwnerReference, ns string) (*scaleOf, error) {
	gv, err := schema.ParseGroupVersion(ref.APIVersion)
	if err != nil {
		return nil, err
	}
	mapping, err := dc.mapper.RESTMapping(schema.GroupKind{Group: gv.Group, Kind: ref.Kind}, gv.Version)
	if err != nil {
		return nil, err
	}
	gr := mapping.Resource.GroupResource()
	s, err := dc.scales.Scales(ns).Get(ctx, gr, ref.Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		if ok, derr := dc.implementsScale(mapping.Resource); derr != nil {
			return nil, derr
		} else if !ok {
			return nil, fmt.Errorf("%s does not implement the scale subresource", gr.String())
		}
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if s.UID != ref.UID {
		return nil, nil
	}
	return &scaleOf{s.UID, s.Spec.Replicas}, nil
}

func (dc *Controller) implementsScale(gvr schema.GroupVersionResource) (bool, error) {
	list, err := dc.disco.ServerResourcesForGroupVersion(gvr.GroupVersion().String())
	if err != nil {
		return false, err
	}
	for _, r := range list.APIResources {
		if r.Name == gvr.Resource+"/scale" && r.Kind == "Scale" {
			return true, nil
		}
	}
	return false, nil
}

func replicas(r *int32) int32 {
	if r == nil {
		return 1
	}
	return *r
}

// staleDisruption says whether a live pod carries a DisruptionTarget
// condition an eviction set and no deletion followed, and how long until
// it counts as stale.
func (dc *Controller) staleDisruption(p *corev1.Pod) (bool, time.Duration) {
	if p.DeletionTimestamp != nil || controller.IsPodTerminal(p) {
		return false, 0
	}
	for _, c := range p.Status.Conditions {
		if c.Type != corev1.DisruptionTarget {
			continue
		}
		if c.Status != corev1.ConditionTrue || c.Reason == corev1.PodReasonTerminationByKubelet {
			return false, 0
		}
		return true, max(staleDisruptionTimeout-dc.clock.Since(c.LastTransitionTime.Time), 0)
	}
	return false, 0
}

// syncStalePod resets a stale DisruptionTarget condition to False.
func (dc *Controller) syncStalePod(ctx context.Context, key string) error {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return controller.Terminal(err)
	}
	p, err := dc.pods.Pods(ns).Get(name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	has, after := dc.staleDisruption(p)
	if !has {
		return nil
	}
	if after > 0 {
		return &controller.Requeue{After: after}
	}
	up := p.DeepCopy()
	for i := range up.Status.Conditions {
		c := &up.Status.Conditions[i]
		if c.Type == corev1.DisruptionTarget {
			c.Status = corev1.ConditionFalse
			c.LastTransitionTime = metav1.NewTime(dc.clock.Now())
			c.Reason, c.Message = "", ""
			c.ObservedGeneration = up.Generation
		}
	}
	_, err = dc.client.CoreV1().Pods(ns).UpdateStatus(ctx, up, metav1.UpdateOptions{})
	return err
}
