package podgc

import (
	"sort"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
)

// Reason says why a pod is collected; the values are upstream's (the
// reason label of pod_gc_collector_force_delete_pods_total).
type Reason string

const (
	ReasonTerminated              Reason = "terminated"
	ReasonTerminatingOutOfService Reason = "out-of-service"
	ReasonOrphaned                Reason = "orphaned"
	ReasonTerminatingUnscheduled  Reason = "unscheduled"
)

// Upstream's DisruptionTarget condition for orphans.
const (
	ConditionReason  = "DeletionByPodGC"
	ConditionMessage = "PodGC: node no longer exists"
)

// evictedReason is the status.reason the kubelet gives pods it evicts.
const evictedReason = "Evicted"

// Decision is one pod to mark Failed (when not terminal) and delete.
type Decision struct {
	Pod    *corev1.Pod
	Reason Reason
}

// Input is what one pass decides on.
type Input struct {
	Pods  []*corev1.Pod
	Nodes []*corev1.Node
	// Threshold is how many terminated pods may stay (<= 0: any number).
	Threshold int
	// Gone are the nodes confirmed deleted: their pods are orphans.
	Gone map[string]bool
}

// Decide returns the pods to collect, in upstream's order of passes
// (terminated, out-of-service, orphaned, unscheduled), each pod once.
func Decide(in Input) []Decision {
	nodes := make(map[string]*corev1.Node, len(in.Nodes))
	for _, n := range in.Nodes {
		nodes[n.Name] = n
	}
	var out []Decision
	seen := map[types.NamespacedName]bool{}
	add := func(p *corev1.Pod, r Reason) {
		key := types.NamespacedName{Namespace: p.Namespace, Name: p.Name}
		if seen[key] {
			return
		}
		seen[key] = true
		out = append(out, Decision{Pod: p, Reason: r})
	}
	for _, p := range excessTerminated(in.Pods, in.Threshold) {
		add(p, ReasonTerminated)
	}
	var outOfService []*corev1.Pod
	for _, p := range in.Pods {
		if p.DeletionTimestamp == nil || p.Spec.NodeName == "" {
			continue
		}
		if n, ok := nodes[p.Spec.NodeName]; ok && !nodeReady(n) && hasTaintKey(n, corev1.TaintNodeOutOfService) {
			outOfService = append(outOfService, p)
		}
	}
	sortForCollection(outOfService)
	for _, p := range outOfService {
		add(p, ReasonTerminatingOutOfService)
	}
	for _, p := range in.Pods {
		if p.Spec.NodeName != "" && in.Gone[p.Spec.NodeName] {
			add(p, ReasonOrphaned)
		}
	}
	for _, p := range in.Pods {
		if p.DeletionTimestamp != nil && p.Spec.NodeName == "" {
			add(p, ReasonTerminatingUnscheduled)
		}
	}
	return out
}

// MissingNodes are the nodes pods are bound to that are not in nodes.
func MissingNodes(pods []*corev1.Pod, nodes []*corev1.Node) map[string]bool {
	have := make(map[string]bool, len(nodes))
	for _, n := range nodes {
		have[n.Name] = true
	}
	missing := map[string]bool{}
	for _, p := range pods {
		if p.Spec.NodeName != "" && !have[p.Spec.NodeName] {
			missing[p.Spec.NodeName] = true
		}
	}
	return missing
}

// excessTerminated returns the terminated pods beyond threshold, the
// ones to go first.
func excessTerminated(pods []*corev1.Pod, threshold int) []*corev1.Pod {
	if threshold <= 0 {
		return nil
	}
	var terminated []*corev1.Pod
	for _, p := range pods {
		if terminal(p) {
			terminated = append(terminated, p)
		}
	}
	excess := len(terminated) - threshold
	if excess <= 0 {
		return nil
	}
	sortForCollection(terminated)
	return terminated[:excess]
}

// sortForCollection orders pods as upstream collects them: evicted pods
// first (they were not the result a workload's controller wanted, so they
// matter least), then oldest first, then by name.
func sortForCollection(pods []*corev1.Pod) {
	sort.SliceStable(pods, func(i, j int) bool {
		a, b := pods[i], pods[j]
		if ea, eb := evicted(a), evicted(b); ea != eb {
			return ea
		}
		if !a.CreationTimestamp.Equal(&b.CreationTimestamp) {
			return a.CreationTimestamp.Before(&b.CreationTimestamp)
		}
		return a.Name < b.Name
	})
}

// terminal: the pod's phase is neither Pending, Running nor Unknown (as
// upstream, a phase it does not know counts as terminated).
func terminal(p *corev1.Pod) bool {
	switch p.Status.Phase {
	case corev1.PodPending, corev1.PodRunning, corev1.PodUnknown:
		return false
	}
	return true
}

func evicted(p *corev1.Pod) bool {
	return p.Status.Phase == corev1.PodFailed && p.Status.Reason == evictedReason
}

func nodeReady(n *corev1.Node) bool {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// hasTaintKey: any effect counts, as upstream.
func hasTaintKey(n *corev1.Node, key string) bool {
	for _, t := range n.Spec.Taints {
		if t.Key == key {
			return true
		}
	}
	return false
}
