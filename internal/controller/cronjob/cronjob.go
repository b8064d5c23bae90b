// Package cronjob is the CronJob controller: it starts a Job for each
// scheduled time (schedule, timeZone, startingDeadlineSeconds, the
// "too many missed start times" rule), applies the concurrency policy,
// keeps status.active, lastScheduleTime and lastSuccessfulTime, and
// deletes finished Jobs beyond the history limits, as upstream's.
package cronjob

import (
	"context"
	"fmt"
	"log/slog"
	"reflect"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	batchlisters "k8s.io/client-go/listers/batch/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/utils/clock"

	"github.com/kemudi/kemudi/internal/controller"
	"github.com/kemudi/kemudi/internal/registry/batch/cronjob/schedule"
)

// Name is the controller's name in --controllers; Component its name in
// events.
const (
	Name      = "cronjob"
	Component = "cronjob-controller"
)

var controllerKind = batchv1.SchemeGroupVersion.WithKind("CronJob")

const workers = 5

// Controller is the CronJob controller.
type Controller struct {
	client   kubernetes.Interface
	cronJobs batchlisters.CronJobLister
	jobIndex cache.Indexer
	recorder record.EventRecorder
	clock    clock.PassiveClock
	log      *slog.Logger
	loop     *controller.Loop
}

// New builds the CronJob controller.
func New(c *controller.Context) (*Controller, error) {
	clk := c.Clock
	cjInf := c.Informers.Batch().V1().CronJobs()
	jobInf := c.Informers.Batch().V1().Jobs()
	log := c.Logger(Name)
	cc := &Controller{
		client:   c.Client,
		cronJobs: cjInf.Lister(),
		jobIndex: jobInf.Informer().GetIndexer(),
		recorder: c.Recorder(Component),
		clock:    clk,
		log:      log,
	}
	cc.loop = c.NewLoop(Name, cc.sync, log)
	if err := controller.AddControllerUIDIndex(jobInf.Informer()); err != nil {
		return nil, err
	}
	if _, err := cjInf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    cc.loop.Enqueue,
		UpdateFunc: cc.updateCronJob,
		DeleteFunc: cc.loop.Enqueue,
	}); err != nil {
		return nil, err
	}
	if _, err := jobInf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: func(obj interface{}) {
			j := obj.(*batchv1.Job)
			if ref := metav1.GetControllerOfNoCopy(j); ref != nil {
				cc.enqueueOwner(j.Namespace, ref)
			}
		},
		UpdateFunc: func(oldObj, curObj interface{}) {
			old, cur := oldObj.(*batchv1.Job), curObj.(*batchv1.Job)
			if old.ResourceVersion == cur.ResourceVersion {
				return
			}
			curRef, oldRef := metav1.GetControllerOfNoCopy(cur), metav1.GetControllerOfNoCopy(old)
			if oldRef != nil && !reflect.DeepEqual(curRef, oldRef) {
				cc.enqueueOwner(old.Namespace, oldRef)
			}
			if curRef != nil {
				cc.enqueueOwner(cur.Namespace, curRef)
			}
		},
		DeleteFunc: func(obj interface{}) {
			j, ok := controller.DeletedObject[*batchv1.Job](obj)
			if !ok {
				return
			}
			if ref := metav1.GetControllerOfNoCopy(j); ref != nil {
				cc.enqueueOwner(j.Namespace, ref)
			}
		},
	}); err != nil {
		return nil, err
	}
	return cc, nil
}

// Run syncs CronJobs until ctx ends.
func (cc *Controller) Run(ctx context.Context) error {
	cc.loop.Run(ctx, workers)
	return nil
}

// Resync syncs a CronJob now (tests that step a fake clock call it).
func (cc *Controller) Resync(namespace, name string) {
	cc.loop.Queue.Add(namespace + "/" + name)
}

func (cc *Controller) enqueueOwner(namespace string, ref *metav1.OwnerReference) {
	if cj := controller.ResolveControllerRef(ref, controllerKind.Kind, cc.cronJobs.CronJobs(namespace).Get); cj != nil {
		cc.loop.Enqueue(cj)
	}
}

func (cc *Controller) updateCronJob(oldObj, curObj interface{}) {
	old, cur := oldObj.(*batchv1.CronJob), curObj.(*batchv1.CronJob)
	if old.Spec.Schedule != cur.Spec.Schedule || !equalPtr(old.Spec.TimeZone, cur.Spec.TimeZone) {
		spec, _ := formatSchedule(cur)
		sched, err := schedule.Parse(spec)
		if err != nil {
			cc.recorder.Eventf(cur, corev1.EventTypeWarning, "UnParseableCronJobSchedule", "unparseable schedule for cronjob: %s", cur.Spec.Schedule)
			return
		}
		cc.loop.EnqueueAfter(cur, untilNext(cur, cc.clock.Now(), sched))
		return
	}
	cc.loop.Enqueue(cur)
}

func equalPtr[T comparable](a, b *T) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}

func (cc *Controller) sync(ctx context.Context, key string) error {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return controller.Terminal(err)
	}
	shared, err := cc.cronJobs.CronJobs(ns).Get(name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	jobs, err := controller.ControlledBy[*batchv1.Job](cc.jobIndex, string(shared.UID))
	if err != nil {
		return err
	}
	cj := shared.DeepCopy()
	changedByCleanup := cc.cleanupFinished(ctx, cj, jobs)
	requeue, changed, syncErr := cc.syncCronJob(ctx, cj, jobs)
	if changedByCleanup || changed {
		if _, err := cc.client.BatchV1().CronJobs(ns).UpdateStatus(ctx, cj, metav1.UpdateOptions{}); err != nil {
			return fmt.Errorf("update status of cronjob %s: %w", key, err)
		}
	}
	if requeue > 0 {
		if syncErr != nil {
			cc.log.Debug("sync failed", "cronjob", key, "err", syncErr)
		}
		return &controller.Requeue{After: requeue}
	}
	return syncErr
}

// syncCronJob reconciles status.active with the Jobs and starts the Job
// of the most recent unmet scheduled time. It returns when to look again,
// whether the status changed, and an error to retry on.
func (cc *Controller) syncCronJob(ctx context.Context, cj *batchv1.CronJob, jobs []*batchv1.Job) (time.Duration, bool, error) {
	now := cc.clock.Now()
	changed := false
	children := map[types.UID]bool{}
	for _, j := range jobs {
		children[j.UID] = true
		active := inActive(cj, j.UID)
		finished := finishedType(j)
		switch {
		case !active && finished == "":
			// Perhaps our status is stale: check the live CronJob.
			fresh, err := cc.client.BatchV1().CronJobs(cj.Namespace).Get(ctx, cj.Name, metav1.GetOptions{})
			if err != nil {
				return 0, changed, err
			}
			if inActive(fresh, j.UID) {
				*cj = *fresh
				continue
			}
			cc.recorder.Eventf(cj, corev1.EventTypeWarning, "UnexpectedJob", "Saw a job that the controller did not create or forgot: %s", j.Name)
		case finished != "":
			if active {
				removeActive(cj, j.UID)
				cc.recorder.Eventf(cj, corev1.EventTypeNormal, "SawCompletedJob", "Saw completed job: %s, condition: %v", j.Name, finished)
				changed = true
			}
			if finished == batchv1.JobComplete && j.Status.CompletionTime != nil {
				if last := cj.Status.LastSuccessfulTime; last == nil || j.Status.CompletionTime.After(last.Time) {
					cj.Status.LastSuccessfulTime = j.Status.CompletionTime
					changed = true
				}
			}
		}
	}
	for _, ref := range append([]corev1.ObjectReference(nil), cj.Status.Active...) {
		if children[ref.UID] {
			continue
		}
		_, err := cc.client.BatchV1().Jobs(ref.Namespace).Get(ctx, ref.Name, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
			cc.recorder.Eventf(cj, corev1.EventTypeNormal, "MissingJob", "Active job went missing: %v", ref.Name)
			removeActive(cj, ref.UID)
			changed = true
		case err != nil:
			return 0, changed, err
		}
	}
	if cj.DeletionTimestamp != nil {
		return 0, changed, nil
	}
	if tz := cj.Spec.TimeZone; tz != nil {
		if _, err := time.LoadLocation(*tz); err != nil {
			cc.recorder.Eventf(cj, corev1.EventTypeWarning, "UnknownTimeZone", "invalid timeZone: %q: %s", *tz, err)
			return 0, changed, nil
		}
	}
	if cj.Spec.Suspend != nil && *cj.Spec.Suspend {
		return 0, changed, nil
	}
	spec, tzInSchedule := formatSchedule(cj)
	if tzInSchedule {
		cc.recorder.Eventf(cj, corev1.EventTypeWarning, "UnsupportedSchedule", "CRON_TZ or TZ used in schedule %q is not officially supported, see https://kubernetes.io/docs/concepts/workloads/controllers/cron-jobs/ for more details", cj.Spec.Schedule)
	}
	sched, err := schedule.Parse(spec)
	if err != nil {
		cc.recorder.Eventf(cj, corev1.EventTypeWarning, "UnparseableSchedule", "unparseable schedule: %q : %s", cj.Spec.Schedule, err)
		return 0, changed, nil
	}
	scheduled, tooMany, err := nextScheduleTime(cj, now, sched)
	if tooMany {
		cc.recorder.Eventf(cj, corev1.EventTypeWarning, "TooManyMissedTimes", "too many missed start times. Set or decrease .spec.startingDeadlineSeconds or check clock skew")
	}
	if err != nil {
		cc.recorder.Eventf(cj, corev1.EventTypeWarning, "InvalidSchedule", "invalid schedule: %s : %s", cj.Spec.Schedule, err)
		return 0, changed, nil
	}
	next := untilNext(cj, now, sched)
	if scheduled == nil {
		return next, changed, nil
	}
	if d := cj.Spec.StartingDeadlineSeconds; d != nil && scheduled.Add(time.Duration(*d)*time.Second).Before(now) {
		cc.recorder.Eventf(cj, corev1.EventTypeWarning, "MissSchedule", "Missed scheduled time to start a job: %s", scheduled.UTC().Format(time.RFC1123Z))
		return next, changed, nil
	}
	name := jobName(cj, *scheduled)
	if activeByName(cj, name) || (cj.Status.LastScheduleTime != nil && cj.Status.LastScheduleTime.Time.Equal(*scheduled)) {
		return next, changed, nil
	}
	if cj.Spec.ConcurrencyPolicy == batchv1.ForbidConcurrent && len(cj.Status.Active) > 0 {
		cc.recorder.Eventf(cj, corev1.EventTypeNormal, "JobAlreadyActive", "Not starting job because prior execution is running and concurrency policy is Forbid")
		return next, changed, nil
	}
	if cj.Spec.ConcurrencyPolicy == batchv1.ReplaceConcurrent {
		for _, ref := range append([]corev1.ObjectReference(nil), cj.Status.Active...) {
			j, err := cc.client.BatchV1().Jobs(ref.Namespace).Get(ctx, ref.Name, metav1.GetOptions{})
			if err != nil {
				cc.recorder.Eventf(cj, corev1.EventTypeWarning, "FailedGet", "Get job: %v", err)
				return 0, changed, err
			}
			if !cc.deleteJob(ctx, cj, j) {
				return 0, changed, fmt.Errorf("could not replace job %s/%s", j.Namespace, j.Name)
			}
			changed = true
		}
	}
	want, err := jobFor(cj, *scheduled)
	if err != nil {
		return 0, changed, err
	}
	created, err := cc.client.BatchV1().Jobs(cj.Namespace).Create(ctx, want, metav1.CreateOptions{})
	switch {
	case apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause):
		return 0, changed, err
	case apierrors.IsAlreadyExists(err):
		existing, err := cc.client.BatchV1().Jobs(cj.Namespace).Get(ctx, want.Name, metav1.GetOptions{})
		if err != nil {
			return 0, changed, err
		}
		if !metav1.IsControlledBy(existing, cj) || inActive(cj, existing.UID) {
			return 0, changed, nil
		}
		created = existing
		cc.log.Info("job already exists", "cronjob", cj.Namespace+"/"+cj.Name, "job", existing.Name)
	case err != nil:
		cc.recorder.Eventf(cj, corev1.EventTypeWarning, "FailedCreate", "Error creating job: %v", err)
		return 0, changed, err
	default:
		cc.recorder.Eventf(cj, corev1.EventTypeNormal, "SuccessfulCreate", "Created job %v", created.Name)
	}
	cj.Status.Active = append(cj.Status.Active, corev1.ObjectReference{
		Kind: "Job", APIVersion: "batch/v1", Namespace: created.Namespace, Name: created.Name,
		UID: created.UID, ResourceVersion: created.ResourceVersion,
	})
	cj.Status.LastScheduleTime = &metav1.Time{Time: *scheduled}
	return untilNext(cj, now, sched), true, nil
}

// cleanupFinished deletes finished Jobs beyond the history limits.
func (cc *Controller) cleanupFinished(ctx context.Context, cj *batchv1.CronJob, jobs []*batchv1.Job) bool {
	if cj.Spec.SuccessfulJobsHistoryLimit == nil && cj.Spec.FailedJobsHistoryLimit == nil {
		return false
	}
	var succeeded, failed []*batchv1.Job
	for _, j := range jobs {
		switch finishedType(j) {
		case batchv1.JobComplete:
			succeeded = append(succeeded, j)
		case batchv1.JobFailed:
			failed = append(failed, j)
		}
	}
	changed := false
	if l := cj.Spec.SuccessfulJobsHistoryLimit; l != nil {
		for _, j := range oldestBeyond(succeeded, *l) {
			changed = cc.deleteJob(ctx, cj, j) || changed
		}
	}
	if l := cj.Spec.FailedJobsHistoryLimit; l != nil {
		for _, j := range oldestBeyond(failed, *l) {
			changed = cc.deleteJob(ctx, cj, j) || changed
		}
	}
	return changed
}

// deleteJob deletes a Job and its pods (background propagation).
func (cc *Controller) deleteJob(ctx context.Context, cj *batchv1.CronJob, j *batchv1.Job) bool {
	bg := metav1.DeletePropagationBackground
	err := cc.client.BatchV1().Jobs(j.Namespace).Delete(ctx, j.Name, metav1.DeleteOptions{PropagationPolicy: &bg})
	if err != nil && !apierrors.IsNotFound(err) {
		cc.recorder.Eventf(cj, corev1.EventTypeWarning, "FailedDelete", "Deleted job: %v", err)
		cc.log.Error("delete job", "cronjob", cj.Namespace+"/"+cj.Name, "job", j.Name, "err", err)
		return false
	}
	removeActive(cj, j.UID)
	cc.recorder.Eventf(cj, corev1.EventTypeNormal, "SuccessfulDelete", "Deleted job %v", j.Name)
	return true
}

func inActive(cj *batchv1.CronJob, uid types.UID) bool {
	for _, r := range cj.Status.Active {
		if r.UID == uid {
			return true
		}
	}
	return false
}

func activeByName(cj *batchv1.CronJob, name string) bool {
	for _, r := range cj.Status.Active {
		if r.Name == name && r.Namespace == cj.Namespace {
			return true
		}
	}
	return false
}

func removeActive(cj *batchv1.CronJob, uid types.UID) {
	out := []corev1.ObjectReference{}
	for _, r := range cj.Status.Active {
		if r.UID != uid {
			out = append(out, r)
		}
	}
	cj.Status.Active = out
}
