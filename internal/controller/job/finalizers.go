package job

import (
	"sync"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/cache"

	"github.com/kemudi/kemudi/internal/controller"
)

// trackingHandlers follow the tracking finalizer on pod events, beside
// the OwnerHandler that maps pods to their Job: a removal the
// controller waits for is seen, and a pod that no running Job will
// count (an orphan, or a pod of a Job gone or finished) goes to the
// orphan loop to lose its finalizer.
func (jc *Controller) trackingHandlers() cache.ResourceEventHandlerFuncs {
	return cache.ResourceEventHandlerFuncs{
		AddFunc: func(obj interface{}) {
			p, ok := obj.(*corev1.Pod)
			if !ok {
				return
			}
			if p.DeletionTimestamp != nil {
				jc.podDeleted(p, false)
				return
			}
			jc.releaseIfOrphan(p)
		},
		UpdateFunc: jc.podUpdated,
		DeleteFunc: func(obj interface{}) {
			if p, ok := controller.DeletedObject[*corev1.Pod](obj); ok {
				jc.podDeleted(p, true)
			}
		},
	}
}

func (jc *Controller) podUpdated(oldObj, curObj interface{}) {
	old, ok1 := oldObj.(*corev1.Pod)
	cur, ok2 := curObj.(*corev1.Pod)
	if !ok1 || !ok2 || old.ResourceVersion == cur.ResourceVersion {
		return
	}
	if cur.DeletionTimestamp != nil {
		jc.podDeleted(cur, false)
		return
	}
	if !hasTrackingFinalizer(cur) {
		// Seen by the Job that lost the pod and by the one that has it.
		for _, ref := range []*metav1.OwnerReference{metav1.GetControllerOfNoCopy(old), metav1.GetControllerOfNoCopy(cur)} {
			if ref == nil {
				continue
			}
			if job := jc.resolve(cur.Namespace, ref); job != nil {
				jc.finalizers.observed(keyOf(job), cur.UID)
			}
		}
		return
	}
	jc.releaseIfOrphan(cur)
}

// podDeleted handles a pod whose deletion began (final false) or ended.
func (jc *Controller) podDeleted(p *corev1.Pod, final bool) {
	ref := metav1.GetControllerOfNoCopy(p)
	var job *batchv1.Job
	if ref != nil {
		job = jc.resolve(p.Namespace, ref)
	}
	if job == nil || isFinished(job) {
		// No sync of a running Job will remove its finalizer.
		if hasTrackingFinalizer(p) {
			jc.orphans.Queue.Add(orphanPodKey(p.Namespace, p.Name))
		}
		return
	}
	// A pod gone from the API has no finalizer left, whatever its last
	// state we saw (a tombstone) says.
	if final || !hasTrackingFinalizer(p) {
		jc.finalizers.observed(keyOf(job), p.UID)
	}
}

// releaseIfOrphan sends an orphan holding the finalizer to the orphan
// loop (a Job may still adopt it: the Job's sync then keeps it).
func (jc *Controller) releaseIfOrphan(p *corev1.Pod) {
	if metav1.GetControllerOfNoCopy(p) == nil && hasTrackingFinalizer(p) {
		jc.orphans.Queue.Add(orphanPodKey(p.Namespace, p.Name))
	}
}

// uidExpectations are the pods (by UID) of each Job whose finalizer
// removal the controller waits to see.
type uidExpectations struct {
	mu sync.Mutex
	m  map[string]map[types.UID]bool
}

func newUIDExpectations() *uidExpectations {
	return &uidExpectations{m: map[string]map[types.UID]bool{}}
}

func (u *uidExpectations) expect(key string, uids []types.UID) {
	u.mu.Lock()
	defer u.mu.Unlock()
	set := u.m[key]
	if set == nil {
		set = map[types.UID]bool{}
		u.m[key] = set
	}
	for _, uid := range uids {
		set[uid] = true
	}
}

func (u *uidExpectations) observed(key string, uid types.UID) {
	u.mu.Lock()
	defer u.mu.Unlock()
	delete(u.m[key], uid)
}

func (u *uidExpectations) get(key string) map[types.UID]bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	out := make(map[types.UID]bool, len(u.m[key]))
	for uid := range u.m[key] {
		out[uid] = true
	}
	return out
}

func (u *uidExpectations) forget(key string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	delete(u.m, key)
}
