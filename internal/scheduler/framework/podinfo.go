package framework

import (
	"errors"
	"fmt"
	"sync/atomic"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/sets"
)

// PodInfo is a pod with what the plugins need from it computed once: its
// requests, its host ports and its parsed inter-pod affinity terms.
type PodInfo struct {
	Pod *corev1.Pod
	// Requests is what the pod reserves on its node.
	Requests Resource
	// NonZeroMilliCPU and NonZeroMemory are its cpu and memory requests
	// with unset container requests counted as the scoring defaults.
	NonZeroMilliCPU, NonZeroMemory int64
	// HostPorts are the container ports that take a port on the node.
	HostPorts []corev1.ContainerPort

	RequiredAffinityTerms      []AffinityTerm
	RequiredAntiAffinityTerms  []AffinityTerm
	PreferredAffinityTerms     []WeightedAffinityTerm
	PreferredAntiAffinityTerms []WeightedAffinityTerm
	// ParseError says why some affinity terms could not be parsed (the
	// API accepted something the scheduler cannot use): a pending pod
	// with one stays pending with this message.
	ParseError error
	// Memo remembers whether the pod matched the terms it was last
	// checked against; copies of a PodInfo with the same labels share it.
	Memo *MatchMemo
}

// TermKey identifies a term by its content: plugins intern one per
// distinct term, so that equal keys are the same pointer.
type TermKey struct{ canonical string }

// NewTermKey returns a key for a term's canonical text; intern it.
func NewTermKey(canonical string) *TermKey { return &TermKey{canonical} }

// MatchMemo remembers, across cycles, whether a pod matched the last
// term it matched and the last it did not: a pod that thousands of
// pods' anti-affinity is checked against is matched once per term, not
// once per cycle. It is safe for concurrent use.
type MatchMemo struct {
	yes, no atomic.Pointer[TermKey]
}

// NewMatchMemo returns an empty memo.
func NewMatchMemo() *MatchMemo { return &MatchMemo{} }

// Lookup returns the remembered answer for key, if any.
func (m *MatchMemo) Lookup(key *TermKey) (matched, known bool) {
	switch key {
	case m.yes.Load():
		return true, true
	case m.no.Load():
		return false, true
	}
	return false, false
}

// Remember records the answer for key.
func (m *MatchMemo) Remember(key *TermKey, matched bool) {
	if matched {
		m.yes.Store(key)
	} else {
		m.no.Store(key)
	}
}

// NewPodInfo computes a pod's PodInfo. It never fails: terms that do not
// parse are left out and reported in ParseError.
func NewPodInfo(pod *corev1.Pod) *PodInfo {
	pi := &PodInfo{Pod: pod, Requests: podRequests(pod), HostPorts: hostPorts(pod), Memo: NewMatchMemo()}
	pi.NonZeroMilliCPU, pi.NonZeroMemory = podNonZeroRequests(pod, pi.Requests)
	a := pod.Spec.Affinity
	if a == nil || (a.PodAffinity == nil && a.PodAntiAffinity == nil) {
		return pi
	}
	var errs []error
	if pa := a.PodAffinity; pa != nil {
		pi.RequiredAffinityTerms = affinityTerms(pod, pa.RequiredDuringSchedulingIgnoredDuringExecution, &errs)
		pi.PreferredAffinityTerms = weightedTerms(pod, pa.PreferredDuringSchedulingIgnoredDuringExecution, &errs)
	}
	if pa := a.PodAntiAffinity; pa != nil {
		pi.RequiredAntiAffinityTerms = affinityTerms(pod, pa.RequiredDuringSchedulingIgnoredDuringExecution, &errs)
		pi.PreferredAntiAffinityTerms = weightedTerms(pod, pa.PreferredDuringSchedulingIgnoredDuringExecution, &errs)
	}
	pi.ParseError = errors.Join(errs...)
	return pi
}

// Key is the pod's namespace/name.
func (p *PodInfo) Key() string { return p.Pod.Namespace + "/" + p.Pod.Name }

// scoresOthers is true when the pod's terms count in the inter-pod
// affinity score of pods placed near it.
func (p *PodInfo) scoresOthers() bool {
	return len(p.RequiredAffinityTerms)+len(p.PreferredAffinityTerms)+len(p.PreferredAntiAffinityTerms) > 0
}

// AffinityTerm is a parsed PodAffinityTerm.
type AffinityTerm struct {
	// Namespaces the term selects pods in; with NamespaceSelector, also
	// every namespace whose labels it matches.
	Namespaces        sets.Set[string]
	NamespaceSelector labels.Selector
	Selector          labels.Selector
	TopologyKey       string
}

// WeightedAffinityTerm is a parsed preferred term.
type WeightedAffinityTerm struct {
	AffinityTerm
	Weight int32
}

// Matches is true when the term selects pod, whose namespace has the
// labels nsLabels.
func (t *AffinityTerm) Matches(pod *corev1.Pod, nsLabels labels.Set) bool {
	if t.Namespaces.Has(pod.Namespace) || t.NamespaceSelector.Matches(nsLabels) {
		return t.Selector.Matches(labels.Set(pod.Labels))
	}
	return false
}

func newAffinityTerm(pod *corev1.Pod, term *corev1.PodAffinityTerm) (AffinityTerm, error) {
	sel, err := metav1.LabelSelectorAsSelector(term.LabelSelector)
	if err != nil {
		return AffinityTerm{}, fmt.Errorf("labelSelector: %w", err)
	}
	nsSel, err := metav1.LabelSelectorAsSelector(term.NamespaceSelector)
	if err != nil {
		return AffinityTerm{}, fmt.Errorf("namespaceSelector: %w", err)
	}
	ns := sets.New(term.Namespaces...)
	if len(term.Namespaces) == 0 && term.NamespaceSelector == nil {
		ns.Insert(pod.Namespace)
	}
	return AffinityTerm{Namespaces: ns, NamespaceSelector: nsSel, Selector: sel, TopologyKey: term.TopologyKey}, nil
}

func affinityTerms(pod *corev1.Pod, terms []corev1.PodAffinityTerm, errs *[]error) []AffinityTerm {
	var out []AffinityTerm
	for i := range terms {
		t, err := newAffinityTerm(pod, &terms[i])
		if err != nil {
			*errs = append(*errs, err)
			continue
		}
		out = append(out, t)
	}
	return out
}

func weightedTerms(pod *corev1.Pod, terms []corev1.WeightedPodAffinityTerm, errs *[]error) []WeightedAffinityTerm {
	var out []WeightedAffinityTerm
	for i := range terms {
		t, err := newAffinityTerm(pod, &terms[i].PodAffinityTerm)
		if err != nil {
			*errs = append(*errs, err)
			continue
		}
		out = append(out, WeightedAffinityTerm{AffinityTerm: t, Weight: terms[i].Weight})
	}
	return out
}

// hostPorts are the ports of the pod's containers (and sidecars, which
// run as long as the pod) that take a port on the node.
func hostPorts(pod *corev1.Pod) []corev1.ContainerPort {
	var ports []corev1.ContainerPort
	for _, c := range pod.Spec.InitContainers {
		if c.RestartPolicy == nil || *c.RestartPolicy != corev1.ContainerRestartPolicyAlways {
			continue
		}
		for _, p := range c.Ports {
			if p.HostPort > 0 {
				ports = append(ports, p)
			}
		}
	}
	for _, c := range pod.Spec.Containers {
		for _, p := range c.Ports {
			if p.HostPort > 0 {
				ports = append(ports, p)
			}
		}
	}
	return ports
}
