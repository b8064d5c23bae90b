package resourcequota

import (
	corev1 "k8s.io/api/core/v1"
)

// Default rounds the quantities of spec and status up to milli-units.
func Default(q *corev1.ResourceQuota) {
	RoundUpToMilli(q.Spec.Hard)
	RoundUpToMilli(q.Status.Hard)
	RoundUpToMilli(q.Status.Used)
}
