package framework

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync/atomic"

	"k8s.io/apimachinery/pkg/util/sets"
)

// How many feasible nodes a cycle looks for before it stops filtering
// (upstream's numFeasibleNodesToFind): all of a small cluster, else a
// share that shrinks as the cluster grows, never under 100 nodes or 5%.
const (
	minFeasibleNodesToFind           = 100
	minFeasibleNodesPercentageToFind = 5
)

// ErrNoNodesAvailable is the error of a cycle in a cluster with no nodes.
var ErrNoNodesAvailable = errors.New("no nodes available to schedule pods")

// Nominator knows the pods nominated to nodes by preemption, which
// pods of no higher priority must leave room for.
type Nominator interface {
	// NominatedPods returns the nominated pods by node, nil if none. The
	// map is the caller's.
	NominatedPods() map[string][]*PodInfo
	// NominatedPodsForNode returns the pods nominated to one node.
	NominatedPodsForNode(node string) []*PodInfo
}

// WeightedScore is a score plugin with its weight in the total.
type WeightedScore struct {
	ScorePlugin
	Weight int64
}

// Options configure a Framework.
type Options struct {
	// Parallelism is the number of goroutines that filter and score
	// nodes; zero is half of GOMAXPROCS (at least 1): the scheduler
	// shares its machine with the API server, and a helper goroutine
	// that waits for a CPU delays the cycle it was meant to speed up.
	Parallelism int
	// PercentageOfNodesToScore is the share of nodes to find feasible
	// before scoring; zero is upstream's adaptive default.
	PercentageOfNodesToScore int32
	Nominator                Nominator
	// Rand breaks ties between equally scored nodes; nil is seeded
	// randomly.
	Rand *rand.Rand
}

// Framework runs the plugins of one scheduling profile. Schedule is
// called by one goroutine at a time: it reuses its buffers.
type Framework struct {
	preFilters []PreFilterPlugin
	filters    []FilterPlugin
	preScores  []PreScorePlugin
	scores     []WeightedScore
	reserves   []ReservePlugin
	preBinds   []PreBindPlugin
	extensions map[string]PreFilterExtensions
	opts       Options
	rand       *rand.Rand

	// nextStart is where the next cycle starts scanning the node list,
	// so that every node gets its turn.
	nextStart int
	// buffers reused across cycles.
	rejected  [][]rejection
	feasible  []*NodeInfo
	scoreBufs [][]NodeScore
	totals    []int64
}

// rejection is a node a filter rejected.
type rejection struct {
	node   *NodeInfo
	status *Status
}

// New builds a framework from plugins, each registered at every
// extension point it implements; weights gives score plugins' weights
// (default 1).
func New(plugins []Plugin, weights map[string]int64, opts Options) *Framework {
	f := &Framework{extensions: map[string]PreFilterExtensions{}, opts: opts, rand: opts.Rand}
	if f.opts.Parallelism <= 0 {
		f.opts.Parallelism = max(1, runtime.GOMAXPROCS(0)/2)
	}
	if f.rand == nil {
		f.rand = rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))
	}
	for _, p := range plugins {
		if pf, ok := p.(PreFilterPlugin); ok {
			f.preFilters = append(f.preFilters, pf)
		}
		if ext, ok := p.(PreFilterExtensions); ok {
			f.extensions[p.Name()] = ext
		}
		if fp, ok := p.(FilterPlugin); ok {
			f.filters = append(f.filters, fp)
		}
		if ps, ok := p.(PreScorePlugin); ok {
			f.preScores = append(f.preScores, ps)
		}
		if rp, ok := p.(ReservePlugin); ok {
			f.reserves = append(f.reserves, rp)
		}
		if pb, ok := p.(PreBindPlugin); ok {
			f.preBinds = append(f.preBinds, pb)
		}
		if sp, ok := p.(ScorePlugin); ok {
			w, ok := weights[p.Name()]
			if !ok {
				w = 1
			}
			if w > 0 {
				f.scores = append(f.scores, WeightedScore{ScorePlugin: sp, Weight: w})
			}
		}
	}
	return f
}

// Diagnosis records why nodes were rejected.
type Diagnosis struct {
	// NodeToStatus is each rejected node's status.
	NodeToStatus map[string]*Status
	// AbsentStatus applies to nodes not in NodeToStatus that were not
	// evaluated because a PreFilter excluded them.
	AbsentStatus *Status
	// UnschedulablePlugins are the plugins that rejected the pod
	// somewhere: the cluster changes that matter to them requeue it.
	UnschedulablePlugins sets.Set[string]
	// PreFilterMsg is set when a PreFilter rejected the pod outright;
	// PostFilterMsg is what preemption says.
	PreFilterMsg  string
	PostFilterMsg string
}

func newDiagnosis() Diagnosis {
	return Diagnosis{NodeToStatus: map[string]*Status{}, UnschedulablePlugins: sets.New[string]()}
}

func (d *Diagnosis) add(node string, s *Status) {
	d.NodeToStatus[node] = s
	if s.Plugin() != "" {
		d.UnschedulablePlugins.Insert(s.Plugin())
	}
}

// FitError is the error of a pod that fits no node.
type FitError struct {
	NumAllNodes int
	Diagnosis   Diagnosis
}

// Error is upstream's message: "0/3 nodes are available: 1 Insufficient
// memory, 2 node(s) had untolerated taint {dedicated: gpu}." followed by
// what preemption found.
func (e *FitError) Error() string {
	msg := fmt.Sprintf("0/%d nodes are available:", e.NumAllNodes)
	if e.Diagnosis.PreFilterMsg != "" {
		msg += " " + e.Diagnosis.PreFilterMsg + "."
	} else if h := ReasonHistogram(e.NumAllNodes, e.Diagnosis.NodeToStatus, e.Diagnosis.AbsentStatus); h != "" {
		msg += " " + h + "."
	}
	if e.Diagnosis.PostFilterMsg != "" {
		msg += " " + e.Diagnosis.PostFilterMsg
	}
	return msg
}

// ScheduleResult is where a pod goes.
type ScheduleResult struct {
	Node string
	// Evaluated is the nodes filtered; Feasible those that passed.
	Evaluated, Feasible int
}

// Schedule finds the best node for pod in snap. It returns a *FitError
// when no node fits (state then holds what preemption needs).
func (f *Framework) Schedule(ctx context.Context, state *CycleState, pod *PodInfo, snap *Snapshot) (ScheduleResult, error) {
	all := snap.List()
	if len(all) == 0 {
		return ScheduleResult{}, ErrNoNodesAvailable
	}
	diag := newDiagnosis()
	nodes, status := f.RunPreFilters(ctx, state, pod, snap)
	if !status.IsSuccess() {
		if !status.IsRejected() {
			return ScheduleResult{}, status.AsError()
		}
		diag.PreFilterMsg = status.Message()
		diag.AbsentStatus = status
		if status.Plugin() != "" {
			diag.UnschedulablePlugins.Insert(status.Plugin())
		}
		return ScheduleResult{}, &FitError{NumAllNodes: len(all), Diagnosis: diag}
	}
	nominated := f.nominatedPods()

	// A node nominated by an earlier preemption is the likely fit: try
	// it first.
	if nn := pod.Pod.Status.NominatedNodeName; nn != "" {
		if ni := snap.Get(nn); ni != nil {
			if s := f.RunFiltersWithNominated(state, pod, ni, nominated[nn]); s.IsSuccess() {
				return ScheduleResult{Node: nn, Evaluated: 1, Feasible: 1}, nil
			}
		}
	}

	if nodes == nil {
		nodes = all
	} else {
		diag.AbsentStatus = NewStatus(UnschedulableAndUnresolvable, fmt.Sprintf("node(s) didn't satisfy plugin(s) %v", sets.List(state.restrictedBy)))
		diag.UnschedulablePlugins.Insert(state.restrictedBy.UnsortedList()...)
	}
	feasible, err := f.findFeasible(ctx, state, pod, nodes, nominated, &diag, len(all))
	if err != nil {
		return ScheduleResult{}, err
	}
	evaluated := len(feasible)
	for _, list := range f.rejected {
		evaluated += len(list)
	}
	if len(feasible) == 0 {
		return ScheduleResult{}, &FitError{NumAllNodes: len(all), Diagnosis: diag}
	}
	if len(feasible) == 1 {
		return ScheduleResult{Node: feasible[0].Name(), Evaluated: evaluated, Feasible: 1}, nil
	}
	best, err := f.prioritize(ctx, state, pod, feasible, snap)
	if err != nil {
		return ScheduleResult{}, err
	}
	return ScheduleResult{Node: best, Evaluated: evaluated, Feasible: len(feasible)}, nil
}

// RunPreFilters runs every PreFilter plugin and records the skipped
// ones. The nodes it returns are the only ones worth filtering (nil: all
// of them).
func (f *Framework) RunPreFilters(ctx context.Context, state *CycleState, pod *PodInfo, snap *Snapshot) ([]*NodeInfo, *Status) {
	var only sets.Set[string]
	restricted := false
	for _, p := range f.preFilters {
		res, s := p.PreFilter(ctx, state, pod, snap)
		if s.IsSkip() {
			state.skipFilter.Insert(p.Name())
			continue
		}
		if !s.IsSuccess() {
			return nil, s.WithPlugin(p.Name())
		}
		if res != nil && res.NodeNames != nil {
			state.restrictedBy.Insert(p.Name())
			if !restricted {
				only, restricted = res.NodeNames.Clone(), true
			} else {
				only = only.Intersection(res.NodeNames)
			}
			if len(only) == 0 {
				msg := fmt.Sprintf("node(s) didn't satisfy plugin(s) %v simultaneously", sets.List(state.restrictedBy))
				if state.restrictedBy.Len() == 1 {
					msg = "node(s) didn't satisfy plugin " + p.Name()
				}
				return nil, NewStatus(UnschedulableAndUnresolvable, msg).WithPlugin(p.Name())
			}
		}
	}
	state.filters = state.filters[:0]
	for _, fp := range f.filters {
		if !state.skipFilter.Has(fp.Name()) {
			state.filters = append(state.filters, fp)
		}
	}
	if !restricted {
		return nil, nil
	}
	nodes := make([]*NodeInfo, 0, len(only))
	for name := range only {
		if ni := snap.Get(name); ni != nil {
			nodes = append(nodes, ni)
		}
	}
	return nodes, nil
}

// RunFilters runs the cycle's filters on one node and returns the first
// rejection (its plugin named), or nil.
func (f *Framework) RunFilters(state *CycleState, pod *PodInfo, node *NodeInfo) *Status {
	for _, p := range state.filters {
		if s := p.Filter(state, pod, node); !s.IsSuccess() {
			if s.Plugin() == "" {
				s = s.WithPlugin(p.Name())
			}
			return s
		}
	}
	return nil
}

// RunFiltersWithNominated is RunFilters counting, on top of the node's
// pods, the pods nominated to it with at least pod's priority, as
// upstream does: a node passes only if the pod fits both with them
// (resources they will take) and without them (affinity they might not
// provide after all).
func (f *Framework) RunFiltersWithNominated(state *CycleState, pod *PodInfo, node *NodeInfo, nominated []*PodInfo) *Status {
	var added bool
	withNominated, stateWith := node, state
	prio := PodPriority(pod.Pod)
	for _, np := range nominated {
		if np.Pod.UID == pod.Pod.UID || PodPriority(np.Pod) < prio {
			continue
		}
		if !added {
			withNominated, stateWith, added = node.Clone(), state.Clone(), true
		}
		withNominated.AddPod(np)
		if s := f.RunAddPod(stateWith, pod, np, withNominated); !s.IsSuccess() {
			return s
		}
	}
	if s := f.RunFilters(stateWith, pod, withNominated); !s.IsSuccess() || !added {
		return s
	}
	return f.RunFilters(state, pod, node)
}

// RunAddPod tells the PreFilter extensions that added now runs on node.
func (f *Framework) RunAddPod(state *CycleState, pod, added *PodInfo, node *NodeInfo) *Status {
	for name, ext := range f.extensions {
		if state.skipFilter.Has(name) {
			continue
		}
		if s := ext.AddPod(state, pod, added, node); !s.IsSuccess() {
			return s.WithPlugin(name)
		}
	}
	return nil
}

// RunRemovePod tells the PreFilter extensions that removed left node.
func (f *Framework) RunRemovePod(state *CycleState, pod, removed *PodInfo, node *NodeInfo) *Status {
	for name, ext := range f.extensions {
		if state.skipFilter.Has(name) {
			continue
		}
		if s := ext.RemovePod(state, pod, removed, node); !s.IsSuccess() {
			return s.WithPlugin(name)
		}
	}
	return nil
}

// NominatedPods returns the pods nominated to node.
func (f *Framework) NominatedPods(node string) []*PodInfo {
	if f.opts.Nominator == nil {
		return nil
	}
	return f.opts.Nominator.NominatedPodsForNode(node)
}

func (f *Framework) nominatedPods() map[string][]*PodInfo {
	if f.opts.Nominator == nil {
		return nil
	}
	return f.opts.Nominator.NominatedPods()
}

// NumFeasibleNodesToFind is upstream's formula for how many feasible
// nodes are enough to score.
func NumFeasibleNodesToFind(percentage int32, numAllNodes int) int {
	if numAllNodes < minFeasibleNodesToFind {
		return numAllNodes
	}
	if percentage == 0 {
		percentage = int32(50) - int32(numAllNodes/125)
		if percentage < minFeasibleNodesPercentageToFind {
			percentage = minFeasibleNodesPercentageToFind
		}
	}
	n := numAllNodes * int(percentage) / 100
	if n < minFeasibleNodesToFind {
		return minFeasibleNodesToFind
	}
	return n
}

// findFeasible filters nodes in parallel, starting where the last cycle
// stopped, until enough feasible ones are found; rejections go to diag.
func (f *Framework) findFeasible(ctx context.Context, state *CycleState, pod *PodInfo, nodes []*NodeInfo, nominated map[string][]*PodInfo, diag *Diagnosis, numAll int) ([]*NodeInfo, error) {
	n := len(nodes)
	want := NumFeasibleNodesToFind(f.opts.PercentageOfNodesToScore, n)
	if len(f.scores) == 0 {
		want = 1
	}
	if cap(f.feasible) < want {
		f.feasible = make([]*NodeInfo, want)
	}
	feasible := f.feasible[:want]
	workers := max(1, f.opts.Parallelism)
	if len(f.rejected) < workers {
		f.rejected = make([][]rejection, workers)
	}
	for w := range f.rejected {
		f.rejected[w] = f.rejected[w][:0]
	}

	start := f.nextStart % n
	var found atomic.Int32
	var processed atomic.Int32
	stop := func() bool { return int(found.Load()) >= want || ctx.Err() != nil }
	check := func(w, i int) {
		if int(found.Load()) >= want {
			return
		}
		processed.Add(1)
		ni := nodes[(start+i)%n]
		var s *Status
		if len(nominated) > 0 {
			s = f.RunFiltersWithNominated(state, pod, ni, nominated[ni.Name()])
		} else {
			s = f.RunFilters(state, pod, ni)
		}
		if s.IsSuccess() {
			if k := int(found.Add(1)); k <= want {
				feasible[k-1] = ni
			}
			return
		}
		f.rejected[w] = append(f.rejected[w], rejection{ni, s})
	}
	parallelize(workers, n, stop, check)
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	k := min(int(found.Load()), want)
	f.nextStart = (start + int(processed.Load())) % max(1, numAll)
	for _, list := range f.rejected[:workers] {
		for _, r := range list {
			if r.status.Code() == Error {
				return nil, r.status.AsError()
			}
		}
	}
	if k == 0 {
		// Only a failure needs the diagnosis: build it then.
		for _, list := range f.rejected[:workers] {
			for _, r := range list {
				diag.add(r.node.Name(), r.status)
			}
		}
	}
	return feasible[:k], nil
}

// prioritize scores the feasible nodes and returns the best one, ties
// broken at random.
func (f *Framework) prioritize(ctx context.Context, state *CycleState, pod *PodInfo, nodes []*NodeInfo, snap *Snapshot) (string, error) {
	total, err := f.scoreNodes(ctx, state, pod, nodes, snap)
	if err != nil {
		return "", err
	}
	best, ties := 0, 1
	for j := 1; j < len(nodes); j++ {
		switch {
		case total[j] > total[best]:
			best, ties = j, 1
		case total[j] == total[best]:
			ties++
			if f.rand.IntN(ties) == 0 {
				best = j
			}
		}
	}
	return nodes[best].Name(), nil
}

func (f *Framework) scoreNodes(ctx context.Context, state *CycleState, pod *PodInfo, nodes []*NodeInfo, snap *Snapshot) ([]int64, error) {
	for _, p := range f.preScores {
		s := p.PreScore(ctx, state, pod, nodes, snap)
		if s.IsSkip() {
			state.skipScore.Insert(p.Name())
			continue
		}
		if !s.IsSuccess() {
			return nil, s.WithPlugin(p.Name()).AsError()
		}
	}
	var active []WeightedScore
	for _, sp := range f.scores {
		if !state.skipScore.Has(sp.Name()) {
			active = append(active, sp)
		}
	}
	if cap(f.totals) < len(nodes) {
		f.totals = make([]int64, len(nodes))
	}
	total := f.totals[:len(nodes)]
	clear(total)
	if len(active) == 0 {
		return total, nil
	}
	for len(f.scoreBufs) < len(active) {
		f.scoreBufs = append(f.scoreBufs, nil)
	}
	scores := f.scoreBufs[:len(active)]
	for i := range scores {
		if cap(scores[i]) < len(nodes) {
			scores[i] = make([]NodeScore, len(nodes))
		}
		scores[i] = scores[i][:len(nodes)]
	}
	var failed atomic.Pointer[Status]
	parallelize(f.opts.Parallelism, len(nodes), func() bool { return failed.Load() != nil }, func(_, j int) {
		ni := nodes[j]
		for i, sp := range active {
			v, s := sp.Score(state, pod, ni)
			if !s.IsSuccess() {
				failed.CompareAndSwap(nil, s.WithPlugin(sp.Name()))
				return
			}
			scores[i][j] = NodeScore{Name: ni.Name(), Score: v}
		}
	})
	if s := failed.Load(); s != nil {
		return nil, s.AsError()
	}
	for i, sp := range active {
		if ns, ok := sp.ScorePlugin.(NormalizeScorer); ok {
			if s := ns.NormalizeScore(state, pod, scores[i]); !s.IsSuccess() {
				return nil, s.WithPlugin(sp.Name()).AsError()
			}
		}
		for j := range nodes {
			v := scores[i][j].Score
			if v > MaxNodeScore || v < MinNodeScore {
				return nil, fmt.Errorf("plugin %s scored node %s %d, outside [%d, %d]", sp.Name(), nodes[j].Name(), v, MinNodeScore, MaxNodeScore)
			}
			total[j] += v * sp.Weight
		}
	}
	return total, nil
}
