package attachdetach

import (
	corev1 "k8s.io/api/core/v1"
)

// ManagedAnnotation marks a node whose attachments the controller
// manages (the kubelet sets it when it registers).
const ManagedAnnotation = "volumes.kubernetes.io/controller-managed-attach-detach"

// Managed reports whether the controller manages n's attachments.
func Managed(n *corev1.Node) bool {
	return n != nil && n.Annotations[ManagedAnnotation] == "true"
}
