package replicaset

import (
	"context"
	"log/slog"
	"reflect"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/utils/clock"

	"github.com/kemudi/kemudi/internal/controller"
)

const (
	// burstReplicas caps the pods one sync creates or deletes.
	burstReplicas = 500
	// workers syncing sets concurrently. Upstream's
	// --concurrent-replicaset-syncs is 5; each sync waits on slow-start
	// batches of creates, so more sets must be in flight to keep a local
	// API server busy (see the Deployment controller's workers).
	workers = 16
)

// Controller keeps the pods of every ReplicaSet (or ReplicationController).
type Controller struct {
	client   kubernetes.Interface
	kind     setKind
	podIndex cache.Indexer
	recorder record.EventRecorder
	loop     *controller.Loop
	expect   *controller.Expectations
	clock    clock.PassiveClock
	log      *slog.Logger
	workers  int
}

// New builds the ReplicaSet controller.
func New(c *controller.Context) (*Controller, error) {
	inf := c.Informers.Apps().V1().ReplicaSets()
	return build(c, "replicaset", "replicaset-controller", replicaSets{client: c.Client, inf: inf.Informer(), lister: inf.Lister()})
}

// NewReplicationController builds the ReplicationController controller.
func NewReplicationController(c *controller.Context) (*Controller, error) {
	inf := c.Informers.Core().V1().ReplicationControllers()
	return build(c, "replicationcontroller", "replication-controller", replicationControllers{client: c.Client, inf: inf.Informer(), lister: inf.Lister()})
}

func build(c *controller.Context, name, component string, kind setKind) (*Controller, error) {
	pods := c.Informers.Core().V1().Pods()
	rc := &Controller{
		client:   c.Client,
		kind:     kind,
		podIndex: pods.Informer().GetIndexer(),
		recorder: c.Recorder(component),
		expect:   controller.NewExpectations(c.Clock),
		clock:    c.Clock,
		log:      c.Logger(name),
		workers:  workers,
	}
	rc.loop = c.NewLoop(name, rc.sync, rc.log)
	if err := controller.AddPodControllerIndex(pods.Informer()); err != nil {
		return nil, err
	}
	if err := controller.AddControllerUIDIndex(kind.informer()); err != nil {
		return nil, err
	}
	if _, err := kind.informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    rc.addSet,
		UpdateFunc: rc.updateSet,
		DeleteFunc: rc.deleteSet,
	}); err != nil {
		return nil, err
	}
	if _, err := pods.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    rc.addPod,
		UpdateFunc: rc.updatePod,
		DeleteFunc: rc.deletePod,
	}); err != nil {
		return nil, err
	}
	return rc, nil
}

// Run syncs sets until ctx ends.
func (rc *Controller) Run(ctx context.Context) error {
	rc.log.Info("starting")
	rc.loop.Run(ctx, rc.workers)
	return nil
}

func (rc *Controller) addSet(obj interface{}) {
	if rs := rc.kind.toSet(obj); rs != nil {
		rc.loop.Queue.Add(keyOf(rs))
	}
}

func (rc *Controller) updateSet(oldObj, newObj interface{}) {
	old, cur := rc.kind.toSet(oldObj), rc.kind.toSet(newObj)
	if old == nil || cur == nil {
		return
	}
	if old.UID != cur.UID {
		// Deleted and recreated between two events: forget the old one.
		rc.expect.Forget(keyOf(old))
	}
	rc.loop.Queue.Add(keyOf(cur))
}

func (rc *Controller) deleteSet(obj interface{}) {
	if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = t.Obj
	}
	if rs := rc.kind.toSet(obj); rs != nil {
		rc.expect.Forget(keyOf(rs))
		rc.loop.Queue.Add(keyOf(rs))
	}
}

// resolve returns the set a controller reference names, if it is still
// that object.
func (rc *Controller) resolve(namespace string, ref *metav1.OwnerReference) *appsv1.ReplicaSet {
	return controller.ResolveControllerRef(ref, rc.kind.gvk().Kind, func(name string) (*appsv1.ReplicaSet, error) {
		return rc.kind.get(namespace, name)
	})
}

// selecting returns the sets whose selector matches an orphan pod.
func (rc *Controller) selecting(pod *corev1.Pod) []*appsv1.ReplicaSet {
	sets, err := rc.kind.list(pod.Namespace)
	if err != nil {
		return nil
	}
	var out []*appsv1.ReplicaSet
	for _, rs := range sets {
		sel, err := metav1.LabelSelectorAsSelector(rs.Spec.Selector)
		if err != nil || sel.Empty() || !sel.Matches(labels.Set(pod.Labels)) {
			continue
		}
		out = append(out, rs)
	}
	return out
}

func (rc *Controller) addPod(obj interface{}) {
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return
	}
	if pod.DeletionTimestamp != nil {
		// Seen first as being deleted (after a restart of the watch).
		rc.deletePod(pod)
		return
	}
	if ref := metav1.GetControllerOfNoCopy(pod); ref != nil {
		if rs := rc.resolve(pod.Namespace, ref); rs != nil {
			rc.expect.CreationObserved(keyOf(rs))
			rc.loop.Queue.Add(keyOf(rs))
		}
		return
	}
	for _, rs := range rc.selecting(pod) {
		rc.loop.Queue.Add(keyOf(rs))
	}
}

func (rc *Controller) updatePod(oldObj, newObj interface{}) {
	old, ok1 := oldObj.(*corev1.Pod)
	cur, ok2 := newObj.(*corev1.Pod)
	if !ok1 || !ok2 || old.ResourceVersion == cur.ResourceVersion {
		return
	}
	labelsChanged := !reflect.DeepEqual(old.Labels, cur.Labels)
	if cur.DeletionTimestamp != nil {
		// A pod being deleted counts as gone for expectations at once,
		// not when the kubelet finally removes it.
		rc.deletePod(cur)
		if labelsChanged {
			rc.deletePod(old)
		}
		return
	}
	curRef, oldRef := metav1.GetControllerOfNoCopy(cur), metav1.GetControllerOfNoCopy(old)
	refChanged := !reflect.DeepEqual(curRef, oldRef)
	if refChanged && oldRef != nil {
		if rs := rc.resolve(old.Namespace, oldRef); rs != nil {
			rc.loop.Queue.Add(keyOf(rs))
		}
	}
	if curRef != nil {
		rs := rc.resolve(cur.Namespace, curRef)
		if rs == nil {
			return
		}
		rc.loop.Queue.Add(keyOf(rs))
		// A pod that just became ready becomes available minReadySeconds
		// later, with no event to say so.
		if !controller.IsPodReady(old) && controller.IsPodReady(cur) && rs.Spec.MinReadySeconds > 0 {
			rc.loop.Queue.AddAfter(keyOf(rs), time.Duration(rs.Spec.MinReadySeconds)*time.Second)
		}
		return
	}
	if labelsChanged || refChanged {
		for _, rs := range rc.selecting(cur) {
			rc.loop.Queue.Add(keyOf(rs))
		}
	}
}

func (rc *Controller) deletePod(obj interface{}) {
	pod, ok := controller.DeletedObject[*corev1.Pod](obj)
	if !ok {
		return
	}
	ref := metav1.GetControllerOfNoCopy(pod)
	if ref == nil {
		return
	}
	rs := rc.resolve(pod.Namespace, ref)
	if rs == nil {
		return
	}
	rc.expect.DeletionObserved(keyOf(rs), controller.PodKey(pod))
	rc.loop.Queue.Add(keyOf(rs))
}
