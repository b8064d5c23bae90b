package builtin

import (
	"context"

	corev1 "k8s.io/api/core/v1"

	"github.com/kemudi/kemudi/internal/auth"
)

// DefaultTolerationSeconds is upstream's DefaultTolerationSeconds
// admission: a pod that does not tolerate the not-ready and unreachable
// NoExecute taints tolerates them for 300 seconds.
type DefaultTolerationSeconds struct{}

// Mutate implements auth.MutatingAdmission.
func (DefaultTolerationSeconds) Mutate(_ context.Context, r *auth.AdmissionRequest) error {
	pod, ok := r.Object.(*corev1.Pod)
	if !ok || r.Operation != auth.Create {
		return nil
	}
	notReady, unreachable := false, false
	for _, t := range pod.Spec.Tolerations {
		noExecute := t.Effect == corev1.TaintEffectNoExecute || t.Effect == ""
		if noExecute && (t.Key == corev1.TaintNodeNotReady || t.Key == "") {
			notReady = true
		}
		if noExecute && (t.Key == corev1.TaintNodeUnreachable || t.Key == "") {
			unreachable = true
		}
	}
	seconds := int64(300)
	if !notReady {
		pod.Spec.Tolerations = append(pod.Spec.Tolerations, corev1.Toleration{
			Key: corev1.TaintNodeNotReady, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: &seconds,
		})
	}
	if !unreachable {
		s := seconds
		pod.Spec.Tolerations = append(pod.Spec.Tolerations, corev1.Toleration{
			Key: corev1.TaintNodeUnreachable, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: &s,
		})
	}
	return nil
}
