package kubelet

import (
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/utils/ptr"
)

// systemCriticalPriority is upstream's scheduling.SystemCriticalPriority:
// pods at or above it are never evicted.
const systemCriticalPriority = 2000000000

// PodUsage is what a pod uses, from the runtime's stats.
type PodUsage struct {
	Pod *corev1.Pod
	// Memory is the working set of each container, by name.
	Memory map[string]int64
	// Disk is the bytes of each container's writable layer and logs, by name.
	Disk map[string]int64
	// Volumes is the bytes of each disk-backed emptyDir, by name: the
	// pod's ephemeral storage too (memory-backed ones are memory).
	Volumes   map[string]int64
	Processes int64
}

func (u PodUsage) total(r corev1.ResourceName) int64 {
	m := u.Memory
	if r == corev1.ResourceEphemeralStorage {
		m = u.Disk
	}
	var n int64
	for _, v := range m {
		n += v
	}
	if r == corev1.ResourceEphemeralStorage {
		for _, v := range u.Volumes {
			n += v
		}
	}
	return n
}

// podRequest is the pod's request of r: its containers' sum, or its
// largest init container's when that is more.
func podRequest(pod *corev1.Pod, r corev1.ResourceName) int64 {
	var sum, initMax int64
	for _, c := range pod.Spec.Containers {
		q := c.Resources.Requests[r]
		sum += q.Value()
	}
	for _, c := range pod.Spec.InitContainers {
		q := c.Resources.Requests[r]
		initMax = max(initMax, q.Value())
	}
	return max(sum, initMax)
}

// Evictable is whether the kubelet may evict the pod: not a static or
// mirror pod, not system-critical, not finished.
func Evictable(pod *corev1.Pod) bool {
	return !isCriticalPod(pod) && pod.Status.Phase != corev1.PodSucceeded && pod.Status.Phase != corev1.PodFailed
}

// RankForEviction orders the evictable pods for a signal, first to
// evict first, as upstream ranks them: for memory and disk, pods using
// more than they request, then lower priority, then more use above the
// request; for PIDs, lower priority, then more processes.
func RankForEviction(s Signal, pods []PodUsage) []PodUsage {
	var out []PodUsage
	for _, p := range pods {
		if Evictable(p.Pod) {
			out = append(out, p)
		}
	}
	prio := func(p PodUsage) int32 { return ptr.Deref(p.Pod.Spec.Priority, 0) }
	if s == SignalPIDAvailable {
		sort.SliceStable(out, func(i, j int) bool {
			if prio(out[i]) != prio(out[j]) {
				return prio(out[i]) < prio(out[j])
			}
			return out[i].Processes > out[j].Processes
		})
		return out
	}
	r := resourceOf(s)
	if r == "inodes" {
		r = corev1.ResourceEphemeralStorage
	}
	over := func(p PodUsage) int64 { return p.total(r) - podRequest(p.Pod, r) }
	sort.SliceStable(out, func(i, j int) bool {
		ei, ej := over(out[i]) > 0, over(out[j]) > 0
		if ei != ej {
			return ei
		}
		if prio(out[i]) != prio(out[j]) {
			return prio(out[i]) < prio(out[j])
		}
		return over(out[i]) > over(out[j])
	})
	return out
}

// EvictionMessage is upstream's message for a pod evicted because t was
// crossed with obs: the resource, the threshold, what was available, and
// each container that used more than it requested.
func EvictionMessage(t Threshold, obs Observation, u PodUsage) string {
	r := resourceOf(t.Signal)
	format := resource.BinarySI
	if r == "inodes" || r == "pids" {
		format = resource.DecimalSI
	}
	var b strings.Builder
	fmt.Fprintf(&b, "The node was low on resource: %s. ", r)
	fmt.Fprintf(&b, "Threshold quantity: %s, available: %s. ",
		resource.NewQuantity(t.Value(obs.Capacity), format).String(), resource.NewQuantity(obs.Available, format).String())
	usage := u.Memory
	if r == corev1.ResourceEphemeralStorage {
		usage = u.Disk
	}
	if r == corev1.ResourceMemory || r == corev1.ResourceEphemeralStorage {
		for _, c := range u.Pod.Spec.Containers {
			used, ok := usage[c.Name]
			req := c.Resources.Requests[r]
			if ok && used > req.Value() {
				fmt.Fprintf(&b, "Container %s was using %s, request is %s, has larger consumption of %s. ",
					c.Name, resource.NewQuantity(used, resource.BinarySI).String(), req.String(), r)
			}
		}
	}
	return b.String()
}
