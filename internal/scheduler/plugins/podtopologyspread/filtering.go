package podtopologyspread

import (
	"context"
	"fmt"
	"maps"
	"math"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/component-helpers/scheduling/corev1/nodeaffinity"

	"github.com/kemudi/kemudi/internal/scheduler/framework"
)

var (
	missingLabel = framework.NewStatus(framework.UnschedulableAndUnresolvable, ErrReasonNodeLabelNotMatch).WithPlugin(Name)
	tooSkewed    = framework.NewStatus(framework.Unschedulable, ErrReasonConstraintsNotMatch).WithPlugin(Name)
)

const preFilterKey framework.StateKey = "PreFilter" + Name

type preFilterState struct {
	constraints []constraint
	// matchNum counts, per constraint, the matching pods in each domain.
	matchNum []map[string]int
	// paths keeps, per constraint, the two domains with the fewest
	// matching pods.
	paths    []criticalPaths
	required nodeaffinity.RequiredNodeAffinity
	pod      *corev1.Pod
}

func (s *preFilterState) Clone() framework.StateData {
	c := *s
	c.matchNum = make([]map[string]int, len(s.matchNum))
	for i, m := range s.matchNum {
		c.matchNum[i] = maps.Clone(m)
	}
	c.paths = append([]criticalPaths(nil), s.paths...)
	return &c
}

// minMatch is the fewest matching pods in any domain, or 0 while there
// are fewer domains than minDomains.
func (s *preFilterState) minMatch(i int) int {
	if len(s.matchNum[i]) < int(s.constraints[i].MinDomains) {
		return 0
	}
	return s.paths[i][0].num
}

// criticalPaths are the two domains with the fewest matching pods.
type criticalPaths [2]struct {
	value string
	num   int
}

func newCriticalPaths() criticalPaths {
	var p criticalPaths
	p[0].num, p[1].num = math.MaxInt32, math.MaxInt32
	return p
}

func (p *criticalPaths) update(value string, num int) {
	i := -1
	if value == p[0].value {
		i = 0
	} else if value == p[1].value {
		i = 1
	}
	if i >= 0 {
		p[i].num = num
		if p[0].num > p[1].num {
			p[0], p[1] = p[1], p[0]
		}
		return
	}
	if num < p[0].num {
		p[1] = p[0]
		p[0].value, p[0].num = value, num
	} else if num < p[1].num {
		p[1].value, p[1].num = value, num
	}
}

// PreFilter counts the matching pods per domain of each DoNotSchedule
// constraint; pods without such constraints skip the filter.
func (pl *Plugin) PreFilter(_ context.Context, state *framework.CycleState, pod *framework.PodInfo, snap *framework.Snapshot) (*framework.PreFilterResult, *framework.Status) {
	cs, err := pl.constraints(pod.Pod, corev1.DoNotSchedule)
	if err != nil {
		return nil, framework.AsStatus(fmt.Errorf("obtaining pod's hard topology spread constraints: %w", err))
	}
	if len(cs) == 0 {
		return nil, framework.NewStatus(framework.Skip)
	}
	s := &preFilterState{
		constraints: cs, matchNum: make([]map[string]int, len(cs)), paths: make([]criticalPaths, len(cs)),
		required: nodeaffinity.GetRequiredNodeAffinity(pod.Pod), pod: pod.Pod,
	}
	counts := make([]map[string]int, len(cs))
	for i := range cs {
		s.matchNum[i] = map[string]int{}
		counts[i] = snap.CountMatchingByNode(pod.Pod.Namespace, cs[i].Selector)
	}
	for _, ni := range snap.List() {
		node := ni.Node()
		if !nodeHasAllKeys(node.Labels, cs) {
			continue
		}
		for i := range cs {
			c := &cs[i]
			if !c.includes(pod.Pod, node, s.required) {
				continue
			}
			s.matchNum[i][node.Labels[c.TopologyKey]] += counts[i][ni.Name()]
		}
	}
	for i := range cs {
		s.paths[i] = newCriticalPaths()
		for v, n := range s.matchNum[i] {
			s.paths[i].update(v, n)
		}
	}
	state.Write(preFilterKey, s)
	return nil, nil
}

func (pl *Plugin) updateWithPod(state *framework.CycleState, p *framework.PodInfo, node *framework.NodeInfo, delta int) {
	s, _ := state.Read(preFilterKey).(*preFilterState)
	n := node.Node()
	if s == nil || n == nil || p.Pod.Namespace != s.pod.Namespace || !nodeHasAllKeys(n.Labels, s.constraints) {
		return
	}
	set := labels.Set(p.Pod.Labels)
	for i := range s.constraints {
		c := &s.constraints[i]
		if !c.Selector.Matches(set) || !c.includes(s.pod, n, s.required) {
			continue
		}
		v := n.Labels[c.TopologyKey]
		s.matchNum[i][v] += delta
		s.paths[i].update(v, s.matchNum[i][v])
	}
}

// AddPod implements framework.PreFilterExtensions.
func (pl *Plugin) AddPod(state *framework.CycleState, _, added *framework.PodInfo, node *framework.NodeInfo) *framework.Status {
	pl.updateWithPod(state, added, node, 1)
	return nil
}

// RemovePod implements framework.PreFilterExtensions.
func (pl *Plugin) RemovePod(state *framework.CycleState, _, removed *framework.PodInfo, node *framework.NodeInfo) *framework.Status {
	pl.updateWithPod(state, removed, node, -1)
	return nil
}

// Filter rejects a node whose domain would then hold more than maxSkew
// matching pods above the least populated domain.
func (*Plugin) Filter(state *framework.CycleState, pod *framework.PodInfo, node *framework.NodeInfo) *framework.Status {
	s, _ := state.Read(preFilterKey).(*preFilterState)
	if s == nil {
		return framework.AsStatus(fmt.Errorf("%s: no PreFilter state", Name))
	}
	nodeLabels := node.Node().Labels
	podLabels := labels.Set(pod.Pod.Labels)
	for i := range s.constraints {
		c := &s.constraints[i]
		v, ok := nodeLabels[c.TopologyKey]
		if !ok {
			return missingLabel
		}
		self := 0
		if c.Selector.Matches(podLabels) {
			self = 1
		}
		if s.matchNum[i][v]+self-s.minMatch(i) > int(c.MaxSkew) {
			return tooSkewed
		}
	}
	return nil
}
