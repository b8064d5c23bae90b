package quota

import (
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

var (
	podsGR    = schema.GroupResource{Resource: "pods"}
	podNames  = names(corev1.ResourcePods, corev1.ResourceCPU, corev1.ResourceMemory, corev1.ResourceEphemeralStorage, corev1.ResourceRequestsCPU, corev1.ResourceRequestsMemory, corev1.ResourceRequestsEphemeralStorage, corev1.ResourceLimitsCPU, corev1.ResourceLimitsMemory, corev1.ResourceLimitsEphemeralStorage)
	coreNames = map[string]map[corev1.ResourceName]bool{
		"services":               names(corev1.ResourceServices, corev1.ResourceServicesLoadBalancers, corev1.ResourceServicesNodePorts),
		"persistentvolumeclaims": names(corev1.ResourcePersistentVolumeClaims, corev1.ResourceRequestsStorage),
		"configmaps":             names(corev1.ResourceConfigMaps),
		"secrets":                names(corev1.ResourceSecrets),
		"replicationcontrollers": names(corev1.ResourceReplicationControllers),
		"resourcequotas":         names(corev1.ResourceQuotas),
	}
)

func names(ns ...corev1.ResourceName) map[corev1.ResourceName]bool {
	m := map[corev1.ResourceName]bool{}
	for _, n := range ns {
		m[n] = true
	}
	return m
}

// Matching returns the names among hard that objects of gr use (upstream's
// MatchingResources of the kind's evaluator).
func Matching(gr schema.GroupResource, hard []corev1.ResourceName) []corev1.ResourceName {
	var out []corev1.ResourceName
	count := CountName(gr)
	for _, n := range hard {
		if n == count || matchesKind(gr, n) {
			out = append(out, n)
		}
	}
	return out
}

func matchesKind(gr schema.GroupResource, n corev1.ResourceName) bool {
	if gr.Group != "" {
		return false
	}
	s := string(n)
	switch gr.Resource {
	case "pods":
		return podNames[n] || strings.HasPrefix(s, corev1.ResourceHugePagesPrefix) ||
			strings.HasPrefix(s, corev1.DefaultResourceRequestsPrefix+corev1.ResourceHugePagesPrefix) ||
			(strings.HasPrefix(s, corev1.DefaultResourceRequestsPrefix) && isExtended(corev1.ResourceName(strings.TrimPrefix(s, corev1.DefaultResourceRequestsPrefix))))
	case "persistentvolumeclaims":
		return coreNames[gr.Resource][n] || strings.Contains(s, storageClassSuffix)
	}
	return coreNames[gr.Resource][n]
}

// MatchesScopes reports whether a quota's scopes and scope selector cover
// an object: quotas with scopes only cover pods.
func MatchesScopes(q *corev1.ResourceQuota, gr schema.GroupResource, obj interface{}) bool {
	var reqs []corev1.ScopedResourceSelectorRequirement
	for _, s := range q.Spec.Scopes {
		reqs = append(reqs, corev1.ScopedResourceSelectorRequirement{ScopeName: s, Operator: corev1.ScopeSelectorOpExists})
	}
	if q.Spec.ScopeSelector != nil {
		reqs = append(reqs, q.Spec.ScopeSelector.MatchExpressions...)
	}
	if len(reqs) == 0 {
		return true
	}
	pod, ok := obj.(*corev1.Pod)
	if !ok || gr != podsGR {
		return false
	}
	for _, r := range reqs {
		if !podMatchesScope(pod, r) {
			return false
		}
	}
	return true
}

func podMatchesScope(pod *corev1.Pod, r corev1.ScopedResourceSelectorRequirement) bool {
	switch r.ScopeName {
	case corev1.ResourceQuotaScopeTerminating:
		return isTerminating(pod)
	case corev1.ResourceQuotaScopeNotTerminating:
		return !isTerminating(pod)
	case corev1.ResourceQuotaScopeBestEffort:
		return isBestEffort(pod)
	case corev1.ResourceQuotaScopeNotBestEffort:
		return !isBestEffort(pod)
	case corev1.ResourceQuotaScopePriorityClass:
		pc := pod.Spec.PriorityClassName
		switch r.Operator {
		case corev1.ScopeSelectorOpExists:
			return pc != ""
		case corev1.ScopeSelectorOpDoesNotExist:
			return pc == ""
		case corev1.ScopeSelectorOpIn:
			return pc != "" && contains(r.Values, pc)
		case corev1.ScopeSelectorOpNotIn:
			return pc == "" || !contains(r.Values, pc)
		}
	case corev1.ResourceQuotaScopeCrossNamespacePodAffinity:
		return usesCrossNamespaceAffinity(pod)
	}
	return false
}

func contains(values []string, v string) bool {
	for _, x := range values {
		if x == v {
			return true
		}
	}
	return false
}

// TerminatingChanged: an update moved the pod between the Terminating
// and NotTerminating scopes (its activeDeadlineSeconds set or cleared),
// which upstream's quota admission charges at once to the quotas that
// cover it only now.
func TerminatingChanged(old, pod *corev1.Pod) bool {
	return isTerminating(old) != isTerminating(pod)
}

func isTerminating(pod *corev1.Pod) bool {
	return pod.Spec.ActiveDeadlineSeconds != nil && *pod.Spec.ActiveDeadlineSeconds >= 0
}

// isBestEffort: no container requests or limits cpu or memory.
func isBestEffort(pod *corev1.Pod) bool {
	if pod.Status.QOSClass != "" {
		return pod.Status.QOSClass == corev1.PodQOSBestEffort
	}
	for _, cs := range [][]corev1.Container{pod.Spec.InitContainers, pod.Spec.Containers} {
		for _, c := range cs {
			for _, l := range []corev1.ResourceList{c.Resources.Requests, c.Resources.Limits} {
				for _, n := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
					if q, ok := l[n]; ok && !q.IsZero() {
						return false
					}
				}
			}
		}
	}
	return true
}

func usesCrossNamespaceAffinity(pod *corev1.Pod) bool {
	a := pod.Spec.Affinity
	if a == nil {
		return false
	}
	var terms []corev1.PodAffinityTerm
	if a.PodAffinity != nil {
		terms = append(terms, a.PodAffinity.RequiredDuringSchedulingIgnoredDuringExecution...)
		for _, w := range a.PodAffinity.PreferredDuringSchedulingIgnoredDuringExecution {
			terms = append(terms, w.PodAffinityTerm)
		}
	}
	if a.PodAntiAffinity != nil {
		terms = append(terms, a.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution...)
		for _, w := range a.PodAntiAffinity.PreferredDuringSchedulingIgnoredDuringExecution {
			terms = append(terms, w.PodAffinityTerm)
		}
	}
	for _, t := range terms {
		if len(t.Namespaces) > 0 || t.NamespaceSelector != nil {
			return true
		}
	}
	return false
}
