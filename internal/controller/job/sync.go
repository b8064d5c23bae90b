package job

import (
	"context"
	"errors"
	"fmt"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/cache"

	"github.com/kemudi/kemudi/internal/controller"
)

// state is one sync's view of a Job and its pods.
type state struct {
	// requeue, when set, is when the sync wants the Job again (a
	// deadline or a backoff to wait out).
	requeue time.Duration

	job         *batchv1.Job
	pods        []*corev1.Pod
	active      []*corev1.Pod
	ready       int32
	terminating int32
	// succeeded and failed count finished pods, counted or not yet.
	succeeded, failed  int32
	uncountedSucceeded map[types.UID]bool
	uncountedFailed    map[types.UID]bool
	// expectedRm are pods whose finalizer removal is not seen yet.
	expectedRm map[types.UID]bool
	// finished is the condition that ends the Job (FailureTarget,
	// SuccessCriteriaMet, then Failed or Complete), nil while it runs.
	finished *batchv1.JobCondition

	prevSucceededIdx, succeededIdx intervals
	failedIdx                      *intervals
	delayedPerIndex                map[int]*corev1.Pod
	backoff                        backoffRecord
}

func (jc *Controller) sync(ctx context.Context, k string) error {
	ns, name, err := cache.SplitMetaNamespaceKey(k)
	if err != nil {
		return controller.Terminal(err)
	}
	shared, err := jc.jobs.Jobs(ns).Get(name)
	if apierrors.IsNotFound(err) {
		jc.expectations.Forget(k)
		jc.finalizers.forget(k)
		jc.backoff.remove(k)
		return nil
	}
	if err != nil {
		return err
	}
	if managedElsewhere(shared) {
		return nil
	}
	if isFinished(shared) {
		jc.backoff.remove(k)
		jc.finished.Delete(shared.UID)
		return nil
	}
	if _, ok := jc.finished.Load(shared.UID); ok {
		// Marked finished; the informer has not caught up yet.
		return nil
	}
	job := shared.DeepCopy()
	if m := job.Spec.CompletionMode; m != nil && *m != batchv1.NonIndexedCompletion && *m != batchv1.IndexedCompletion {
		jc.recorder.Event(job, corev1.EventTypeWarning, "UnknownCompletionMode", "Skipped Job sync because completion mode is unknown")
		return nil
	}
	if job.Spec.BackoffLimit == nil || job.Spec.Parallelism == nil {
		return controller.Terminal(fmt.Errorf("job %s has no backoffLimit or parallelism (not defaulted)", k))
	}
	if isIndexed(job) && job.Spec.Completions == nil {
		return controller.Terminal(fmt.Errorf("indexed job %s has no completions", k))
	}
	if job.Status.UncountedTerminatedPods == nil {
		job.Status.UncountedTerminatedPods = &batchv1.UncountedTerminatedPods{}
	}
	// Expectations before listing: a pod that shows up after the check
	// only defers this sync to the next.
	satisfied := jc.expectations.Satisfied(k)
	pods, err := jc.podsFor(ctx, job)
	if err != nil {
		return err
	}
	now := jc.clock.Now()
	st := &state{
		job:                job,
		pods:               pods,
		uncountedSucceeded: uidSet(job.Status.UncountedTerminatedPods.Succeeded),
		uncountedFailed:    uidSet(job.Status.UncountedTerminatedPods.Failed),
		expectedRm:         jc.finalizers.get(k),
	}
	for _, p := range pods {
		if controller.IsPodActive(p) {
			st.active = append(st.active, p)
			if controller.IsPodReady(p) {
				st.ready++
			}
		}
		if controller.IsPodTerminating(p) {
			st.terminating++
		}
	}
	active := int32(len(st.active))
	newSucceeded, newFailed := newlyFinished(st)
	st.succeeded = job.Status.Succeeded + int32(len(newSucceeded)) + int32(len(st.uncountedSucceeded))
	st.failed = job.Status.Failed + int32(countedFailures(job, newFailed)) + int32(len(st.uncountedFailed))

	if job.Status.StartTime == nil && !suspended(job) {
		t := metav1.NewTime(now)
		job.Status.StartTime = &t
	}
	st.backoff = nextBackoff(jc.backoff.get(k), newSucceeded, newFailed)

	// What ends the Job, in upstream's order: a condition a previous sync
	// set, then failures, then success.
	st.finished = findCondition(job.Status.Conditions, batchv1.JobSuccessCriteriaMet, corev1.ConditionTrue)
	if st.finished == nil {
		if ft := findCondition(job.Status.Conditions, batchv1.JobFailureTarget, corev1.ConditionTrue); ft != nil {
			st.finished = newCondition(batchv1.JobFailed, ft.Reason, ft.Message, now)
		} else if msg := failJobMessage(job, pods); msg != nil {
			st.finished = newCondition(batchv1.JobFailureTarget, batchv1.JobReasonPodFailurePolicy, *msg, now)
		}
	}
	if st.finished == nil {
		switch {
		case st.failed > *job.Spec.BackoffLimit || pastBackoffLimitOnFailure(job, pods):
			st.finished = newCondition(batchv1.JobFailureTarget, batchv1.JobReasonBackoffLimitExceeded, "Job has reached the specified backoff limit", now)
		case pastActiveDeadline(job, now):
			st.finished = newCondition(batchv1.JobFailureTarget, batchv1.JobReasonDeadlineExceeded, "Job was active longer than specified deadline", now)
		case job.Spec.ActiveDeadlineSeconds != nil && !suspended(job):
			left := time.Duration(*job.Spec.ActiveDeadlineSeconds)*time.Second - now.Sub(job.Status.StartTime.Time)
			st.requeueAfter(left)
		}
	}
	if isIndexed(job) {
		completions := int(*job.Spec.Completions)
		st.prevSucceededIdx, st.succeededIdx = succeededIndexes(job, pods)
		st.succeeded = int32(st.succeededIdx.total())
		if hasBackoffLimitPerIndex(job) {
			failed := failedIndexes(job, pods)
			st.failedIdx = &failed
			if st.finished == nil {
				if job.Spec.MaxFailedIndexes != nil && failed.total() > int(*job.Spec.MaxFailedIndexes) {
					st.finished = newCondition(batchv1.JobFailureTarget, batchv1.JobReasonMaxFailedIndexesExceeded, "Job has exceeded the specified maximal number of failed indexes", now)
				} else if failed.total() > 0 && failed.total()+st.succeededIdx.total() >= completions {
					st.finished = newCondition(batchv1.JobFailureTarget, batchv1.JobReasonFailedIndexes, "Job has failed indexes", now)
				}
			}
			st.delayedPerIndex = delayedDeletionPerIndex(st)
		}
		if st.finished == nil {
			if msg, met := matchSuccessPolicy(job.Spec.SuccessPolicy, *job.Spec.Completions, st.succeededIdx); met {
				st.finished = newCondition(batchv1.JobSuccessCriteriaMet, batchv1.JobReasonSuccessPolicy, msg, now)
			}
		}
	}

	var manageErr error
	suspendChanged := false
	if st.finished != nil {
		deletedReady, deleted, err := jc.deleteActive(ctx, job, st.active)
		if deleted != active || !satisfied {
			// Pods may still be coming or going: finish on a later sync.
			st.finished = nil
		}
		active -= deleted
		st.terminating += deleted
		st.ready -= deletedReady
		manageErr = err
	} else {
		managed := false
		if satisfied && job.DeletionTimestamp == nil {
			active, manageErr = jc.manage(ctx, st, k)
			managed = true
		}
		var complete bool
		if job.Spec.Completions == nil {
			// Without completions, one success means done once the rest
			// have stopped.
			complete = st.succeeded > 0 && active == 0
		} else {
			complete = st.succeeded >= *job.Spec.Completions && active == 0
		}
		switch {
		case complete:
			st.finished = newCondition(batchv1.JobSuccessCriteriaMet, batchv1.JobReasonCompletionsReached, "Reached expected number of succeeded pods", now)
		case managed && suspended(job):
			if setCondition(job, batchv1.JobSuspended, corev1.ConditionTrue, "JobSuspended", "Job suspended", now) {
				suspendChanged = true
				jc.recorder.Event(job, corev1.EventTypeNormal, "Suspended", "Job suspended")
				// A suspended Job has not started (its scheduling
				// directives may change), as 1.37's
				// MutableSchedulingDirectivesForSuspendedJobs does.
				job.Status.StartTime = nil
			}
		case managed:
			if setCondition(job, batchv1.JobSuspended, corev1.ConditionFalse, "JobResumed", "Job resumed", now) {
				suspendChanged = true
				jc.recorder.Event(job, corev1.EventTypeNormal, "Resumed", "Job resumed")
				// activeDeadlineSeconds counts from the resumption.
				t := metav1.NewTime(now)
				job.Status.StartTime = &t
			}
		}
	}

	needsUpdate := suspendChanged || active != job.Status.Active ||
		job.Status.Ready == nil || *job.Status.Ready != st.ready ||
		job.Status.Terminating == nil || *job.Status.Terminating != st.terminating
	job.Status.Active = active
	ready, terminating := st.ready, st.terminating
	job.Status.Ready = &ready
	job.Status.Terminating = &terminating
	if err := jc.track(ctx, st, k, needsUpdate); err != nil {
		return fmt.Errorf("tracking status of job %s: %w", k, err)
	}
	if manageErr == nil && st.requeue > 0 {
		return controller.RequeueAfter(st.requeue)
	}
	return manageErr
}

// requeueAfter asks for the Job again after d (the soonest of the asks
// wins).
func (st *state) requeueAfter(d time.Duration) {
	d = max(d, time.Millisecond)
	if st.requeue == 0 || d < st.requeue {
		st.requeue = d
	}
}

// podsFor lists the Job's pods, adopting matching orphans (with the
// tracking finalizer) and releasing pods it no longer selects.
func (jc *Controller) podsFor(ctx context.Context, job *batchv1.Job) ([]*corev1.Pod, error) {
	sel, err := metav1.LabelSelectorAsSelector(job.Spec.Selector)
	if err != nil {
		return nil, controller.Terminal(fmt.Errorf("job selector: %w", err))
	}
	candidates, err := controller.PodsControlledBy(jc.podIndexer, job, controllerKind.Kind, true)
	if err != nil {
		return nil, err
	}
	m := &controller.RefManager{
		Owner: job, Kind: controllerKind, Selector: sel,
		Patch:      controller.PodPatcher(jc.client),
		Finalizers: []string{batchv1.JobTrackingFinalizer},
		CanAdopt: controller.RecheckOwner(job.UID, func(ctx context.Context) (metav1.Object, error) {
			return jc.client.BatchV1().Jobs(job.Namespace).Get(ctx, job.Name, metav1.GetOptions{})
		}),
	}
	pods, err := controller.Claim(ctx, m, candidates)
	// Adopted pods got the finalizer; count them as having it.
	for i, p := range pods {
		if metav1.GetControllerOfNoCopy(p) == nil && !hasTrackingFinalizer(p) {
			pods[i] = p.DeepCopy()
			pods[i].Finalizers = append(pods[i].Finalizers, batchv1.JobTrackingFinalizer)
		}
	}
	return pods, err
}

func uidSet(uids []types.UID) map[types.UID]bool {
	m := make(map[types.UID]bool, len(uids))
	for _, u := range uids {
		m[u] = true
	}
	return m
}

// newlyFinished returns the finished pods that still carry the
// finalizer and are not yet in uncountedTerminatedPods.
func newlyFinished(st *state) (succeeded, failed []*corev1.Pod) {
	succeeded = countablePods(st, st.uncountedSucceeded, func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodSucceeded })
	failed = countablePods(st, st.uncountedFailed, func(p *corev1.Pod) bool { return isPodFailed(p, st.job) })
	return succeeded, failed
}

// countablePods are the pods with the tracking finalizer, not in skip nor
// awaiting finalizer removal, with a valid index for Indexed Jobs, that
// pass filter.
func countablePods(st *state, skip map[types.UID]bool, filter func(*corev1.Pod) bool) []*corev1.Pod {
	var out []*corev1.Pod
	for _, p := range st.pods {
		if !hasTrackingFinalizer(p) || skip[p.UID] || st.expectedRm[p.UID] {
			continue
		}
		if isIndexed(st.job) && !validIndex(p, *st.job.Spec.Completions) {
			continue
		}
		if filter(p) {
			out = append(out, p)
		}
	}
	return out
}

// countedFailures counts the failed pods the failure policy counts.
func countedFailures(job *batchv1.Job, failed []*corev1.Pod) int {
	n := 0
	for _, p := range failed {
		if matchFailurePolicy(job.Spec.PodFailurePolicy, p).count {
			n++
		}
	}
	return n
}

func suspended(job *batchv1.Job) bool { return job.Spec.Suspend != nil && *job.Spec.Suspend }

func pastActiveDeadline(job *batchv1.Job, now time.Time) bool {
	if job.Spec.ActiveDeadlineSeconds == nil || job.Status.StartTime == nil || suspended(job) {
		return false
	}
	return now.Sub(job.Status.StartTime.Time) >= time.Duration(*job.Spec.ActiveDeadlineSeconds)*time.Second
}

func newCondition(t batchv1.JobConditionType, reason, message string, now time.Time) *batchv1.JobCondition {
	return &batchv1.JobCondition{
		Type: t, Status: corev1.ConditionTrue, Reason: reason, Message: message,
		LastProbeTime: metav1.NewTime(now), LastTransitionTime: metav1.NewTime(now),
	}
}

func findCondition(conds []batchv1.JobCondition, t batchv1.JobConditionType, status corev1.ConditionStatus) *batchv1.JobCondition {
	for i := range conds {
		if conds[i].Type == t && conds[i].Status == status {
			return &conds[i]
		}
	}
	return nil
}

// setCondition sets a condition's status, reason and message, adding it
// unless it would be added False; it says whether anything changed.
func setCondition(job *batchv1.Job, t batchv1.JobConditionType, status corev1.ConditionStatus, reason, message string, now time.Time) bool {
	for i := range job.Status.Conditions {
		c := &job.Status.Conditions[i]
		if c.Type != t {
			continue
		}
		if c.Status == status && c.Reason == reason && c.Message == message {
			return false
		}
		*c = *newCondition(t, reason, message, now)
		c.Status = status
		return true
	}
	if status == corev1.ConditionFalse {
		return false
	}
	job.Status.Conditions = append(job.Status.Conditions, *newCondition(t, reason, message, now))
	job.Status.Conditions[len(job.Status.Conditions)-1].Status = status
	return true
}

// succeededIndexes returns the indexes the status has counted and those
// plus the indexes of succeeded pods not counted yet.
func succeededIndexes(job *batchv1.Job, pods []*corev1.Pod) (prev, all intervals) {
	completions := int(*job.Spec.Completions)
	prev = parseIntervals(job.Status.CompletedIndexes, completions)
	var fresh []int
	for _, p := range pods {
		if p.Status.Phase == corev1.PodSucceeded && validIndex(p, *job.Spec.Completions) && hasTrackingFinalizer(p) {
			fresh = append(fresh, completionIndex(p))
		}
	}
	return prev, prev.with(fresh...)
}

// failedIndexes returns the failed indexes of the status plus those of
// pods that failed their index's last allowed time.
func failedIndexes(job *batchv1.Job, pods []*corev1.Pod) intervals {
	var prev intervals
	if job.Status.FailedIndexes != nil {
		prev = parseIntervals(*job.Status.FailedIndexes, int(*job.Spec.Completions))
	}
	var fresh []int
	for _, p := range pods {
		if validIndex(p, *job.Spec.Completions) && hasTrackingFinalizer(p) && indexFailed(job, p) {
			fresh = append(fresh, completionIndex(p))
		}
	}
	return prev.with(fresh...)
}

// indexFailed: the pod's failure fails its index (a FailIndex rule, or
// backoffLimitPerIndex reached).
func indexFailed(job *batchv1.Job, p *corev1.Pod) bool {
	if !isPodFailed(p, job) {
		return false
	}
	v := matchFailurePolicy(job.Spec.PodFailurePolicy, p)
	if v.action != nil && *v.action == batchv1.PodFailurePolicyActionFailIndex {
		return true
	}
	return v.count && indexFailureCount(p) >= *job.Spec.BackoffLimitPerIndex
}

// delayedDeletionPerIndex picks, for each index with no pod running and
// not finished, the failed pod whose finalizer stays until its
// replacement exists (it carries the index's failure counts over).
func delayedDeletionPerIndex(st *state) map[int]*corev1.Pod {
	activeIdx := map[int]bool{}
	for _, ix := range indexesOf(st.active) {
		activeIdx[ix] = true
	}
	out := map[int]*corev1.Pod{}
	for _, p := range countablePods(st, nil, func(p *corev1.Pod) bool { return isPodFailed(p, st.job) }) {
		ix := completionIndex(p)
		if st.succeededIdx.has(ix) || (st.failedIdx != nil && st.failedIdx.has(ix)) || activeIdx[ix] {
			continue
		}
		if last, ok := out[ix]; ok {
			lastCount := indexFailureCount(last) + indexIgnoredFailureCount(last)
			if lastCount <= indexFailureCount(p)+indexIgnoredFailureCount(p) && !finishTime(p).Before(finishTime(last)) {
				out[ix] = p
			}
			continue
		}
		out[ix] = p
	}
	return out
}

// deleteActive deletes active pods of a Job that is ending; their
// finalizers go when the Job's status has counted them.
func (jc *Controller) deleteActive(ctx context.Context, job *batchv1.Job, pods []*corev1.Pod) (deletedReady, deleted int32, err error) {
	errs := parallel(len(pods), func(i int) error {
		err := jc.client.CoreV1().Pods(job.Namespace).Delete(ctx, pods[i].Name, metav1.DeleteOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			return err
		}
		jc.recorder.Eventf(job, corev1.EventTypeNormal, "SuccessfulDelete", "Deleted pod: %v", pods[i].Name)
		return nil
	})
	for i, e := range errs {
		if e == nil {
			deleted++
			if controller.IsPodReady(pods[i]) {
				deletedReady++
			}
		}
	}
	return deletedReady, deleted, errors.Join(errs...)
}
