package job

import (
	"context"
	"errors"
	"sort"
	"strconv"
	"sync"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kemudi/kemudi/internal/controller"
)

// wantActive is how many pods should run: parallelism, bounded by the
// completions left; without completions, once a pod succeeded, no new
// pods (those running finish).
func wantActive(job *batchv1.Job, active, succeeded int32) int32 {
	parallelism := *job.Spec.Parallelism
	if job.Spec.Completions == nil {
		if succeeded > 0 {
			return active
		}
		return parallelism
	}
	return max(0, min(*job.Spec.Completions-succeeded, parallelism))
}

// podsToRemove picks at least n active pods to delete: for Indexed Jobs
// first those with no, an out-of-range or a duplicated index; then the
// least advanced.
func podsToRemove(job *batchv1.Job, active []*corev1.Pod, n int) []*corev1.Pod {
	var rm, keep []*corev1.Pod
	if isIndexed(job) {
		rm, keep = duplicateIndexPods(active, *job.Spec.Completions, controller.ActivePodsLess)
	} else {
		keep = append(keep, active...)
	}
	if len(rm) < n {
		sort.SliceStable(keep, func(i, j int) bool { return controller.ActivePodsLess(keep[i], keep[j]) })
		rm = append(rm, keep[:n-len(rm)]...)
	}
	return rm
}

// manage creates or deletes pods toward the wanted number and returns
// the number of active pods after.
func (jc *Controller) manage(ctx context.Context, st *state, k string) (int32, error) {
	job := st.job
	active := int32(len(st.active))
	if suspended(job) {
		rm := podsToRemove(job, st.active, int(active))
		removedReady, removed, err := jc.deletePods(ctx, job, k, rm)
		st.terminating += removed
		st.ready -= removedReady
		return active - removed, err
	}
	want := wantActive(job, active, st.succeeded)
	rm := podsToRemove(job, st.active, int(max(0, active-want)))
	if len(rm) > maxPodChangesPerSync {
		rm = rm[:maxPodChangesPerSync]
	}
	if len(rm) > 0 {
		// Deletions first; creations wait for the next sync.
		removedReady, removed, err := jc.deletePods(ctx, job, k, rm)
		st.terminating += removed
		st.ready -= removedReady
		return active - removed, err
	}
	var terminating int32
	if onlyReplaceFailed(job) {
		terminating = st.terminating
	}
	diff := want - terminating - active
	if diff <= 0 {
		return active, nil
	}
	now := jc.clock.Now()
	if !hasBackoffLimitPerIndex(job) {
		if left := st.backoff.remaining(now); left > 0 {
			st.requeueAfter(max(left, batchPeriod))
			return active, nil
		}
	}
	diff = min(diff, maxPodChangesPerSync)
	var indexes []int
	if isIndexed(job) {
		indexes = jc.pendingIndexes(st, int(diff))
		if hasBackoffLimitPerIndex(job) {
			var wait time.Duration
			var ready []int
			for _, ix := range indexes {
				left := indexRemaining(now, st.delayedPerIndex[ix])
				if left == 0 {
					ready = append(ready, ix)
				} else if wait == 0 || left < wait {
					wait = left
				}
			}
			if len(ready) == 0 && wait > 0 {
				st.requeueAfter(max(wait, batchPeriod))
				return active, nil
			}
			indexes = ready
		}
		diff = int32(len(indexes))
	}
	if diff == 0 {
		return active, nil
	}

	template := job.Spec.Template.DeepCopy()
	if isIndexed(job) {
		addIndexEnv(&template.Spec)
	}
	if !containsString(template.Finalizers, batchv1.JobTrackingFinalizer) {
		template.Finalizers = append(template.Finalizers, batchv1.JobTrackingFinalizer)
	}
	ref := controller.ControllerRef(job, controllerKind)
	jc.expectations.ExpectCreations(k, int(diff))
	created, err := slowStart(int(diff), func(i int) error {
		t := template
		generateName := ""
		if indexes != nil {
			ix := indexes[i]
			t = template.DeepCopy()
			withIndex(t, job.Name, ix)
			generateName = indexedGenerateName(job.Name, ix)
			if hasBackoffLimitPerIndex(job) {
				failures, ignored := replacementFailureCounts(job, st.delayedPerIndex[ix])
				t.Annotations[batchv1.JobIndexFailureCountAnnotation] = strconv.Itoa(int(failures))
				if ignored > 0 {
					t.Annotations[batchv1.JobIndexIgnoredFailureCountAnnotation] = strconv.Itoa(int(ignored))
				}
			}
		}
		return jc.createPod(ctx, job, t, ref, generateName)
	})
	// Creations that failed or were skipped will never be seen.
	jc.expectations.Lower(k, int(diff)-created, 0)
	return active + int32(created), err
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// replacementFailureCounts are the failure counts the replacement of a
// failed indexed pod carries.
func replacementFailureCounts(job *batchv1.Job, replaced *corev1.Pod) (failures, ignored int32) {
	if replaced == nil {
		return 0, 0
	}
	failures, ignored = indexFailureCount(replaced), indexIgnoredFailureCount(replaced)
	if matchFailurePolicy(job.Spec.PodFailurePolicy, replaced).count {
		failures++
	} else {
		ignored++
	}
	return failures, ignored
}

// pendingIndexes returns up to n indexes with no pod running, not
// succeeded and not failed.
func (jc *Controller) pendingIndexes(st *state, n int) []int {
	nonPending := st.succeededIdx.with(indexesOf(st.active)...)
	if onlyReplaceFailed(st.job) {
		var terminating []*corev1.Pod
		for _, p := range st.pods {
			if controller.IsPodTerminating(p) {
				terminating = append(terminating, p)
			}
		}
		nonPending = nonPending.with(indexesOf(terminating)...)
	}
	if st.failedIdx != nil {
		nonPending = nonPending.merge(*st.failedIdx)
	}
	return firstPendingIndexes(nonPending, n, int(*st.job.Spec.Completions))
}

func (jc *Controller) createPod(ctx context.Context, job *batchv1.Job, t *corev1.PodTemplateSpec, ref *metav1.OwnerReference, generateName string) error {
	p := controller.PodFromTemplate(t, job.Name, ref)
	if generateName != "" {
		p.GenerateName = generateName
	}
	created, err := jc.client.CoreV1().Pods(job.Namespace).Create(ctx, p, metav1.CreateOptions{})
	if err != nil {
		if apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause) {
			return err
		}
		jc.recorder.Eventf(job, corev1.EventTypeWarning, "FailedCreate", "Error creating: %v", err)
		return err
	}
	jc.recorder.Eventf(job, corev1.EventTypeNormal, "SuccessfulCreate", "Created pod: %v", created.Name)
	return nil
}

// deletePods removes the tracking finalizer of each pod and deletes it.
func (jc *Controller) deletePods(ctx context.Context, job *batchv1.Job, k string, pods []*corev1.Pod) (removedReady, removed int32, err error) {
	keys := make([]string, len(pods))
	for i, p := range pods {
		keys[i] = p.Namespace + "/" + p.Name
	}
	jc.expectations.ExpectDeletionsOf(k, keys)
	errs := parallel(len(pods), func(i int) error {
		p := pods[i]
		if patch := removeFinalizerPatch(p); patch != nil {
			if err := jc.patchPod(ctx, p, patch); err != nil {
				jc.expectations.DeletionObserved(k, keys[i])
				if apierrors.IsNotFound(err) {
					return nil
				}
				return err
			}
		}
		if err := jc.client.CoreV1().Pods(p.Namespace).Delete(ctx, p.Name, metav1.DeleteOptions{}); err != nil {
			jc.expectations.DeletionObserved(k, keys[i])
			if apierrors.IsNotFound(err) {
				return nil
			}
			jc.recorder.Eventf(job, corev1.EventTypeWarning, "FailedDelete", "Error deleting: %v", err)
			return err
		}
		jc.recorder.Eventf(job, corev1.EventTypeNormal, "SuccessfulDelete", "Deleted pod: %v", p.Name)
		return nil
	})
	for i, e := range errs {
		if e == nil {
			removed++
			if controller.IsPodReady(pods[i]) {
				removedReady++
			}
		}
	}
	return removedReady, removed, errors.Join(errs...)
}

// parallel runs f for 0..n-1 concurrently and returns each error.
func parallel(n int, f func(i int) error) []error {
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = f(i)
		}()
	}
	wg.Wait()
	return errs
}

// slowStart runs n creations in slow-start batches (controller.SlowStart)
// and returns how many succeeded and the first error, unless that is a
// refusal because the namespace is being deleted.
func slowStart(n int, create func(i int) error) (int, error) {
	done, errs := controller.SlowStart(n, create)
	if len(errs) == 0 || apierrors.HasStatusCause(errs[0], corev1.NamespaceTerminatingCause) {
		return done, nil
	}
	return done, errs[0]
}
