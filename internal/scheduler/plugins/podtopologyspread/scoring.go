package podtopologyspread

import (
	"context"
	"fmt"
	"math"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/component-helpers/scheduling/corev1/nodeaffinity"

	"github.com/kemudi/kemudi/internal/scheduler/framework"
)

const preScoreKey framework.StateKey = "PreScore" + Name

type preScoreState struct {
	constraints []constraint
	// ignored nodes lack a topology key of the pod's own constraints.
	ignored sets.Set[string]
	// counts are the matching pods per domain (hostname domains are
	// counted on the node at Score time).
	counts []map[string]*int64
	// perNode are the matching pods on each node, per constraint.
	perNode []map[string]int
	weights []float64
}

func (s *preScoreState) Clone() framework.StateData { return s }

// PreScore counts matching pods per domain of each ScheduleAnyway
// constraint (or default constraint); pods with none skip scoring.
func (pl *Plugin) PreScore(_ context.Context, state *framework.CycleState, pod *framework.PodInfo, feasible []*framework.NodeInfo, snap *framework.Snapshot) *framework.Status {
	all := snap.List()
	if len(all) == 0 {
		return framework.NewStatus(framework.Skip)
	}
	cs, err := pl.constraints(pod.Pod, corev1.ScheduleAnyway)
	if err != nil {
		return framework.AsStatus(fmt.Errorf("obtaining pod's soft topology spread constraints: %w", err))
	}
	if len(cs) == 0 {
		return framework.NewStatus(framework.Skip)
	}
	// Defaults apply to nodes missing their keys too; the pod's own
	// constraints ignore such nodes.
	requireAll := len(pod.Pod.Spec.TopologySpreadConstraints) > 0
	s := &preScoreState{
		constraints: cs, ignored: sets.New[string](),
		counts: make([]map[string]*int64, len(cs)), perNode: make([]map[string]int, len(cs)), weights: make([]float64, len(cs)),
	}
	sizes := make([]int, len(cs))
	for i := range cs {
		s.counts[i] = map[string]*int64{}
		s.perNode[i] = snap.CountMatchingByNode(pod.Pod.Namespace, cs[i].Selector)
	}
	for _, ni := range feasible {
		labels := ni.Node().Labels
		if requireAll && !nodeHasAllKeys(labels, cs) {
			s.ignored.Insert(ni.Name())
			continue
		}
		for i := range cs {
			if cs[i].TopologyKey == corev1.LabelHostname {
				continue
			}
			v := labels[cs[i].TopologyKey]
			if s.counts[i][v] == nil {
				s.counts[i][v] = new(int64)
				sizes[i]++
			}
		}
	}
	for i := range cs {
		size := sizes[i]
		if cs[i].TopologyKey == corev1.LabelHostname {
			size = len(feasible) - s.ignored.Len()
		}
		s.weights[i] = math.Log(float64(size + 2))
	}
	required := nodeaffinity.GetRequiredNodeAffinity(pod.Pod)
	for _, ni := range all {
		node := ni.Node()
		if requireAll && !nodeHasAllKeys(node.Labels, cs) {
			continue
		}
		for i := range cs {
			c := &cs[i]
			if !c.includes(pod.Pod, node, required) {
				continue
			}
			n := s.counts[i][node.Labels[c.TopologyKey]]
			if n == nil {
				continue
			}
			*n += int64(s.perNode[i][ni.Name()])
		}
	}
	state.Write(preScoreKey, s)
	return nil
}

// Score is upstream's: per constraint, matching pods in the node's
// domain times the log of the number of domains, plus maxSkew - 1.
// Lower is better; NormalizeScore flips it.
func (*Plugin) Score(state *framework.CycleState, _ *framework.PodInfo, node *framework.NodeInfo) (int64, *framework.Status) {
	s, _ := state.Read(preScoreKey).(*preScoreState)
	if s == nil {
		return 0, framework.AsStatus(fmt.Errorf("%s: no PreScore state", Name))
	}
	if s.ignored.Has(node.Name()) {
		return 0, nil
	}
	var score float64
	labels := node.Node().Labels
	for i := range s.constraints {
		c := &s.constraints[i]
		v, ok := labels[c.TopologyKey]
		if !ok {
			continue
		}
		var cnt int64
		if c.TopologyKey == corev1.LabelHostname {
			cnt = int64(s.perNode[i][node.Name()])
		} else if p := s.counts[i][v]; p != nil {
			cnt = *p
		}
		score += float64(cnt)*s.weights[i] + float64(c.MaxSkew-1)
	}
	return int64(math.Round(score)), nil
}

// NormalizeScore maps the scores onto [0, 100], fewer matching pods
// scoring higher; ignored nodes get 0.
func (*Plugin) NormalizeScore(state *framework.CycleState, _ *framework.PodInfo, scores []framework.NodeScore) *framework.Status {
	s, _ := state.Read(preScoreKey).(*preScoreState)
	if s == nil {
		return nil
	}
	minScore, maxScore := int64(math.MaxInt64), int64(0)
	for i := range scores {
		if s.ignored.Has(scores[i].Name) {
			continue
		}
		minScore, maxScore = min(minScore, scores[i].Score), max(maxScore, scores[i].Score)
	}
	for i := range scores {
		switch {
		case s.ignored.Has(scores[i].Name):
			scores[i].Score = 0
		case maxScore == 0:
			scores[i].Score = framework.MaxNodeScore
		default:
			scores[i].Score = framework.MaxNodeScore * (maxScore + minScore - scores[i].Score) / maxScore
		}
	}
	return nil
}
