package framework

import (
	"context"

	"k8s.io/apimachinery/pkg/util/sets"
)

// Score bounds: every score plugin's normalized scores lie in
// [MinNodeScore, MaxNodeScore].
const (
	MaxNodeScore int64 = 100
	MinNodeScore int64 = 0
)

// Plugin is a named scheduling plugin.
type Plugin interface {
	Name() string
}

// PreFilterResult narrows the nodes worth filtering; nil means all.
type PreFilterResult struct {
	NodeNames sets.Set[string]
}

// PreFilterPlugin computes, once per pod, what its Filter needs. It
// returns Skip when the plugin has nothing to check for the pod (its
// Filter is then not called), a rejection when no node can pass, and
// may restrict the nodes to consider.
type PreFilterPlugin interface {
	Plugin
	PreFilter(ctx context.Context, state *CycleState, pod *PodInfo, snap *Snapshot) (*PreFilterResult, *Status)
}

// PreFilterExtensions keep a plugin's PreFilter state right when pods
// are added to or removed from a node during a what-if evaluation
// (nominated pods, preemption victims).
type PreFilterExtensions interface {
	AddPod(state *CycleState, pod *PodInfo, added *PodInfo, node *NodeInfo) *Status
	RemovePod(state *CycleState, pod *PodInfo, removed *PodInfo, node *NodeInfo) *Status
}

// FilterPlugin decides whether the pod may run on a node. It runs
// concurrently on many nodes and must only read state.
type FilterPlugin interface {
	Plugin
	Filter(state *CycleState, pod *PodInfo, node *NodeInfo) *Status
}

// PreScorePlugin computes, once per pod, what its Score needs from the
// feasible nodes. Skip means its Score is not called.
type PreScorePlugin interface {
	Plugin
	PreScore(ctx context.Context, state *CycleState, pod *PodInfo, nodes []*NodeInfo, snap *Snapshot) *Status
}

// ScorePlugin ranks a feasible node. It runs concurrently on many nodes.
type ScorePlugin interface {
	Plugin
	Score(state *CycleState, pod *PodInfo, node *NodeInfo) (int64, *Status)
}

// ReservePlugin claims, in the scheduler's memory, what the pod needs on
// the chosen node before the binding is sent (volumes it will bind), so
// that the next pods' cycles do not take it too. Reserve runs once a
// node is chosen, in the scheduling cycle; Unreserve undoes it when
// anything fails afterwards, and must be safe to call after a failed or
// skipped Reserve.
type ReservePlugin interface {
	Plugin
	Reserve(ctx context.Context, state *CycleState, pod *PodInfo, node string) *Status
	Unreserve(ctx context.Context, state *CycleState, pod *PodInfo, node string)
}

// PreBindPlugin does what must be done in the API before the pod's
// Binding is posted (bind its volumes), in the binding goroutine; it
// may wait.
type PreBindPlugin interface {
	Plugin
	PreBind(ctx context.Context, state *CycleState, pod *PodInfo, node string) *Status
}

// NormalizeScorer maps a score plugin's raw scores onto
// [MinNodeScore, MaxNodeScore], in place.
type NormalizeScorer interface {
	NormalizeScore(state *CycleState, pod *PodInfo, scores []NodeScore) *Status
}

// NodeScore is a node's score.
type NodeScore struct {
	Name  string
	Score int64
}

// DefaultNormalizeScore scales scores so that the highest becomes
// maxPriority (upstream's helper); reverse flips them (lower raw score
// is better).
func DefaultNormalizeScore(maxPriority int64, reverse bool, scores []NodeScore) {
	var maxCount int64
	for i := range scores {
		maxCount = max(maxCount, scores[i].Score)
	}
	if maxCount == 0 {
		if reverse {
			for i := range scores {
				scores[i].Score = maxPriority
			}
		}
		return
	}
	for i := range scores {
		s := scores[i].Score
		s = maxPriority * s / maxCount
		if reverse {
			s = maxPriority - s
		}
		scores[i].Score = s
	}
}

// StateData is what a plugin keeps in the cycle state. Clone returns a
// copy for a what-if evaluation (data never changed after PreFilter may
// return itself).
type StateData interface {
	Clone() StateData
}

// StateKey names a plugin's cycle state.
type StateKey string

// CycleState is the per-pod scratch space of one scheduling cycle:
// written by PreFilter and PreScore, read by Filter and Score (which run
// concurrently and must not write).
type CycleState struct {
	data map[StateKey]StateData
	// skipFilter and skipScore are the plugins whose PreFilter or
	// PreScore returned Skip.
	skipFilter sets.Set[string]
	skipScore  sets.Set[string]
	// filters are the filter plugins not skipped, in order.
	filters []FilterPlugin
	// restrictedBy are the PreFilter plugins that narrowed the nodes.
	restrictedBy sets.Set[string]
}

// NewCycleState returns an empty state.
func NewCycleState() *CycleState {
	return &CycleState{data: map[StateKey]StateData{}, skipFilter: sets.New[string](), skipScore: sets.New[string](), restrictedBy: sets.New[string]()}
}

// Read returns a plugin's data, nil if it wrote none.
func (c *CycleState) Read(key StateKey) StateData { return c.data[key] }

// Write stores a plugin's data.
func (c *CycleState) Write(key StateKey, v StateData) { c.data[key] = v }

// Clone copies the state for a what-if evaluation.
func (c *CycleState) Clone() *CycleState {
	n := &CycleState{data: make(map[StateKey]StateData, len(c.data)), skipFilter: c.skipFilter.Clone(), skipScore: c.skipScore.Clone(), filters: c.filters, restrictedBy: c.restrictedBy}
	for k, v := range c.data {
		n.data[k] = v.Clone()
	}
	return n
}
