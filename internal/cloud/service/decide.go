package service

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
)

// Finalizer keeps a service until its load balancer is deleted.
const Finalizer = "service.kubernetes.io/load-balancer-cleanup"

// Node labels and taints that keep a node out of load balancers, as
// upstream.
const (
	LabelExcludeFromLB          = "node.kubernetes.io/exclude-from-external-load-balancers"
	TaintToBeDeletedByAutoscale = "ToBeDeletedByClusterAutoscaler"
)

// wantsLoadBalancer: a LoadBalancer service of no other class.
func wantsLoadBalancer(svc *corev1.Service) bool {
	return svc.Spec.Type == corev1.ServiceTypeLoadBalancer && svc.Spec.LoadBalancerClass == nil
}

func hasFinalizer(svc *corev1.Service) bool {
	return slices.Contains(svc.Finalizers, Finalizer)
}

// needsCleanup: a service holding a load balancer it no longer wants
// (it is being deleted, or changed type or class).
func needsCleanup(svc *corev1.Service) bool {
	return hasFinalizer(svc) && (svc.DeletionTimestamp != nil || !wantsLoadBalancer(svc))
}

// change is a user-visible change of a service that its load balancer
// follows, reported as an event (upstream's reasons).
type change struct{ reason, message string }

// changes lists what changed between two versions of a service that
// matters to its load balancer. An empty list and the same wanting of
// a load balancer mean there is nothing to do.
func changes(old, cur *corev1.Service) []change {
	if !wantsLoadBalancer(old) && !wantsLoadBalancer(cur) {
		return nil
	}
	var out []change
	add := func(reason string, before, after any) {
		out = append(out, change{reason, fmt.Sprintf("%v -> %v", before, after)})
	}
	if old.Spec.Type != cur.Spec.Type {
		add("Type", old.Spec.Type, cur.Spec.Type)
	}
	if !apiequality.Semantic.DeepEqual(old.Spec.LoadBalancerClass, cur.Spec.LoadBalancerClass) {
		add("LoadBalancerClass", deref(old.Spec.LoadBalancerClass), deref(cur.Spec.LoadBalancerClass))
	}
	if !sameSet(old.Spec.LoadBalancerSourceRanges, cur.Spec.LoadBalancerSourceRanges) {
		add("LoadBalancerSourceRanges", old.Spec.LoadBalancerSourceRanges, cur.Spec.LoadBalancerSourceRanges)
	}
	if !portsEqual(old.Spec.Ports, cur.Spec.Ports) {
		out = append(out, change{"Ports", "ports changed"})
	}
	if old.Spec.LoadBalancerIP != cur.Spec.LoadBalancerIP {
		add("LoadbalancerIP", old.Spec.LoadBalancerIP, cur.Spec.LoadBalancerIP)
	}
	if !sameSet(old.Spec.ExternalIPs, cur.Spec.ExternalIPs) {
		add("ExternalIP", old.Spec.ExternalIPs, cur.Spec.ExternalIPs)
	}
	if !apiequality.Semantic.DeepEqual(old.Annotations, cur.Annotations) {
		out = append(out, change{"Annotations", fmt.Sprintf("%v -> %v", old.Annotations, cur.Annotations)})
	}
	if old.UID != cur.UID {
		add("UID", old.UID, cur.UID)
	}
	if old.Spec.ExternalTrafficPolicy != cur.Spec.ExternalTrafficPolicy {
		add("ExternalTrafficPolicy", old.Spec.ExternalTrafficPolicy, cur.Spec.ExternalTrafficPolicy)
	}
	if old.Spec.HealthCheckNodePort != cur.Spec.HealthCheckNodePort {
		add("HealthCheckNodePort", old.Spec.HealthCheckNodePort, cur.Spec.HealthCheckNodePort)
	}
	if !slices.Equal(old.Spec.IPFamilies, cur.Spec.IPFamilies) {
		add("IPFamilies", old.Spec.IPFamilies, cur.Spec.IPFamilies)
	}
	return out
}

// needsSync says whether an update of a service is one its load
// balancer must follow: a change of changes, or a finalizer someone
// removed (put back) or a status someone wiped (written again).
func needsSync(old, cur *corev1.Service) bool {
	if len(changes(old, cur)) > 0 || needsCleanup(cur) {
		return true
	}
	if !wantsLoadBalancer(cur) {
		return false
	}
	return (hasFinalizer(old) && !hasFinalizer(cur)) ||
		(len(old.Status.LoadBalancer.Ingress) > 0 && len(cur.Status.LoadBalancer.Ingress) == 0)
}

func deref(s *string) string {
	if s == nil {
		return "<none>"
	}
	return *s
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	sort.Strings(a)
	sort.Strings(b)
	return slices.Equal(a, b)
}

func portsEqual(a, b []corev1.ServicePort) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Protocol != b[i].Protocol || a[i].Port != b[i].Port || a[i].NodePort != b[i].NodePort || a[i].Name != b[i].Name {
			return false
		}
	}
	return true
}

// includedNode: a node load balancers send traffic to (upstream's
// predicates: not excluded by label, not being deleted by the
// autoscaler). Readiness is the provider's to judge.
func includedNode(n *corev1.Node) bool {
	if _, excluded := n.Labels[LabelExcludeFromLB]; excluded {
		return false
	}
	if n.DeletionTimestamp != nil {
		return false
	}
	for _, t := range n.Spec.Taints {
		if t.Key == TaintToBeDeletedByAutoscale {
			return false
		}
	}
	return true
}

// nodeFingerprint sums up what of the node set load balancers depend
// on: which nodes are in, their readiness and addresses. A node
// heartbeat leaves it unchanged.
func nodeFingerprint(nodes []*corev1.Node) string {
	var parts []string
	for _, n := range nodes {
		if !includedNode(n) {
			continue
		}
		ready := corev1.ConditionUnknown
		for _, c := range n.Status.Conditions {
			if c.Type == corev1.NodeReady {
				ready = c.Status
			}
		}
		var addrs []string
		for _, a := range n.Status.Addresses {
			addrs = append(addrs, string(a.Type)+"="+a.Address)
		}
		parts = append(parts, n.Name+"|"+string(ready)+"|"+strings.Join(addrs, ","))
	}
	sort.Strings(parts)
	return strings.Join(parts, ";")
}

// statusEqual compares load balancer statuses as upstream does: the
// same ingress points in the same order.
func statusEqual(a, b *corev1.LoadBalancerStatus) bool {
	return apiequality.Semantic.DeepEqual(a.Ingress, b.Ingress)
}
