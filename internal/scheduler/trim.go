package scheduler

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// trimManagedFields drops what the scheduler never reads from cached
// objects, as upstream's informers do; of nodes it keeps what the
// plugins read: labels, cordon, taints, allocatable and images (their
// conditions, addresses and system information are dropped).
func trimManagedFields(obj any) (any, error) {
	if a, ok := obj.(metav1.ObjectMetaAccessor); ok {
		a.GetObjectMeta().SetManagedFields(nil)
	}
	if n, ok := obj.(*corev1.Node); ok {
		n.Status = corev1.NodeStatus{Allocatable: n.Status.Allocatable, Images: n.Status.Images}
	}
	return obj, nil
}

// trimPod keeps of a cached pod what scheduling reads: its metadata, the
// spec the plugins weigh (containers' images, requests and ports, claim
// volumes, affinity, tolerations, spread, priority, gates) and the
// status that matters (phase, conditions, nominated node, start time,
// container resources during a resize). Ten thousand pods' commands,
// environments, mounts and token volumes would otherwise live in the
// scheduler's heap, and be scanned by every garbage collection.
func trimPod(obj any) (any, error) {
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return trimManagedFields(obj)
	}
	pod.ManagedFields = nil
	trim := func(cs []corev1.Container) {
		for i := range cs {
			c := &cs[i]
			cs[i] = corev1.Container{
				Name: c.Name, Image: c.Image, Ports: c.Ports, Resources: c.Resources,
				RestartPolicy: c.RestartPolicy, ResizePolicy: c.ResizePolicy,
			}
		}
	}
	trim(pod.Spec.Containers)
	trim(pod.Spec.InitContainers)
	pod.Spec.EphemeralContainers = nil
	volumes := pod.Spec.Volumes[:0]
	for _, v := range pod.Spec.Volumes {
		if v.PersistentVolumeClaim != nil || v.Ephemeral != nil {
			volumes = append(volumes, v)
		}
	}
	// The dropped volumes' sources must not stay reachable past the end.
	clear(pod.Spec.Volumes[len(volumes):])
	pod.Spec.Volumes = volumes
	trimStatuses := func(ss []corev1.ContainerStatus) []corev1.ContainerStatus {
		var out []corev1.ContainerStatus
		for _, s := range ss {
			if s.Resources != nil || s.AllocatedResources != nil {
				out = append(out, corev1.ContainerStatus{Name: s.Name, Resources: s.Resources, AllocatedResources: s.AllocatedResources})
			}
		}
		return out
	}
	st := &pod.Status
	pod.Status = corev1.PodStatus{
		Phase: st.Phase, Conditions: st.Conditions, NominatedNodeName: st.NominatedNodeName, StartTime: st.StartTime,
		ContainerStatuses: trimStatuses(st.ContainerStatuses), InitContainerStatuses: trimStatuses(st.InitContainerStatuses),
		Resize: st.Resize, //nolint:staticcheck // read by resize-aware request sums
	}
	return pod, nil
}
