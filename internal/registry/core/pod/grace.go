package pod

import corev1 "k8s.io/api/core/v1"

// GracePeriod returns the grace period, in seconds, upstream uses when a
// pod is deleted: the requested one (DeleteOptions.gracePeriodSeconds),
// else the pod's terminationGracePeriodSeconds; 0 (delete at once) for a
// pod never scheduled or already finished; and 1 for a negative value.
// The API server sets metadata.deletionGracePeriodSeconds to it, and
// removes the pod at once when it is 0.
func GracePeriod(pod *corev1.Pod, requested *int64) (seconds int64) {
	switch {
	case requested != nil:
		seconds = *requested
	case pod.Spec.TerminationGracePeriodSeconds != nil:
		seconds = *pod.Spec.TerminationGracePeriodSeconds
	}
	if pod.Spec.NodeName == "" {
		seconds = 0
	}
	if pod.Status.Phase == corev1.PodFailed || pod.Status.Phase == corev1.PodSucceeded {
		seconds = 0
	}
	if seconds < 0 {
		seconds = 1
	}
	return seconds
}
