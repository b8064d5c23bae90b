package kubelet

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
)

// runtimeHandler is the CRI runtime handler that runs the pod: its
// RuntimeClass's handler, or "" (the runtime's default) without one. A
// class the kubelet has not seen is an error, and the pod's sandbox is
// tried again later, as upstream's.
func (k *Kubelet) runtimeHandler(pod *corev1.Pod) (string, error) {
	name := pod.Spec.RuntimeClassName
	if name == nil || *name == "" {
		return "", nil
	}
	rc, err := k.runtimeClasses.Get(*name)
	if apierrors.IsNotFound(err) {
		return "", err
	}
	if err != nil {
		return "", fmt.Errorf("failed to lookup RuntimeClass %s: %w", *name, err)
	}
	return rc.Handler, nil
}
