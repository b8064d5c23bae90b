package interpodaffinity

import (
	"context"
	"fmt"
	"math"

	"k8s.io/apimachinery/pkg/labels"

	"github.com/kemudi/kemudi/internal/scheduler/framework"
)

const preScoreKey framework.StateKey = "PreScore" + Name

// scoreMap sums term weights per topology key and value.
type scoreMap map[string]map[string]int64

type preScoreState struct{ scores scoreMap }

func (s *preScoreState) Clone() framework.StateData { return s }

func (m scoreMap) add(t *framework.AffinityTerm, weight int64, pod *framework.PodInfo, nsLabels labels.Set, nodeLabels map[string]string) {
	if !t.Matches(pod.Pod, nsLabels) {
		return
	}
	v, ok := nodeLabels[t.TopologyKey]
	if !ok {
		return
	}
	if m[t.TopologyKey] == nil {
		m[t.TopologyKey] = map[string]int64{}
	}
	m[t.TopologyKey][v] += weight
}

// PreScore sums, per topology domain, how much the pod and the running
// pods want (or do not want) to be together: the pod's preferred terms
// against every running pod, and the running pods' preferred terms and
// required affinity (weight 1) against the pod. It skips when nothing
// applies.
func (pl *Plugin) PreScore(_ context.Context, state *framework.CycleState, pod *framework.PodInfo, _ []*framework.NodeInfo, snap *framework.Snapshot) *framework.Status {
	own := len(pod.PreferredAffinityTerms)+len(pod.PreferredAntiAffinityTerms) > 0
	nodes := snap.HavePodsWithAffinity()
	if own {
		nodes = snap.List()
	}
	if len(nodes) == 0 {
		return framework.NewStatus(framework.Skip)
	}
	affinity, err := pl.resolveWeighted(pod.PreferredAffinityTerms)
	if err != nil {
		return framework.AsStatus(fmt.Errorf("updating preferred affinity terms: %w", err))
	}
	anti, err := pl.resolveWeighted(pod.PreferredAntiAffinityTerms)
	if err != nil {
		return framework.AsStatus(fmt.Errorf("updating preferred anti-affinity terms: %w", err))
	}
	nsLabels := pl.namespaceLabels(pod.Pod.Namespace)
	m := scoreMap{}
	for _, ni := range nodes {
		labels := ni.Node().Labels
		if len(labels) == 0 {
			continue
		}
		pods := ni.PodsWithAffinity
		if own {
			pods = ni.Pods
		}
		for _, existing := range pods {
			for i := range affinity {
				m.add(&affinity[i].AffinityTerm, int64(affinity[i].Weight), existing, nil, labels)
			}
			for i := range anti {
				m.add(&anti[i].AffinityTerm, -int64(anti[i].Weight), existing, nil, labels)
			}
			for i := range existing.RequiredAffinityTerms {
				m.add(&existing.RequiredAffinityTerms[i], hardPodAffinityWeight, pod, nsLabels, labels)
			}
			for i := range existing.PreferredAffinityTerms {
				t := &existing.PreferredAffinityTerms[i]
				m.add(&t.AffinityTerm, int64(t.Weight), pod, nsLabels, labels)
			}
			for i := range existing.PreferredAntiAffinityTerms {
				t := &existing.PreferredAntiAffinityTerms[i]
				m.add(&t.AffinityTerm, -int64(t.Weight), pod, nsLabels, labels)
			}
		}
	}
	if len(m) == 0 {
		return framework.NewStatus(framework.Skip)
	}
	state.Write(preScoreKey, &preScoreState{scores: m})
	return nil
}

// Score sums the weights of the node's topology domains.
func (*Plugin) Score(state *framework.CycleState, _ *framework.PodInfo, node *framework.NodeInfo) (int64, *framework.Status) {
	s, _ := state.Read(preScoreKey).(*preScoreState)
	if s == nil {
		return 0, framework.AsStatus(fmt.Errorf("%s: no PreScore state", Name))
	}
	var score int64
	labels := node.Node().Labels
	for key, values := range s.scores {
		if v, ok := labels[key]; ok {
			score += values[v]
		}
	}
	return score, nil
}

// NormalizeScore maps [min, max] onto [0, 100].
func (*Plugin) NormalizeScore(_ *framework.CycleState, _ *framework.PodInfo, scores []framework.NodeScore) *framework.Status {
	lo, hi := int64(math.MaxInt64), int64(math.MinInt64)
	for i := range scores {
		lo, hi = min(lo, scores[i].Score), max(hi, scores[i].Score)
	}
	for i := range scores {
		var f float64
		if hi > lo {
			f = float64(framework.MaxNodeScore) * float64(scores[i].Score-lo) / float64(hi-lo)
		}
		scores[i].Score = int64(f)
	}
	return nil
}
