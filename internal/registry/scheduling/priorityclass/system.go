package priorityclass

import (
	schedulingv1 "k8s.io/api/scheduling/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Priority bounds, as upstream: users may go up to a billion; above that
// is reserved for the system classes, which start at twice that.
const (
	HighestUserDefinablePriority = int32(1000000000)
	SystemCriticalPriority       = 2 * HighestUserDefinablePriority
	SystemPrefix                 = "system-"
	SystemClusterCritical        = SystemPrefix + "cluster-critical"
	SystemNodeCritical           = SystemPrefix + "node-critical"
)

// SystemClasses returns the classes the server creates at start.
func SystemClasses() []schedulingv1.PriorityClass {
	return []schedulingv1.PriorityClass{
		{
			ObjectMeta:  metav1.ObjectMeta{Name: SystemNodeCritical},
			Value:       SystemCriticalPriority + 1000,
			Description: "Used for system critical pods that must not be moved from their current node.",
		},
		{
			ObjectMeta:  metav1.ObjectMeta{Name: SystemClusterCritical},
			Value:       SystemCriticalPriority,
			Description: "Used for system critical pods that must run in the cluster, but can be moved to another node if necessary.",
		},
	}
}

// IsSystemClass reports whether name is one of the system classes, which
// cannot be deleted.
func IsSystemClass(name string) bool {
	return name == SystemNodeCritical || name == SystemClusterCritical
}
