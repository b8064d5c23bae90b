package kubelet

import (
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// evictionGrace is the grace period of a pod evicted for a hard
// threshold: upstream's immediate eviction, one second.
const evictionGrace = 1

// evict marks the worker's pod evicted with msg and wakes it: it kills
// the pod and writes the Failed status.
func (w *worker) evict(msg string) {
	w.mu.Lock()
	if w.evicted == "" {
		w.evicted = msg
	}
	w.mu.Unlock()
	w.poke()
}

func (w *worker) evictedMessage() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.evicted
}

// gracePeriod is the pod's grace period, one second once it is evicted
// (unless its deletion asked for less).
func (w *worker) gracePeriod(pod *corev1.Pod) int64 {
	g := gracePeriod(pod)
	if w.evictedMessage() != "" {
		return min(g, evictionGrace)
	}
	return g
}

// evictedPod is pod as the kubelet sees it once evicted: Failed with
// reason Evicted and the message, and the DisruptionTarget condition
// upstream adds. Its status is what the worker then writes.
func evictedPod(pod *corev1.Pod, msg string, now time.Time) *corev1.Pod {
	if pod.Status.Phase == corev1.PodSucceeded || (pod.Status.Phase == corev1.PodFailed && pod.Status.Reason != "Evicted") {
		return pod
	}
	p := pod.DeepCopy()
	p.Status.Phase, p.Status.Reason, p.Status.Message = corev1.PodFailed, "Evicted", msg
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.DisruptionTarget {
			return p
		}
	}
	p.Status.Conditions = append(p.Status.Conditions, corev1.PodCondition{
		Type: corev1.DisruptionTarget, Status: corev1.ConditionTrue, Reason: "TerminationByKubelet",
		Message: msg, LastTransitionTime: metav1.Time{Time: now},
	})
	return p
}
