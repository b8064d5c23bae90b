// Package job is the Job controller: it runs a Job's pods until enough of
// them succeed (completions, parallelism, Indexed mode) or the Job fails
// (backoffLimit, backoffLimitPerIndex, activeDeadlineSeconds, the pod
// failure policy), counting finished pods exactly once through the
// batch.kubernetes.io/job-tracking finalizer, as upstream's does.
package job

import (
	"context"
	"sync"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
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
	owners := &controller.OwnerHandler[*batchv1.Job]{
		Kind:     controllerKind.Kind,
		Get:      func(namespace, name string) (*batchv1.Job, error) { return jc.jobs.Jobs(namespace).Get(name) },
		Adopters: jc.jobsSelecting,
		Enqueue:  jc.enqueueBatched,
		Created:  func(job *batchv1.Job, _ metav1.Object) { jc.expectations.CreationObserved(keyOf(job)) },
		Deleted: func(job *batchv1.Job, pod metav1.Object) {
			jc.expectations.DeletionObserved(keyOf(job), pod.GetNamespace()+"/"+pod.GetName())
		},
	}
	if _, err := podInf.Informer().AddEventHandler(owners.Handlers()); err != nil {
		return nil, err
	}
	if _, err := podInf.Informer().AddEventHandler(jc.trackingHandlers()); err != nil {
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

func keyOf(job *batchv1.Job) string { return key(job.Namespace, job.Name) }

// enqueueBatched syncs a Job a moment later, so that the events of its
// pods starting or finishing together make one sync.
func (jc *Controller) enqueueBatched(job *batchv1.Job) {
	jc.loop.EnqueueAfter(job, batchPeriod)
}

// resolve returns the Job a controller reference points to, if it is
// the same object (name and UID).
func (jc *Controller) resolve(namespace string, ref *metav1.OwnerReference) *batchv1.Job {
	return controller.ResolveControllerRef(ref, controllerKind.Kind, jc.jobs.Jobs(namespace).Get)
}

// jobsSelecting returns the Jobs whose selector matches an orphan pod.
func (jc *Controller) jobsSelecting(o metav1.Object) []*batchv1.Job {
	p, ok := o.(*corev1.Pod)
	if !ok {
		return nil
	}
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

func (jc *Controller) updateJob(oldObj, curObj interface{}) {
	old, ok1 := oldObj.(*batchv1.Job)
	cur, ok2 := curObj.(*batchv1.Job)
	if !ok1 || !ok2 {
		return
	}
	if isFinished(cur) {
		// Finalizers are removed before a Job is marked finished; this
		// is the backstop for pods that still have one.
		jc.orphans.Queue.Add(orphanSelectorKey(cur))
		jc.loop.Enqueue(cur)
		return
	}
	if cur.Generation == old.Generation {
		jc.enqueueBatched(cur)
	} else {
		jc.loop.Enqueue(cur)
	}
	if cur.Status.StartTime != nil && cur.Spec.ActiveDeadlineSeconds != nil {
		if old.Spec.ActiveDeadlineSeconds == nil || *old.Spec.ActiveDeadlineSeconds != *cur.Spec.ActiveDeadlineSeconds {
			total := time.Duration(*cur.Spec.ActiveDeadlineSeconds) * time.Second
			jc.loop.EnqueueAfter(cur, total-jc.clock.Since(cur.Status.StartTime.Time))
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
	k := keyOf(job)
	jc.expectations.Forget(k)
	jc.backoff.remove(k)
}
