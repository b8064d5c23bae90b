package job

import (
	"context"
	"errors"
	"fmt"
	"sort"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// track counts finished pods exactly once, as upstream's tracking with
// finalizers:
//  1. finished pods still holding the finalizer go into
//     status.uncountedTerminatedPods (and that status is written);
//  2. their finalizers are removed;
//  3. pods in the uncounted lists without a finalizer any more move to
//     the succeeded and failed counters;
//  4. the Job is marked finished once nothing is uncounted or
//     terminating.
//
// A crash between steps never loses or doubles a count: the uncounted
// lists are the journal.
func (jc *Controller) track(ctx context.Context, st *state, k string, needsFlush bool) error {
	job := st.job
	indexed := isIndexed(job)
	if indexed {
		sort.SliceStable(st.pods, func(i, j int) bool { return completionIndex(st.pods[i]) < completionIndex(st.pods[j]) })
	}
	withFinalizer := map[types.UID]bool{}
	for _, p := range st.pods {
		if hasTrackingFinalizer(p) && !st.expectedRm[p.UID] {
			withFinalizer[p.UID] = true
		}
	}
	uncounted := job.Status.UncountedTerminatedPods
	if countReleased(&job.Status, withFinalizer) {
		needsFlush = true
	}
	var toRelease []*corev1.Pod
	var newSucceededIdx []int
	full := false
	for _, p := range st.pods {
		if !hasTrackingFinalizer(p) || st.expectedRm[p.UID] {
			continue // counted by an earlier sync
		}
		failed := isPodFailed(p, job)
		if !canRelease(st, p, failed) {
			continue
		}
		toRelease = append(toRelease, p)
		switch {
		case p.Status.Phase == corev1.PodSucceeded && !st.uncountedFailed[p.UID]:
			if indexed {
				// The index is the record; no UID needed.
				if ix := completionIndex(p); ix != noIndex && ix < int(*job.Spec.Completions) && !st.prevSucceededIdx.has(ix) {
					newSucceededIdx = append(newSucceededIdx, ix)
					needsFlush = true
				}
			} else if !st.uncountedSucceeded[p.UID] {
				uncounted.Succeeded = append(uncounted.Succeeded, p.UID)
				needsFlush = true
			}
		case failed || (st.finished != nil && st.finished.Type != batchv1.JobSuccessCriteriaMet):
			// A Job that fails counts every unfinished pod as failed.
			if st.uncountedFailed[p.UID] || (indexed && !validIndex(p, *job.Spec.Completions)) {
				break
			}
			if matchFailurePolicy(job.Spec.PodFailurePolicy, p).count {
				uncounted.Failed = append(uncounted.Failed, p.UID)
				needsFlush = true
			}
		}
		if len(newSucceededIdx)+len(uncounted.Succeeded)+len(uncounted.Failed) >= maxUncountedPods {
			// Enough for one status write; the rest on the next sync.
			full = true
			break
		}
	}
	if indexed {
		st.succeededIdx = st.succeededIdx.with(newSucceededIdx...)
		s := st.succeededIdx.String()
		if s != job.Status.CompletedIndexes {
			needsFlush = true
		}
		job.Status.Succeeded = int32(st.succeededIdx.total())
		job.Status.CompletedIndexes = s
		var failedStr *string
		if st.failedIdx != nil {
			v := st.failedIdx.String()
			failedStr = &v
		}
		if !equalStringPtr(job.Status.FailedIndexes, failedStr) {
			job.Status.FailedIndexes = failedStr
			needsFlush = true
		}
	}
	now := jc.clock.Now()
	// The interim conditions are written before finalizers go, so that
	// the verdict survives a crash; the final one after.
	if st.finished != nil && st.finished.Type == batchv1.JobFailureTarget {
		job.Status.Conditions = append(job.Status.Conditions, *st.finished)
		needsFlush = true
		st.finished = newCondition(batchv1.JobFailed, st.finished.Reason, st.finished.Message, now)
	}
	if st.finished != nil && st.finished.Type == batchv1.JobSuccessCriteriaMet {
		if findCondition(job.Status.Conditions, batchv1.JobSuccessCriteriaMet, corev1.ConditionTrue) == nil {
			job.Status.Conditions = append(job.Status.Conditions, *st.finished)
			needsFlush = true
		}
		st.finished = newCondition(batchv1.JobComplete, st.finished.Reason, st.finished.Message, now)
	}

	var err error
	needsFlush, err = jc.flushAndRelease(ctx, st, k, toRelease, withFinalizer, needsFlush)
	if err != nil {
		return err
	}
	finishedNow := !full && jc.markFinished(st)
	if finishedNow {
		needsFlush = true
	}
	if !needsFlush {
		return nil
	}
	if st.job, err = jc.updateStatus(ctx, st.job); err != nil {
		return fmt.Errorf("write job status: %w", err)
	}
	if finishedNow {
		jc.recordFinished(st.job, st.finished)
		jc.finished.Store(st.job.UID, struct{}{})
	}
	return nil
}

// canRelease says whether a pod's finalizer may go now: the Job is
// deleted or ending, the pod succeeded, or it failed (unless it stays
// to hand its index's failure counts to its replacement).
func canRelease(st *state, p *corev1.Pod, failed bool) bool {
	if st.job.DeletionTimestamp != nil || st.finished != nil || p.Status.Phase == corev1.PodSucceeded {
		return true
	}
	if !failed {
		return false
	}
	if hasBackoffLimitPerIndex(st.job) {
		if ix := completionIndex(p); ix != noIndex {
			if d, ok := st.delayedPerIndex[ix]; ok && d.UID == p.UID {
				return false
			}
		}
	}
	return true
}

// flushAndRelease writes the status with the new uncounted pods, removes
// their finalizers, and moves the released ones to the counters. It
// returns whether the status still has changes to write.
func (jc *Controller) flushAndRelease(ctx context.Context, st *state, k string, pods []*corev1.Pod, withFinalizer map[types.UID]bool, needsFlush bool) (bool, error) {
	var err error
	if needsFlush {
		if st.job, err = jc.updateStatus(ctx, st.job); err != nil {
			return needsFlush, fmt.Errorf("add uncounted pods to status: %w", err)
		}
		jc.backoff.set(k, st.backoff)
		needsFlush = false
	}
	var rmErr error
	if len(pods) > 0 {
		uids := make([]types.UID, len(pods))
		for i, p := range pods {
			uids[i] = p.UID
		}
		jc.finalizers.expect(k, uids)
		errs := parallel(len(pods), func(i int) error {
			patch := removeFinalizerPatch(pods[i])
			if patch == nil {
				return nil
			}
			if err := jc.patchPod(ctx, pods[i], patch); err != nil {
				jc.finalizers.observed(k, pods[i].UID)
				if !apierrors.IsNotFound(err) {
					return fmt.Errorf("remove tracking finalizer: %w", err)
				}
			}
			return nil
		})
		for i, e := range errs {
			if e == nil {
				delete(withFinalizer, pods[i].UID)
			}
		}
		rmErr = errors.Join(errs...)
	}
	if countReleased(&st.job.Status, withFinalizer) {
		needsFlush = true
	}
	if rmErr != nil && needsFlush {
		// Save the partial progress.
		if _, err := jc.updateStatus(ctx, st.job); err != nil {
			return needsFlush, fmt.Errorf("remove uncounted pods from status: %w", err)
		}
	}
	return needsFlush, rmErr
}

// countReleased moves the uncounted pods that no longer hold a finalizer
// to the succeeded and failed counters; it says whether anything moved.
func countReleased(st *batchv1.JobStatus, withFinalizer map[types.UID]bool) bool {
	u := st.UncountedTerminatedPods
	keep := func(uids []types.UID) []types.UID {
		var out []types.UID
		for _, uid := range uids {
			if withFinalizer[uid] {
				out = append(out, uid)
			}
		}
		return out
	}
	changed := false
	if s := keep(u.Succeeded); len(s) != len(u.Succeeded) {
		st.Succeeded += int32(len(u.Succeeded) - len(s))
		u.Succeeded = s
		changed = true
	}
	if f := keep(u.Failed); len(f) != len(u.Failed) {
		st.Failed += int32(len(u.Failed) - len(f))
		u.Failed = f
		changed = true
	}
	return changed
}

// markFinished sets the final condition once nothing is uncounted or
// terminating; it says whether the Job is finished.
func (jc *Controller) markFinished(st *state) bool {
	if st.finished == nil {
		return false
	}
	job := st.job
	if u := job.Status.UncountedTerminatedPods; u != nil && len(u.Succeeded)+len(u.Failed) > 0 {
		return false
	}
	if st.terminating > 0 {
		return false
	}
	c := st.finished
	setCondition(job, c.Type, c.Status, c.Reason, c.Message, c.LastTransitionTime.Time)
	if c.Type == batchv1.JobComplete {
		t := c.LastTransitionTime
		job.Status.CompletionTime = &t
	}
	return true
}

func (jc *Controller) recordFinished(job *batchv1.Job, c *batchv1.JobCondition) {
	if c.Type == batchv1.JobComplete {
		if job.Spec.Completions != nil && job.Status.Succeeded > *job.Spec.Completions {
			jc.recorder.Event(job, corev1.EventTypeWarning, "TooManySucceededPods", "Too many succeeded pods running after completion count reached")
		}
		jc.recorder.Event(job, corev1.EventTypeNormal, "Completed", "Job completed")
		return
	}
	jc.recorder.Event(job, corev1.EventTypeWarning, c.Reason, c.Message)
}

func (jc *Controller) updateStatus(ctx context.Context, job *batchv1.Job) (*batchv1.Job, error) {
	return jc.client.BatchV1().Jobs(job.Namespace).UpdateStatus(ctx, job, metav1.UpdateOptions{})
}

func equalStringPtr(a, b *string) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}
