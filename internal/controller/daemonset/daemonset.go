// Package daemonset is the DaemonSet controller: one pod on every node
// the DaemonSet's node selector, node affinity and tolerations admit
// (with upstream's automatic daemon tolerations), each pinned to its node
// by node affinity for the scheduler to bind; rolling updates within
// maxUnavailable and maxSurge, ControllerRevisions and the
// controller-revision-hash label; status and events as upstream's.
package daemonset

import (
	"context"
	"reflect"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	appslisters "k8s.io/client-go/listers/apps/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/client-go/util/flowcontrol"
	"k8s.io/utils/clock"

	"github.com/kemudi/kemudi/internal/controller"
)

// Name is the controller's name in --controllers; Component its name in
// events.
const (
	Name      = "daemonset"
	Component = "daemonset-controller"
)

var controllerKind = appsv1.SchemeGroupVersion.WithKind("DaemonSet")

const (
	// burstReplicas bounds the pods created or deleted per sync.
	burstReplicas = 250
	workers       = 2
	// Failed daemon pods are replaced after a backoff from 1 s to 15 min.
	failedPodsBackoffInitial = time.Second
	failedPodsBackoffMax     = 15 * time.Minute
	statusUpdateRetries      = 1
)

// Event reasons of the DaemonSet controller.
const (
	reasonSelectingAll     = "SelectingAll"
	reasonFailedDaemonPod  = "FailedDaemonPod"
	reasonSucceededDaemon  = "SucceededDaemonPod"
	reasonSuccessfulCreate = "SuccessfulCreate"
	reasonFailedCreate     = "FailedCreate"
	reasonSuccessfulDelete = "SuccessfulDelete"
	reasonFailedDelete     = "FailedDelete"
)

// Controller is the DaemonSet controller.
type Controller struct {
	client         kubernetes.Interface
	dsLister       appslisters.DaemonSetLister
	podIndexer     cache.Indexer
	nodeLister     corelisters.NodeLister
	revisionLister appslisters.ControllerRevisionLister
	recorder       record.EventRecorder
	clock          clock.PassiveClock

	loop         *controller.Loop
	nodes        *controller.Loop
	expectations *controller.Expectations
	backoff      *flowcontrol.Backoff
}

// New builds the DaemonSet controller.
func New(c *controller.Context) (*Controller, error) {
	clk := c.Clock
	dsInf := c.Informers.Apps().V1().DaemonSets()
	podInf := c.Informers.Core().V1().Pods()
	nodeInf := c.Informers.Core().V1().Nodes()
	revInf := c.Informers.Apps().V1().ControllerRevisions()
	if err := controller.AddPodControllerIndex(podInf.Informer()); err != nil {
		return nil, err
	}
	if err := controller.AddPodNodeIndex(podInf.Informer()); err != nil {
		return nil, err
	}
	log := c.Logger(Name)
	dc := &Controller{
		client:         c.Client,
		dsLister:       dsInf.Lister(),
		podIndexer:     podInf.Informer().GetIndexer(),
		nodeLister:     nodeInf.Lister(),
		revisionLister: revInf.Lister(),
		recorder:       c.Recorder(Component),
		clock:          clk,
		expectations:   controller.NewExpectations(clk),
		backoff:        flowcontrol.NewBackOffWithJitter(failedPodsBackoffInitial, failedPodsBackoffMax, 0),
	}
	dc.backoff.Clock = clk
	dc.loop = c.NewLoop(Name, dc.sync, log)
	dc.nodes = c.NewLoop(Name+"-node", dc.syncNode, log)
	handlers := []struct {
		inf cache.SharedIndexInformer
		h   cache.ResourceEventHandler
	}{
		{dsInf.Informer(), cache.ResourceEventHandlerFuncs{
			AddFunc: dc.loop.Enqueue,
			UpdateFunc: func(oldObj, curObj interface{}) {
				old, cur := oldObj.(*appsv1.DaemonSet), curObj.(*appsv1.DaemonSet)
				if old.UID != cur.UID {
					dc.deleteDS(cache.DeletedFinalStateUnknown{Key: key(old.Namespace, old.Name), Obj: old})
				}
				dc.loop.Enqueue(cur)
			},
			DeleteFunc: dc.deleteDS,
		}},
		{podInf.Informer(), (&controller.OwnerHandler[*appsv1.DaemonSet]{
			Kind:            controllerKind.Kind,
			Get:             func(ns, name string) (*appsv1.DaemonSet, error) { return dc.dsLister.DaemonSets(ns).Get(name) },
			Adopters:        dc.selecting,
			Enqueue:         func(ds *appsv1.DaemonSet) { dc.loop.Enqueue(ds) },
			MinReadySeconds: func(ds *appsv1.DaemonSet) int32 { return ds.Spec.MinReadySeconds },
			EnqueueAfter:    func(ds *appsv1.DaemonSet, d time.Duration) { dc.loop.EnqueueAfter(ds, d) },
			Created: func(ds *appsv1.DaemonSet, _ metav1.Object) {
				dc.expectations.CreationObserved(key(ds.Namespace, ds.Name))
			},
			Deleted: func(ds *appsv1.DaemonSet, p metav1.Object) {
				dc.expectations.DeletionObserved(key(ds.Namespace, ds.Name), key(p.GetNamespace(), p.GetName()))
			},
		}).Handlers()},
		{nodeInf.Informer(), cache.ResourceEventHandlerFuncs{
			AddFunc: func(obj interface{}) { dc.nodes.Enqueue(obj) },
			UpdateFunc: func(oldObj, curObj interface{}) {
				old, cur := oldObj.(*corev1.Node), curObj.(*corev1.Node)
				if equality.Semantic.DeepEqual(old.Labels, cur.Labels) && equality.Semantic.DeepEqual(old.Spec.Taints, cur.Spec.Taints) {
					return
				}
				dc.nodes.Enqueue(cur)
			},
		}},
		{revInf.Informer(), cache.ResourceEventHandlerFuncs{AddFunc: dc.addRevision, UpdateFunc: dc.updateRevision, DeleteFunc: dc.deleteRevision}},
	}
	for _, h := range handlers {
		if _, err := h.inf.AddEventHandler(h.h); err != nil {
			return nil, err
		}
	}
	return dc, nil
}

// Run syncs DaemonSets until ctx ends.
func (dc *Controller) Run(ctx context.Context) error {
	go dc.nodes.Run(ctx, workers)
	go func() {
		t := time.NewTicker(time.Minute)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				dc.backoff.GC()
			}
		}
	}()
	dc.loop.Run(ctx, workers)
	return nil
}

func key(namespace, name string) string { return namespace + "/" + name }

func (dc *Controller) deleteDS(obj interface{}) {
	ds, ok := controller.DeletedObject[*appsv1.DaemonSet](obj)
	if !ok {
		return
	}
	k := key(ds.Namespace, ds.Name)
	dc.expectations.Forget(k)
	dc.loop.Queue.Add(k)
}

func (dc *Controller) resolve(namespace string, ref *metav1.OwnerReference) *appsv1.DaemonSet {
	return controller.ResolveControllerRef(ref, controllerKind.Kind, dc.dsLister.DaemonSets(namespace).Get)
}

// selecting returns the DaemonSets whose selector matches an orphan pod.
func (dc *Controller) selecting(o metav1.Object) []*appsv1.DaemonSet {
	p, ok := o.(*corev1.Pod)
	if !ok {
		return nil
	}
	sets, err := dc.dsLister.GetPodDaemonSets(p)
	if err != nil {
		return nil
	}
	return sets
}

func (dc *Controller) addRevision(obj interface{}) {
	r := obj.(*appsv1.ControllerRevision)
	if r.DeletionTimestamp != nil {
		dc.deleteRevision(r)
		return
	}
	if ref := metav1.GetControllerOfNoCopy(r); ref != nil {
		return // our own; the sync that made it knows
	}
	sets, err := dc.dsLister.GetHistoryDaemonSets(r)
	if err != nil {
		return
	}
	for _, ds := range sets {
		dc.loop.Enqueue(ds)
	}
}

func (dc *Controller) updateRevision(oldObj, curObj interface{}) {
	old, cur := oldObj.(*appsv1.ControllerRevision), curObj.(*appsv1.ControllerRevision)
	if old.ResourceVersion == cur.ResourceVersion {
		return
	}
	curRef, oldRef := metav1.GetControllerOfNoCopy(cur), metav1.GetControllerOfNoCopy(old)
	refChanged := !reflect.DeepEqual(curRef, oldRef)
	if refChanged && oldRef != nil {
		if ds := dc.resolve(old.Namespace, oldRef); ds != nil {
			dc.loop.Enqueue(ds)
		}
	}
	if curRef != nil {
		if ds := dc.resolve(cur.Namespace, curRef); ds != nil {
			dc.loop.Enqueue(ds)
		}
		return
	}
	if refChanged || !reflect.DeepEqual(cur.Labels, old.Labels) {
		if sets, err := dc.dsLister.GetHistoryDaemonSets(cur); err == nil {
			for _, ds := range sets {
				dc.loop.Enqueue(ds)
			}
		}
	}
}

func (dc *Controller) deleteRevision(obj interface{}) {
	r, ok := controller.DeletedObject[*appsv1.ControllerRevision](obj)
	if !ok {
		return
	}
	if ref := metav1.GetControllerOfNoCopy(r); ref != nil {
		if ds := dc.resolve(r.Namespace, ref); ds != nil {
			dc.loop.Enqueue(ds)
		}
	}
}

// syncNode enqueues the DaemonSets a node's change concerns: those that
// should now run there and do not, and those that run there and should
// not.
func (dc *Controller) syncNode(_ context.Context, name string) error {
	node, err := dc.nodeLister.Get(name)
	if err != nil {
		return nil
	}
	sets, err := dc.dsLister.List(labelsEverything())
	if err != nil {
		return err
	}
	pods, err := controller.PodsOnNode(dc.podIndexer, name)
	if err != nil {
		return err
	}
	byDS := map[string]int{}
	for _, p := range pods {
		if ref := metav1.GetControllerOfNoCopy(p); ref != nil && ref.Kind == controllerKind.Kind {
			byDS[key(p.Namespace, ref.Name)]++
		}
	}
	for _, ds := range sets {
		run, keep := newPlacement(ds).shouldRun(node)
		scheduled := byDS[key(ds.Namespace, ds.Name)] > 0
		if (run && !scheduled) || (!keep && scheduled) || (scheduled && ds.Status.NumberMisscheduled > 0) {
			dc.loop.Enqueue(ds)
		}
	}
	return nil
}
