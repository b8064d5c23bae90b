// Package job is the Job controller: it runs a Job's pods until enough of
// them succeed (completions, parallelism, Indexed mode) or the Job fails
// (backoffLimit, backoffLimitPerIndex, activeDeadlineSeconds, the pod
// failure policy), counting finished pods exactly once through the
// batch.kubernetes.io/job-tracking finalizer, as upstream's does.
package job

import (
	"context"
	"reflect"
	"sync"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	batchlisters "k8s.io/client-go/listers/batch/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/utils/clock"

	"github.com/kemudi/kemudi/internal/controller"
)

// Name is the controller's name in --controllers; Component its name in
// events.
const (
	Name      = "job"
	Component = "job-controller"
)

var controllerKind = batchv1.SchemeGroupVersion.WithKind("Job")

const (
	// batchPeriod gathers the pod events of a Job into one sync.
	batchPeriod = time.Second
	// maxUncountedPods bounds status.uncountedTerminatedPods (and the
	// finalizers removed per sync), keeping the status under ~20 KB.
	maxUncountedPods = 500
	// maxPodChangesPerSync bounds the pods created or deleted per sync.
	maxPodChangesPerSync = 500
	workers              = 5
)

// Controller is the Job controller.
type Controller struct {
	client     kubernetes.Interface
	jobs       batchlisters.JobLister
	pods       corelisters.PodLister
	podIndexer cache.Indexer
	recorder   record.EventRecorder
	clock      clock.PassiveClock

	loop    *controller.Loop
	orphans *controller.Loop

	expectations *controller.Expectations
	// finalizers are the pods whose tracking finalizer this controller
	// removed and has not yet seen removed, per Job.
	finalizers *uidExpectations
	backoff    *backoffStore
	// finished holds the UIDs of Jobs marked finished whose update the
	// informer has not shown yet.
	finished sync.Map
}

// New builds the Job controller.
func New(c *controller.Context) (*Controller, error) {
	clk := c.Clock
	jobInf := c.Informers.Batch().V1().Jobs()
	podInf := c.Informers.Core().V1().Pods()
	if err := controller.AddPodControllerIndex(podInf.Informer()); err != nil {
		return nil, err
	}
	log := c.Logger(Name)
	jc := &Controller{
		client:       c.Client,
		jobs:         jobInf.Lister(),
		pods:         podInf.Lister(),
		podIndexer:   podInf.Informer().GetIndexer(),
		recorder:     c.Recorder(Component),
		clock:        clk,
		expectations: controller.NewExpectations(clk),
		finalizers:   newUIDExpectations(),
		backoff:      newBackoffStore(),
	}
	jc.loop = c.NewLoop(Name, jc.sync, log)
	jc.orphans = c.NewLoop(Name+"-orphan-pods", jc.syncOrphan, log)
	if _, err := jobInf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj interface{}) { jc.loop.Enqueue(obj) },
		UpdateFunc: jc.updateJob,
		DeleteFunc: jc.deleteJob,
	}); err != nil {
		return nil, err
	}
	if _, err := podInf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    jc.addPod,
		UpdateFunc: jc.updatePod,
		DeleteFunc: func(obj interface{}) { jc.deletePod(obj, true) },
	}); err != nil {
		return nil, err
	}
	return jc, nil
}

// Run syncs Jobs until ctx ends.
func (jc *Controller) Run(ctx context.Context) error {
	go jc.orphans.Run(ctx, 1)
	jc.loop.Run(ctx, workers)
	return nil
}

func key(namespace, name string) string { return namespace + "/" + name }

func (jc *Controller) enqueueBatched(job *batchv1.Job) {
	jc.loop.Queue.AddAfter(key(job.Namespace, job.Name), batchPeriod)
}

// resolve returns the Job a controller reference points to, if it is
// the same object (name and UID).
func (jc *Controller) resolve(namespace string, ref *metav1.OwnerReference) *batchv1.Job {
	return controller.ResolveControllerRef(ref, controllerKind.Kind, jc.jobs.Jobs(namespace).Get)
}

// jobsSelecting returns the Jobs whose selector matches an orphan pod.
func (jc *Controller) jobsSelecting(p *corev1.Pod) []*batchv1.Job {
	jobs, err := jc.jobs.GetPodJobs(p)
	if err != nil {
		return nil
	}
	out := make([]*batchv1.Job, len(jobs))
	for i := range jobs {
		out[i] = &jobs[i]
	}
	return out
}

func (jc *Controller) addPod(obj interface{}) {
	p := obj.(*corev1.Pod)
	if p.DeletionTimestamp != nil {
		// A restarted controller may first see a pod being deleted: that
		// is not a creation it waits for.
		jc.deletePod(p, false)
		return
	}
	if ref := metav1.GetControllerOfNoCopy(p); ref != nil {
		if job := jc.resolve(p.Namespace, ref); job != nil {
			jc.expectations.CreationObserved(key(job.Namespace, job.Name))
			jc.enqueueBatched(job)
		}
		return
	}
	if hasTrackingFinalizer(p) {
		jc.orphans.Queue.Add(orphanPodKey(p.Namespace, p.Name))
	}
	for _, job := range jc.jobsSelecting(p) {
		jc.enqueueBatched(job)
	}
}

func (jc *Controller) updatePod(oldObj, curObj interface{}) {
	old, cur := oldObj.(*corev1.Pod), curObj.(*corev1.Pod)
	if old.ResourceVersion == cur.ResourceVersion {
		return
	}
	if cur.DeletionTimestamp != nil {
		// Replace a pod as soon as its deletion begins, not when the
		// kubelet is done with it.
		jc.deletePod(cur, false)
		return
	}
	finalizerGone := !hasTrackingFinalizer(cur)
	curRef, oldRef := metav1.GetControllerOfNoCopy(cur), metav1.GetControllerOfNoCopy(old)
	refChanged := !reflect.DeepEqual(curRef, oldRef)
	if refChanged && oldRef != nil {
		if job := jc.resolve(old.Namespace, oldRef); job != nil {
			if finalizerGone {
				jc.finalizers.observed(key(job.Namespace, job.Name), cur.UID)
			}
			jc.enqueueBatched(job)
		}
	}
	if curRef != nil {
		if job := jc.resolve(cur.Namespace, curRef); job != nil {
			if finalizerGone {
				jc.finalizers.observed(key(job.Namespace, job.Name), cur.UID)
			}
			jc.enqueueBatched(job)
		}
		return
	}
	if hasTrackingFinalizer(cur) {
		jc.orphans.Queue.Add(orphanPodKey(cur.Namespace, cur.Name))
	}
	if refChanged || !reflect.DeepEqual(cur.Labels, old.Labels) {
		for _, job := range jc.jobsSelecting(cur) {
			jc.enqueueBatched(job)
		}
	}
}

// deletePod handles a pod whose deletion began (final false) or ended.
func (jc *Controller) deletePod(obj interface{}, final bool) {
	p, ok := controller.DeletedObject[*corev1.Pod](obj)
	if !ok {
		return
	}
	ref := metav1.GetControllerOfNoCopy(p)
	hasFinalizer := hasTrackingFinalizer(p)
	if ref == nil {
		if hasFinalizer {
			jc.orphans.Queue.Add(orphanPodKey(p.Namespace, p.Name))
		}
		return
	}
	job := jc.resolve(p.Namespace, ref)
	if job == nil || isFinished(job) {
		if hasFinalizer {
			jc.orphans.Queue.Add(orphanPodKey(p.Namespace, p.Name))
		}
		return
	}
	k := key(job.Namespace, job.Name)
	jc.expectations.DeletionObserved(k, p.Namespace+"/"+p.Name)
	if final || !hasFinalizer {
		jc.finalizers.observed(k, p.UID)
	}
	jc.enqueueBatched(job)
}

func (jc *Controller) updateJob(oldObj, curObj interface{}) {
	old, cur := oldObj.(*batchv1.Job), curObj.(*batchv1.Job)
	k := key(cur.Namespace, cur.Name)
	if isFinished(cur) {
		// Finalizers are removed before a Job is marked finished; this
		// is the backstop for pods that still have one.
		jc.orphans.Queue.Add(orphanSelectorKey(cur))
		jc.loop.Queue.Add(k)
		return
	}
	if cur.Generation == old.Generation {
		jc.enqueueBatched(cur)
	} else {
		jc.loop.Queue.Add(k)
	}
	if cur.Status.StartTime != nil && cur.Spec.ActiveDeadlineSeconds != nil {
		if old.Spec.ActiveDeadlineSeconds == nil || *old.Spec.ActiveDeadlineSeconds != *cur.Spec.ActiveDeadlineSeconds {
			total := time.Duration(*cur.Spec.ActiveDeadlineSeconds) * time.Second
			jc.loop.Queue.AddAfter(k, total-jc.clock.Since(cur.Status.StartTime.Time))
		}
	}
}

func (jc *Controller) deleteJob(obj interface{}) {
	jc.loop.Enqueue(obj)
	job, ok := controller.DeletedObject[*batchv1.Job](obj)
	if !ok {
		return
	}
	jc.finished.Delete(job.UID)
	jc.orphans.Queue.Add(orphanSelectorKey(job))
	k := key(job.Namespace, job.Name)
	jc.expectations.Forget(k)
	jc.backoff.remove(k)
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
