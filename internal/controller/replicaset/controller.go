package replicaset

import (
	"context"
	"log/slog"
	"time"

	appsv1 "k8s.io/api/apps/v1"
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
	owners := &controller.OwnerHandler[*appsv1.ReplicaSet]{
		Kind:            kind.gvk().Kind,
		Get:             kind.get,
		Adopters:        rc.selecting,
		Enqueue:         func(rs *appsv1.ReplicaSet) { rc.loop.Queue.Add(keyOf(rs)) },
		MinReadySeconds: func(rs *appsv1.ReplicaSet) int32 { return rs.Spec.MinReadySeconds },
		EnqueueAfter:    func(rs *appsv1.ReplicaSet, d time.Duration) { rc.loop.Queue.AddAfter(keyOf(rs), d) },
		Created:         func(rs *appsv1.ReplicaSet, _ metav1.Object) { rc.expect.CreationObserved(keyOf(rs)) },
		Deleted: func(rs *appsv1.ReplicaSet, pod metav1.Object) {
			rc.expect.DeletionObserved(keyOf(rs), pod.GetNamespace()+"/"+pod.GetName())
		},
	}
	if _, err := pods.Informer().AddEventHandler(owners.Handlers()); err != nil {
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

// selecting returns the sets whose selector matches an orphan pod.
func (rc *Controller) selecting(pod metav1.Object) []*appsv1.ReplicaSet {
	sets, err := rc.kind.list(pod.GetNamespace())
	if err != nil {
		return nil
	}
	var out []*appsv1.ReplicaSet
	for _, rs := range sets {
		sel, err := metav1.LabelSelectorAsSelector(rs.Spec.Selector)
		if err != nil || sel.Empty() || !sel.Matches(labels.Set(pod.GetLabels())) {
			continue
		}
		out = append(out, rs)
	}
	return out
}
