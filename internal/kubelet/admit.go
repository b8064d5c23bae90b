package kubelet

import (
	"fmt"
	"slices"

	corev1 "k8s.io/api/core/v1"
	resourcehelper "k8s.io/component-helpers/resource"
	schedcorev1 "k8s.io/component-helpers/scheduling/corev1"
	"k8s.io/component-helpers/scheduling/corev1/nodeaffinity"
	"k8s.io/klog/v2"
	"k8s.io/kubectl/pkg/util/qos"
	"k8s.io/utils/ptr"
)

// Rejection is why the kubelet refuses to run a pod bound to its node:
// the pod ends Failed with Reason and "Pod was rejected: "+Message.
type Rejection struct{ Reason, Message string }

// AdmitInput is what the kubelet admits a new pod against.
type AdmitInput struct {
	Pod *corev1.Pod
	// Admitted are the node's other pods that run or will: admitted
	// earlier and not finished.
	Admitted []*corev1.Pod
	Node     *corev1.Node
	// Pressure are the node's conditions under pressure, as its
	// eviction manager last found them.
	Pressure []corev1.NodeConditionType
}

// AdmitPod is upstream's kubelet admission, nil when the pod may run:
// under node pressure only critical pods (and, under memory pressure
// alone, pods that are not BestEffort or tolerate it) are admitted; then
// the scheduler's checks the kubelet repeats, first failure reported:
// the pod count and requests against allocatable, the node selector and
// required affinity, host ports, and NoExecute taints.
func AdmitPod(in AdmitInput) *Rejection {
	if r := admitUnderPressure(in.Pod, in.Pressure); r != nil {
		return r
	}
	if r := admitResources(in.Pod, in.Admitted, in.Node); r != nil {
		return r
	}
	if ok, _ := nodeaffinity.GetRequiredNodeAffinity(in.Pod).Match(in.Node); !ok {
		return predicateFailure("NodeAffinity", "node(s) didn't match Pod's node affinity/selector")
	}
	if hostPortTaken(in.Pod, in.Admitted) {
		return predicateFailure("NodePorts", "node(s) didn't have free ports for the requested pod ports")
	}
	if !isStaticPod(in.Pod) {
		noExecute := func(t *corev1.Taint) bool { return t.Effect == corev1.TaintEffectNoExecute }
		if _, bad := schedcorev1.FindMatchingUntoleratedTaint(klog.Background(), in.Node.Spec.Taints, in.Pod.Spec.Tolerations, noExecute, false); bad {
			return predicateFailure("TaintToleration", "node(s) had taints that the pod didn't tolerate")
		}
	}
	return nil
}

func predicateFailure(name, desc string) *Rejection {
	return &Rejection{Reason: name, Message: fmt.Sprintf("Predicate %s failed: %s", name, desc)}
}

func admitUnderPressure(pod *corev1.Pod, pressure []corev1.NodeConditionType) *Rejection {
	if len(pressure) == 0 || isCriticalPod(pod) {
		return nil
	}
	if len(pressure) == 1 && pressure[0] == corev1.NodeMemoryPressure {
		taint := &corev1.Taint{Key: corev1.TaintNodeMemoryPressure, Effect: corev1.TaintEffectNoSchedule}
		if qos.GetPodQOS(pod) != corev1.PodQOSBestEffort || schedcorev1.TolerationsTolerateTaint(klog.Background(), pod.Spec.Tolerations, taint, false) {
			return nil
		}
	}
	return &Rejection{Reason: "Evicted", Message: fmt.Sprintf("The node had condition: %v. ", pressure)}
}

// isCriticalPod is upstream's: static, mirror and system-critical pods,
// which are admitted under pressure and never evicted.
func isCriticalPod(pod *corev1.Pod) bool {
	return isStaticPod(pod) || isMirrorPod(pod) || ptr.Deref(pod.Spec.Priority, 0) >= systemCriticalPriority
}

// admitResources is the scheduler's resource fit with the figures in
// the message: the pod count first, then CPU, memory, ephemeral storage
// and other resources the pod requests.
func admitResources(pod *corev1.Pod, admitted []*corev1.Pod, node *corev1.Node) *Rejection {
	alloc := node.Status.Allocatable
	if max := alloc.Pods().Value(); int64(len(admitted))+1 > max {
		return outOf(corev1.ResourcePods, 1, int64(len(admitted)), max)
	}
	used := corev1.ResourceList{}
	for _, p := range admitted {
		for name, q := range resourcehelper.PodRequests(p, resourcehelper.PodResourcesOptions{}) {
			sum := used[name]
			sum.Add(q)
			used[name] = sum
		}
	}
	want := resourcehelper.PodRequests(pod, resourcehelper.PodResourcesOptions{})
	var others []corev1.ResourceName
	for name := range want {
		if name != corev1.ResourceCPU && name != corev1.ResourceMemory && name != corev1.ResourceEphemeralStorage {
			others = append(others, name)
		}
	}
	slices.Sort(others)
	names := append([]corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory, corev1.ResourceEphemeralStorage}, others...)
	for _, name := range names {
		w, u, a := amount(want, name), amount(used, name), amount(alloc, name)
		if w > 0 && w > a-u {
			return outOf(name, w, u, a)
		}
	}
	return nil
}

// amount is a resource in the unit upstream's message uses: millicores
// for CPU, else the plain value.
func amount(l corev1.ResourceList, name corev1.ResourceName) int64 {
	q, ok := l[name]
	if !ok {
		return 0
	}
	if name == corev1.ResourceCPU {
		return q.MilliValue()
	}
	return q.Value()
}

func outOf(name corev1.ResourceName, requested, used, capacity int64) *Rejection {
	return &Rejection{Reason: "OutOf" + string(name), Message: fmt.Sprintf("Node didn't have enough resource: %s, requested: %d, used: %d, capacity: %d",
		name, requested, used, capacity)}
}

// hostPortTaken is true when another admitted pod holds one of the pod's
// host ports (same protocol and port, and the same address or either
// on every address).
func hostPortTaken(pod *corev1.Pod, admitted []*corev1.Pod) bool {
	want := podHostPorts(pod)
	if len(want) == 0 {
		return false
	}
	for _, other := range admitted {
		for _, h := range podHostPorts(other) {
			for _, w := range want {
				if h.HostPort == w.HostPort && protocol(h) == protocol(w) && (h.HostIP == w.HostIP || anyIP(h.HostIP) || anyIP(w.HostIP)) {
					return true
				}
			}
		}
	}
	return false
}

func podHostPorts(pod *corev1.Pod) []corev1.ContainerPort {
	var out []corev1.ContainerPort
	for _, list := range [][]corev1.Container{pod.Spec.InitContainers, pod.Spec.Containers} {
		for _, c := range list {
			for _, p := range c.Ports {
				if p.HostPort > 0 {
					out = append(out, p)
				}
			}
		}
	}
	return out
}

func protocol(p corev1.ContainerPort) corev1.Protocol {
	if p.Protocol == "" {
		return corev1.ProtocolTCP
	}
	return p.Protocol
}

func anyIP(ip string) bool { return ip == "" || ip == "0.0.0.0" || ip == "::" }
