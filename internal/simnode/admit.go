package simnode

import (
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	resourcehelper "k8s.io/component-helpers/resource"
)

// admit decides, as the kubelet's admission does, whether a new pod fits
// the node beside the pods already admitted; an admitted pod counts
// until it finishes or is gone. A pod admitted once stays admitted.
func (n *simNode) admit(pod *corev1.Pod) (reason, message string, ok bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if _, ok := n.admitted[pod.UID]; ok {
		return "", "", true
	}
	req := resourcehelper.PodRequests(pod, resourcehelper.PodResourcesOptions{})
	if reason, message, ok = fits(req, n.used, len(n.admitted), n.allocatable); !ok {
		return reason, message, false
	}
	n.addLocked(pod, req)
	return "", "", true
}

// recordAdmitted counts a pod the node runs already (seen Running).
func (n *simNode) recordAdmitted(pod *corev1.Pod) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if _, ok := n.admitted[pod.UID]; !ok {
		n.addLocked(pod, resourcehelper.PodRequests(pod, resourcehelper.PodResourcesOptions{}))
	}
}

func (n *simNode) addLocked(pod *corev1.Pod, req corev1.ResourceList) {
	n.admitted[pod.UID] = req
	for k, v := range req {
		q := n.used[k]
		q.Add(v)
		n.used[k] = q
	}
}

// release stops counting a pod (finished or gone).
func (n *simNode) release(pod *corev1.Pod) {
	n.mu.Lock()
	defer n.mu.Unlock()
	req, ok := n.admitted[pod.UID]
	if !ok {
		return
	}
	delete(n.admitted, pod.UID)
	for k, v := range req {
		q := n.used[k]
		q.Sub(v)
		n.used[k] = q
	}
}

// fits reports whether a pod requesting req fits a node with
// allocatable where pods pods requesting used together run, in the order
// and words of upstream's kubelet: the pod count first, then cpu (in
// millicores), memory, ephemeral storage and the other resources the
// node has (extended resources the node does not know are not checked,
// as upstream). An empty allocatable (not known yet) fits everything.
func fits(req, used corev1.ResourceList, pods int, allocatable corev1.ResourceList) (reason, message string, ok bool) {
	if len(allocatable) == 0 {
		return "", "", true
	}
	if max, has := allocatable[corev1.ResourcePods]; has && int64(pods+1) > max.Value() {
		return outOf(corev1.ResourcePods, 1, int64(pods), max.Value())
	}
	names := []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory, corev1.ResourceEphemeralStorage}
	var others []corev1.ResourceName
	for k := range req {
		if !slices.Contains(names, k) && k != corev1.ResourcePods {
			others = append(others, k)
		}
	}
	slices.Sort(others)
	for _, k := range append(names, others...) {
		r, has := req[k]
		if !has || r.IsZero() {
			continue
		}
		a, known := allocatable[k]
		if !known && (isExtended(k) || k == corev1.ResourceEphemeralStorage) {
			continue
		}
		u := used[k]
		value := (*resource.Quantity).Value
		if k == corev1.ResourceCPU {
			value = (*resource.Quantity).MilliValue
		}
		if value(&r) > value(&a)-value(&u) {
			return outOf(k, value(&r), value(&u), value(&a))
		}
	}
	return "", "", true
}

// outOf is upstream's rejection for a resource: reason OutOfcpu,
// OutOfmemory, OutOfpods, OutOf<name>.
func outOf(name corev1.ResourceName, requested, used, capacity int64) (string, string, bool) {
	return "OutOf" + string(name), fmt.Sprintf("Node didn't have enough resource: %s, requested: %d, used: %d, capacity: %d",
		name, requested, used, capacity), false
}

// isExtended reports whether a resource is an extended resource
// (example.com/gpu): outside the kubernetes.io domain, with a domain.
func isExtended(name corev1.ResourceName) bool {
	n := string(name)
	return strings.Contains(n, "/") && !strings.Contains(n, "kubernetes.io/") && !strings.HasPrefix(n, "requests.")
}
