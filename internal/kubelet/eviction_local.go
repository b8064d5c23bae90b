package kubelet

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	resourcehelper "k8s.io/component-helpers/resource"
)

// LocalStorageViolation is why a pod must be evicted for its local
// ephemeral storage, whatever the node's pressure, as upstream's
// LocalStorageCapacityIsolation checks every round and in this order: a
// disk-backed emptyDir past its sizeLimit, the pod past its
// ephemeral-storage limit (its containers' and sidecars' summed, as
// upstream's PodLimits; pod-level resources hold no storage), a container
// past its own limit. "" is no violation (and always for a pod the
// kubelet may not evict).
func LocalStorageViolation(u PodUsage) string {
	if !Evictable(u.Pod) {
		return ""
	}
	if msg := emptyDirViolation(u); msg != "" {
		return msg
	}
	limits := resourcehelper.PodLimits(u.Pod, resourcehelper.PodResourcesOptions{})
	if limit, ok := limits[corev1.ResourceEphemeralStorage]; ok && u.total(corev1.ResourceEphemeralStorage) > limit.Value() {
		return fmt.Sprintf("Pod ephemeral local storage usage exceeds the total limit of containers %s. ", limit.String())
	}
	return containerStorageViolation(u)
}

// emptyDirViolation judges disk-backed emptyDirs only: a memory-backed
// one is a tmpfs the kernel holds to its size.
func emptyDirViolation(u PodUsage) string {
	for _, v := range u.Pod.Spec.Volumes {
		if v.EmptyDir == nil || v.EmptyDir.Medium != corev1.StorageMediumDefault ||
			v.EmptyDir.SizeLimit == nil || v.EmptyDir.SizeLimit.Sign() <= 0 {
			continue
		}
		if used, ok := u.Volumes[v.Name]; ok && used > v.EmptyDir.SizeLimit.Value() {
			return fmt.Sprintf("Usage of EmptyDir volume %q exceeds the limit %q. ", v.Name, v.EmptyDir.SizeLimit.String())
		}
	}
	return ""
}

// containerStorageViolation judges the containers and the sidecars
// (restartable init containers), which run alongside them; other init
// containers have finished.
func containerStorageViolation(u PodUsage) string {
	cs := u.Pod.Spec.Containers
	for _, c := range u.Pod.Spec.InitContainers {
		if c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways {
			cs = append(cs[:len(cs):len(cs)], c)
		}
	}
	for _, c := range cs {
		limit, ok := c.Resources.Limits[corev1.ResourceEphemeralStorage]
		if !ok || limit.IsZero() {
			continue
		}
		if used, ok := u.Disk[c.Name]; ok && used > limit.Value() {
			return fmt.Sprintf("Container %s exceeded its local ephemeral storage limit %q. ", c.Name, limit.String())
		}
	}
	return ""
}

// HasLocalStorageLimit is whether LocalStorageViolation can hold for the
// pod: it has a disk-backed emptyDir with a sizeLimit or a container
// with an ephemeral-storage limit.
func HasLocalStorageLimit(pod *corev1.Pod) bool {
	for _, v := range pod.Spec.Volumes {
		if v.EmptyDir != nil && v.EmptyDir.Medium == corev1.StorageMediumDefault &&
			v.EmptyDir.SizeLimit != nil && v.EmptyDir.SizeLimit.Sign() > 0 {
			return true
		}
	}
	for _, cs := range [][]corev1.Container{pod.Spec.InitContainers, pod.Spec.Containers} {
		for _, c := range cs {
			if q, ok := c.Resources.Limits[corev1.ResourceEphemeralStorage]; ok && !q.IsZero() {
				return true
			}
		}
	}
	return false
}
