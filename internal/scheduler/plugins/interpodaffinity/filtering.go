package interpodaffinity

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/kemudi/kemudi/internal/scheduler/framework"
)

// Upstream's reasons.
const (
	ErrReasonExistingAntiAffinityRulesNotMatch = "node(s) didn't satisfy existing pods anti-affinity rules"
	ErrReasonAffinityRulesNotMatch             = "node(s) didn't match pod affinity rules"
	ErrReasonAntiAffinityRulesNotMatch         = "node(s) didn't match pod anti-affinity rules"
)

var (
	affinityMismatch     = framework.NewStatus(framework.UnschedulableAndUnresolvable, ErrReasonAffinityRulesNotMatch).WithPlugin(Name)
	antiAffinityConflict = framework.NewStatus(framework.Unschedulable, ErrReasonAntiAffinityRulesNotMatch).WithPlugin(Name)
	existingConflict     = framework.NewStatus(framework.Unschedulable, ErrReasonExistingAntiAffinityRulesNotMatch).WithPlugin(Name)
)

const preFilterKey framework.StateKey = "PreFilter" + Name

type preFilterState struct {
	pod      *framework.PodInfo
	nsLabels labels.Set
	// existingAnti counts, per topology pair, the required anti-affinity
	// terms (other than by hostname) of running pods that select the
	// incoming pod.
	existingAnti topologyCounts
	// The incoming pod's required terms: affinity terms are all by
	// hostname (hostAffinity) or counted cluster-wide (clusterAffinity);
	// anti-affinity terms are split by whether they are by hostname.
	hostAffinity, clusterAffinity         []term
	hostAntiAffinity, clusterAntiAffinity []term
	// affinityCounts and antiAffinityCounts count, per topology pair,
	// the running pods the cluster-wide terms select.
	affinityCounts, antiAffinityCounts topologyCounts
	// hostAffinityMatches counts running pods that match every hostname
	// affinity term anywhere in the cluster.
	hostAffinityMatches int64
	// requiredAffinity is every required affinity term, for the first
	// pod of a group that has affinity to itself.
	requiredAffinity []framework.AffinityTerm
}

func (s *preFilterState) Clone() framework.StateData {
	c := *s
	c.existingAnti = s.existingAnti.clone()
	c.affinityCounts = s.affinityCounts.clone()
	c.antiAffinityCounts = s.antiAffinityCounts.clone()
	return &c
}

// PreFilter counts what the filter needs once per cycle; it skips pods
// without required terms in a cluster where no running pod has required
// anti-affinity.
func (pl *Plugin) PreFilter(_ context.Context, state *framework.CycleState, pod *framework.PodInfo, snap *framework.Snapshot) (*framework.PreFilterResult, *framework.Status) {
	if pod.ParseError != nil {
		return nil, framework.NewStatus(framework.UnschedulableAndUnresolvable, fmt.Sprintf("parsing pod: %v", pod.ParseError))
	}
	noTerms := len(pod.RequiredAffinityTerms) == 0 && len(pod.RequiredAntiAffinityTerms) == 0
	if noTerms && len(snap.HavePodsWithRequiredAntiAffinity()) == 0 {
		return nil, framework.NewStatus(framework.Skip)
	}
	affinity, err := pl.resolve(pod.RequiredAffinityTerms)
	if err != nil {
		return nil, framework.AsStatus(err)
	}
	anti, err := pl.resolve(pod.RequiredAntiAffinityTerms)
	if err != nil {
		return nil, framework.AsStatus(err)
	}
	s := &preFilterState{pod: pod, nsLabels: pl.namespaceLabels(pod.Pod.Namespace), requiredAffinity: affinity}
	if allByHostname(affinity) {
		s.hostAffinity = pl.keyed(affinity)
	} else {
		s.clusterAffinity = pl.keyed(affinity)
	}
	for _, t := range pl.keyed(anti) {
		if t.TopologyKey == corev1.LabelHostname {
			s.hostAntiAffinity = append(s.hostAntiAffinity, t)
		} else {
			s.clusterAntiAffinity = append(s.clusterAntiAffinity, t)
		}
	}

	s.existingAnti = topologyCounts{}
	for _, ni := range snap.HavePodsWithNonHostAntiAffinity() {
		labels := ni.Node().Labels
		for _, existing := range ni.PodsWithRequiredAntiAffinity {
			for i := range existing.RequiredAntiAffinityTerms {
				t := &existing.RequiredAntiAffinityTerms[i]
				if t.TopologyKey != corev1.LabelHostname && t.Matches(pod.Pod, s.nsLabels) {
					s.existingAnti.update(labels, t.TopologyKey, 1)
				}
			}
		}
	}

	s.affinityCounts, s.antiAffinityCounts = topologyCounts{}, topologyCounts{}
	if len(s.clusterAffinity) > 0 || len(s.clusterAntiAffinity) > 0 || len(s.hostAffinity) > 0 {
		for _, ni := range snap.List() {
			labels := ni.Node().Labels
			for _, existing := range ni.Pods {
				s.countPod(existing, labels, 1)
			}
		}
	}
	if noTerms && len(s.existingAnti) == 0 && snap.NumNodesWithHostAntiAffinity() == 0 {
		return nil, framework.NewStatus(framework.Skip)
	}
	state.Write(preFilterKey, s)
	return nil, nil
}

func allByHostname(terms []framework.AffinityTerm) bool {
	for i := range terms {
		if terms[i].TopologyKey != corev1.LabelHostname {
			return false
		}
	}
	return true
}

// countPod adds (delta 1) or removes (-1) a running pod's contribution
// to the incoming pod's cluster-wide counts.
func (s *preFilterState) countPod(p *framework.PodInfo, nodeLabels map[string]string, delta int64) {
	if matchesAll(s.clusterAffinity, p) {
		for i := range s.clusterAffinity {
			s.affinityCounts.update(nodeLabels, s.clusterAffinity[i].TopologyKey, delta)
		}
	}
	for i := range s.clusterAntiAffinity {
		if s.clusterAntiAffinity[i].matches(p) {
			s.antiAffinityCounts.update(nodeLabels, s.clusterAntiAffinity[i].TopologyKey, delta)
		}
	}
	if matchesAll(s.hostAffinity, p) {
		s.hostAffinityMatches += delta
	}
}

func (s *preFilterState) updateWithPod(p *framework.PodInfo, node *framework.NodeInfo, delta int64) {
	labels := node.Node().Labels
	for i := range p.RequiredAntiAffinityTerms {
		t := &p.RequiredAntiAffinityTerms[i]
		if t.TopologyKey != corev1.LabelHostname && t.Matches(s.pod.Pod, s.nsLabels) {
			s.existingAnti.update(labels, t.TopologyKey, delta)
		}
	}
	s.countPod(p, labels, delta)
}

// AddPod implements framework.PreFilterExtensions.
func (*Plugin) AddPod(state *framework.CycleState, _, added *framework.PodInfo, node *framework.NodeInfo) *framework.Status {
	if s, ok := state.Read(preFilterKey).(*preFilterState); ok {
		s.updateWithPod(added, node, 1)
	}
	return nil
}

// RemovePod implements framework.PreFilterExtensions.
func (*Plugin) RemovePod(state *framework.CycleState, _, removed *framework.PodInfo, node *framework.NodeInfo) *framework.Status {
	if s, ok := state.Read(preFilterKey).(*preFilterState); ok {
		s.updateWithPod(removed, node, -1)
	}
	return nil
}

// Filter checks, in upstream's order, the pod's affinity, its
// anti-affinity, and the anti-affinity of the pods already running.
func (*Plugin) Filter(state *framework.CycleState, _ *framework.PodInfo, node *framework.NodeInfo) *framework.Status {
	s, _ := state.Read(preFilterKey).(*preFilterState)
	if s == nil {
		return framework.AsStatus(fmt.Errorf("%s: no PreFilter state", Name))
	}
	switch {
	case len(s.hostAffinity) > 0:
		if !s.nodePodsSatisfyAffinity(node) {
			return affinityMismatch
		}
	case len(s.clusterAffinity) > 0:
		if !s.topologyMatchesAffinity(node.Node().Labels) {
			return affinityMismatch
		}
	}
	if s.topologyConflictsWithAntiAffinity(node) || s.nodePodsConflictWithAntiAffinity(node) {
		return antiAffinityConflict
	}
	if !s.satisfiesExistingAntiAffinity(node) {
		return existingConflict
	}
	return nil
}

// nodePodsSatisfyAffinity: some pod on the node matches every hostname
// affinity term, or this is the first pod of a group with affinity to
// itself.
func (s *preFilterState) nodePodsSatisfyAffinity(node *framework.NodeInfo) bool {
	if !node.HasHostnameLabel() {
		return false
	}
	for _, p := range node.Pods {
		if matchesAll(s.hostAffinity, p) {
			return true
		}
	}
	return s.selfAffinity(node.Node().Labels)
}

// topologyMatchesAffinity: the node's topology domain holds pods that
// every cluster-wide affinity term selects, or no such pod exists
// anywhere and the pod would satisfy its own terms.
func (s *preFilterState) topologyMatchesAffinity(nodeLabels map[string]string) bool {
	podsExist := true
	for i := range s.clusterAffinity {
		key := s.clusterAffinity[i].TopologyKey
		v, ok := nodeLabels[key]
		if !ok {
			return false
		}
		if s.affinityCounts[topologyPair{key, v}] <= 0 {
			podsExist = false
		}
	}
	if podsExist {
		return true
	}
	return len(s.affinityCounts) == 0 && s.selfAffinity(nodeLabels)
}

// selfAffinity lets the first pod of a group with affinity to itself
// start anywhere that has the topology keys, when no matching pod runs.
func (s *preFilterState) selfAffinity(nodeLabels map[string]string) bool {
	if s.hostAffinityMatches > 0 || !selfMatchesAll(s.requiredAffinity, s.pod) {
		return false
	}
	for i := range s.requiredAffinity {
		if _, ok := nodeLabels[s.requiredAffinity[i].TopologyKey]; !ok {
			return false
		}
	}
	return true
}

func (s *preFilterState) topologyConflictsWithAntiAffinity(node *framework.NodeInfo) bool {
	if len(s.antiAffinityCounts) == 0 {
		return false
	}
	nodeLabels := node.Node().Labels
	for i := range s.clusterAntiAffinity {
		key := s.clusterAntiAffinity[i].TopologyKey
		if v, ok := nodeLabels[key]; ok && s.antiAffinityCounts[topologyPair{key, v}] > 0 {
			return true
		}
	}
	return false
}

func (s *preFilterState) nodePodsConflictWithAntiAffinity(node *framework.NodeInfo) bool {
	if len(s.hostAntiAffinity) == 0 || !node.HasHostnameLabel() {
		return false
	}
	for _, p := range node.Pods {
		for i := range s.hostAntiAffinity {
			if s.hostAntiAffinity[i].matches(p) {
				return true
			}
		}
	}
	return false
}

// satisfiesExistingAntiAffinity: no running pod's required
// anti-affinity selects the incoming pod within the node's domains.
func (s *preFilterState) satisfiesExistingAntiAffinity(node *framework.NodeInfo) bool {
	if len(s.existingAnti) > 0 {
		for k, v := range node.Node().Labels {
			if s.existingAnti[topologyPair{k, v}] > 0 {
				return false
			}
		}
	}
	if !node.HasHostnameLabel() || len(node.PodsWithRequiredAntiAffinity) == 0 {
		return true
	}
	for _, p := range node.PodsWithRequiredAntiAffinity {
		for i := range p.RequiredAntiAffinityTerms {
			t := &p.RequiredAntiAffinityTerms[i]
			if t.TopologyKey == corev1.LabelHostname && t.Matches(s.pod.Pod, s.nsLabels) {
				return false
			}
		}
	}
	return true
}
