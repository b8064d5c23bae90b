package job

import (
	"sort"
	"strconv"
	"sync"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
)

// Pod failure backoff: a replacement pod waits 10 s after the first
// failure, doubling per failure since the last success, up to 10 min.
const (
	defaultPodFailureBackoff = 10 * time.Second
	maxPodFailureBackoff     = 10 * time.Minute
)

// backoffRecord is what the controller remembers of a Job's failures
// since its last success (upstream keeps it in memory too: a restarted
// controller starts again from no backoff).
type backoffRecord struct {
	failuresAfterLastSuccess int32
	lastFailureTime          *time.Time
}

type backoffStore struct {
	mu sync.Mutex
	m  map[string]backoffRecord
}

func newBackoffStore() *backoffStore { return &backoffStore{m: map[string]backoffRecord{}} }

func (s *backoffStore) get(key string) backoffRecord {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.m[key]
}

func (s *backoffStore) set(key string, r backoffRecord) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m[key] = r
}

func (s *backoffStore) remove(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, key)
}

// nextBackoff folds the pods that finished since the last sync into the
// record: a success resets it, failures after the last success add up.
func nextBackoff(old backoffRecord, succeeded, failed []*corev1.Pod) backoffRecord {
	sortByFinishTime(succeeded)
	sortByFinishTime(failed)
	if len(succeeded) == 0 {
		if len(failed) == 0 {
			return old
		}
		last := finishTime(failed[len(failed)-1])
		return backoffRecord{failuresAfterLastSuccess: old.failuresAfterLastSuccess + int32(len(failed)), lastFailureTime: &last}
	}
	r := backoffRecord{}
	lastSuccess := finishTime(succeeded[len(succeeded)-1])
	for i := len(failed) - 1; i >= 0; i-- {
		t := finishTime(failed[i])
		if !t.After(lastSuccess) {
			break
		}
		if r.lastFailureTime == nil {
			r.lastFailureTime = &t
		}
		r.failuresAfterLastSuccess++
	}
	return r
}

// remaining is how long to wait before creating a pod again.
func (r backoffRecord) remaining(now time.Time) time.Duration {
	return backoffRemaining(now, r.failuresAfterLastSuccess, r.lastFailureTime)
}

func backoffRemaining(now time.Time, failures int32, last *time.Time) time.Duration {
	if failures == 0 || last == nil {
		return 0
	}
	d := defaultPodFailureBackoff
	for i := 1; i < int(failures); i++ {
		d *= 2
		if d >= maxPodFailureBackoff {
			d = maxPodFailureBackoff
			break
		}
	}
	elapsed := now.Sub(*last)
	if d < elapsed {
		return 0
	}
	return d - elapsed
}

func sortByFinishTime(pods []*corev1.Pod) {
	sort.SliceStable(pods, func(i, j int) bool { return finishTime(pods[i]).Before(finishTime(pods[j])) })
}

// finishTime is when a pod finished: its containers' latest end, else
// when it went unready, else when its deletion began, else its creation.
func finishTime(p *corev1.Pod) time.Time {
	if t := containersFinished(p); t != nil {
		return *t
	}
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady && c.Status == corev1.ConditionFalse && !c.LastTransitionTime.IsZero() {
			return c.LastTransitionTime.Time
		}
	}
	if p.DeletionTimestamp != nil {
		var grace int64
		if p.DeletionGracePeriodSeconds != nil {
			grace = *p.DeletionGracePeriodSeconds
		}
		return p.DeletionTimestamp.Add(-time.Duration(grace) * time.Second)
	}
	return p.CreationTimestamp.Time
}

func containersFinished(p *corev1.Pod) *time.Time {
	var latest *time.Time
	fold := func(cs corev1.ContainerStatus) bool {
		if cs.State.Terminated == nil || cs.State.Terminated.FinishedAt.IsZero() {
			return false
		}
		if t := cs.State.Terminated.FinishedAt.Time; latest == nil || latest.Before(t) {
			latest = &t
		}
		return true
	}
	for _, cs := range p.Status.ContainerStatuses {
		if !fold(cs) {
			return nil
		}
	}
	sidecars := map[string]bool{}
	for _, c := range p.Spec.InitContainers {
		if c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways {
			sidecars[c.Name] = true
		}
	}
	for _, cs := range p.Status.InitContainerStatuses {
		if sidecars[cs.Name] && !fold(cs) {
			return nil
		}
	}
	return latest
}

// indexFailureCount reads the pod's index failure count annotation.
func indexFailureCount(p *corev1.Pod) int32 {
	return annotationInt32(p, batchv1.JobIndexFailureCountAnnotation)
}

// indexIgnoredFailureCount reads the pod's ignored failure count.
func indexIgnoredFailureCount(p *corev1.Pod) int32 {
	return annotationInt32(p, batchv1.JobIndexIgnoredFailureCountAnnotation)
}

func annotationInt32(p *corev1.Pod, key string) int32 {
	v, ok := p.Annotations[key]
	if !ok {
		return 0
	}
	n, err := strconv.ParseInt(v, 10, 32)
	if err != nil || n < 0 {
		return 0
	}
	return int32(n)
}

// indexRemaining is the backoff of an index whose last pod failed.
func indexRemaining(now time.Time, lastFailed *corev1.Pod) time.Duration {
	if lastFailed == nil {
		return 0
	}
	t := finishTime(lastFailed)
	return backoffRemaining(now, indexFailureCount(lastFailed)+indexIgnoredFailureCount(lastFailed)+1, &t)
}
