// Package preemption is the scheduler's PostFilter: when a pod fits no
// node, find the node where evicting the fewest, least important
// lower-priority pods makes it fit (sparing pods whose disruption budget
// forbids it where possible), nominate the pod to that node and evict
// the victims. The decision (Evaluator.Evaluate) is pure; the API calls
// are Actuator's.
package preemption

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"sync"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/kemudi/kemudi/internal/scheduler/framework"
)

// Upstream's defaults: look at 10% of the candidate nodes, at least 100.
const (
	minCandidateNodesPercentage = 10
	minCandidateNodesAbsolute   = 100
)

// Upstream's messages.
const (
	msgNotEligibleNever       = "not eligible due to preemptionPolicy=Never."
	msgNotEligibleTerminating = "not eligible due to a terminating pod on the nominated node."
	msgNoVictims              = "No preemption victims found for incoming pod"
	msgNotHelpful             = "Preemption is not helpful for scheduling"
)

// Candidate is a node and the pods to evict from it.
type Candidate struct {
	Node string
	// Victims, most important first.
	Victims          []*corev1.Pod
	NumPDBViolations int
}

// Result is what preemption decided.
type Result struct {
	// Candidate is set when preemption can help.
	Candidate *Candidate
	// Message is what FailedScheduling says after the filters' reasons
	// ("preemption: ...").
	Message string
	// ClearNomination is true when the pod's nominated node should be
	// cleared (no candidate at all).
	ClearNomination bool
}

// Evaluator decides preemptions.
type Evaluator struct {
	Framework *framework.Framework
	// PDBs lists the disruption budgets (nil: none).
	PDBs func() ([]*policyv1.PodDisruptionBudget, error)
	// Parallelism bounds the nodes examined at once.
	Parallelism int
	Rand        *rand.Rand
}

// Evaluate finds where pod could go by evicting lower-priority pods,
// given the failed cycle's state and diagnosis.
func (e *Evaluator) Evaluate(ctx context.Context, state *framework.CycleState, pod *framework.PodInfo, snap *framework.Snapshot, diag *framework.Diagnosis) (Result, error) {
	if ok, msg := eligible(pod.Pod, snap, diag); !ok {
		return Result{Message: "preemption: " + msg}, nil
	}
	all := snap.List()
	var potential []*framework.NodeInfo
	for _, ni := range all {
		s, rejected := diag.NodeToStatus[ni.Name()]
		if !rejected {
			s = diag.AbsentStatus
		}
		if s.Code() == framework.Unschedulable {
			potential = append(potential, ni)
		}
	}
	notHelpful := func(statuses map[string]*framework.Status) Result {
		fe := &framework.FitError{NumAllNodes: len(all), Diagnosis: framework.Diagnosis{
			NodeToStatus: statuses, AbsentStatus: framework.NewStatus(framework.UnschedulableAndUnresolvable, msgNotHelpful),
		}}
		return Result{Message: "preemption: " + fe.Error(), ClearNomination: true}
	}
	if len(potential) == 0 {
		return notHelpful(nil), nil
	}
	var pdbs []*policyv1.PodDisruptionBudget
	if e.PDBs != nil {
		var err error
		if pdbs, err = e.PDBs(); err != nil {
			return Result{}, err
		}
	}
	candidates, statuses, err := e.dryRun(ctx, state, pod, potential, pdbs)
	if err != nil && len(candidates) == 0 {
		return Result{}, err
	}
	if len(candidates) == 0 {
		return notHelpful(statuses), nil
	}
	best := pickOne(candidates)
	return Result{
		Candidate: best,
		Message:   fmt.Sprintf("preemption: found a potential placement for pod on node %v, preempting %d victims", best.Node, len(best.Victims)),
	}, nil
}

// eligible is upstream's PodEligibleToPreemptOthers.
func eligible(pod *corev1.Pod, snap *framework.Snapshot, diag *framework.Diagnosis) (bool, string) {
	if p := pod.Spec.PreemptionPolicy; p != nil && *p == corev1.PreemptNever {
		return false, msgNotEligibleNever
	}
	nn := pod.Status.NominatedNodeName
	if nn == "" {
		return true, ""
	}
	if s, ok := diag.NodeToStatus[nn]; ok && s.Code() == framework.UnschedulableAndUnresolvable {
		return true, ""
	}
	if ni := snap.Get(nn); ni != nil {
		prio := framework.PodPriority(pod)
		for _, p := range ni.Pods {
			if framework.PodPriority(p.Pod) < prio && terminatingByPreemption(p.Pod) {
				return false, msgNotEligibleTerminating
			}
		}
	}
	return true, ""
}

func terminatingByPreemption(p *corev1.Pod) bool {
	if p.DeletionTimestamp == nil {
		return false
	}
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.DisruptionTarget {
			return c.Status == corev1.ConditionTrue && c.Reason == corev1.PodReasonPreemptionByScheduler
		}
	}
	return false
}

// dryRun examines the potential nodes from a random offset until it has
// enough candidates, as upstream does.
func (e *Evaluator) dryRun(ctx context.Context, state *framework.CycleState, pod *framework.PodInfo, nodes []*framework.NodeInfo, pdbs []*policyv1.PodDisruptionBudget) ([]*Candidate, map[string]*framework.Status, error) {
	n := len(nodes)
	want := max(n*minCandidateNodesPercentage/100, minCandidateNodesAbsolute)
	want = min(want, n)
	offset := 0
	if e.Rand != nil {
		offset = e.Rand.IntN(n)
	} else {
		offset = rand.IntN(n)
	}
	var (
		mu                      sync.Mutex
		nonViolating, violating []*Candidate
		statuses                = map[string]*framework.Status{}
		firstErr                error
	)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	workers := max(1, e.Parallelism)
	var wg sync.WaitGroup
	next := make(chan int)
	for range workers {
		wg.Go(func() {
			for i := range next {
				ni := nodes[(offset+i)%n]
				victims, violations, s := e.SelectVictimsOnNode(state.Clone(), pod, ni.Clone(), pdbs)
				mu.Lock()
				switch {
				case s.IsSuccess() && len(victims) > 0:
					c := &Candidate{Node: ni.Name(), Victims: victims, NumPDBViolations: violations}
					if violations == 0 {
						nonViolating = append(nonViolating, c)
					} else {
						violating = append(violating, c)
					}
					if len(nonViolating) > 0 && len(nonViolating)+len(violating) >= want {
						cancel()
					}
				case s.IsSuccess():
					statuses[ni.Name()] = framework.AsStatus(fmt.Errorf("expected at least one victim pod on node %q", ni.Name()))
				default:
					if s.Code() == framework.Error && firstErr == nil {
						firstErr = s.AsError()
					}
					statuses[ni.Name()] = s
				}
				mu.Unlock()
			}
		})
	}
feed:
	for i := range n {
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	return append(nonViolating, violating...), statuses, firstErr
}

// SelectVictimsOnNode finds the fewest, least important pods of lower
// priority to evict from node (a clone it may change) for pod to fit:
// all lower-priority pods are removed, then reprieved one by one, most
// important first and pods whose budget forbids disruption before the
// others, as long as the pod still fits.
func (e *Evaluator) SelectVictimsOnNode(state *framework.CycleState, pod *framework.PodInfo, node *framework.NodeInfo, pdbs []*policyv1.PodDisruptionBudget) ([]*corev1.Pod, int, *framework.Status) {
	fw := e.Framework
	prio := framework.PodPriority(pod.Pod)
	var potential []*framework.PodInfo
	for _, p := range node.Pods {
		if framework.PodPriority(p.Pod) < prio {
			potential = append(potential, p)
		}
	}
	if len(potential) == 0 {
		return nil, 0, framework.NewStatus(framework.UnschedulableAndUnresolvable, msgNoVictims)
	}
	remove := func(p *framework.PodInfo) *framework.Status {
		if err := node.RemovePod(p.Pod.UID); err != nil {
			return framework.AsStatus(err)
		}
		return fw.RunRemovePod(state, pod, p, node)
	}
	add := func(p *framework.PodInfo) *framework.Status {
		node.AddPod(p)
		return fw.RunAddPod(state, pod, p, node)
	}
	for _, p := range potential {
		if s := remove(p); !s.IsSuccess() {
			return nil, 0, s
		}
	}
	nominated := fw.NominatedPods(node.Name())
	if s := fw.RunFiltersWithNominated(state, pod, node, nominated); !s.IsSuccess() {
		return nil, 0, s
	}
	sort.SliceStable(potential, func(i, j int) bool { return moreImportant(potential[i].Pod, potential[j].Pod) })
	violatingPods, others := splitByPDB(potential, pdbs)
	var victims []*corev1.Pod
	violations := 0
	reprieve := func(p *framework.PodInfo) (bool, *framework.Status) {
		if s := add(p); !s.IsSuccess() {
			return false, s
		}
		if fw.RunFiltersWithNominated(state, pod, node, nominated).IsSuccess() {
			return true, nil
		}
		if s := remove(p); !s.IsSuccess() {
			return false, s
		}
		victims = append(victims, p.Pod)
		return false, nil
	}
	for _, p := range violatingPods {
		fits, s := reprieve(p)
		if !s.IsSuccess() {
			return nil, 0, s
		}
		if !fits {
			violations++
		}
	}
	for _, p := range others {
		if _, s := reprieve(p); !s.IsSuccess() {
			return nil, 0, s
		}
	}
	if len(violatingPods) > 0 && len(others) > 0 {
		sort.SliceStable(victims, func(i, j int) bool { return moreImportant(victims[i], victims[j]) })
	}
	return victims, violations, nil
}

// moreImportant: higher priority, then earlier start.
func moreImportant(a, b *corev1.Pod) bool {
	pa, pb := framework.PodPriority(a), framework.PodPriority(b)
	if pa != pb {
		return pa > pb
	}
	return startTime(a).Before(startTime(b))
}

func startTime(p *corev1.Pod) *metav1.Time {
	if p.Status.StartTime != nil {
		return p.Status.StartTime
	}
	// A pod not started yet counts as starting now (upstream's rule).
	now := metav1.Now()
	return &now
}

// splitByPDB separates the pods whose eviction would exceed a budget's
// allowed disruptions (counting the earlier ones in the list).
func splitByPDB(pods []*framework.PodInfo, pdbs []*policyv1.PodDisruptionBudget) (violating, others []*framework.PodInfo) {
	allowed := make([]int32, len(pdbs))
	selectors := make([]labels.Selector, len(pdbs))
	for i, pdb := range pdbs {
		allowed[i] = pdb.Status.DisruptionsAllowed
		if s, err := metav1.LabelSelectorAsSelector(pdb.Spec.Selector); err == nil {
			selectors[i] = s
		}
	}
	for _, p := range pods {
		violates := false
		if len(p.Pod.Labels) > 0 {
			for i, pdb := range pdbs {
				sel := selectors[i]
				if pdb.Namespace != p.Pod.Namespace || sel == nil || sel.Empty() || !sel.Matches(labels.Set(p.Pod.Labels)) {
					continue
				}
				if _, disrupted := pdb.Status.DisruptedPods[p.Pod.Name]; disrupted {
					continue
				}
				allowed[i]--
				if allowed[i] < 0 {
					violates = true
				}
			}
		}
		if violates {
			violating = append(violating, p)
		} else {
			others = append(others, p)
		}
	}
	return violating, others
}

// pickOne is upstream's pickOneNodeForPreemption: fewest budget
// violations, then the lowest highest-priority victim, then the lowest
// sum of priorities, then the fewest victims, then the latest start of
// the highest-priority victims, then the first.
func pickOne(cs []*Candidate) *Candidate {
	scores := []func(c *Candidate) int64{
		func(c *Candidate) int64 { return -int64(c.NumPDBViolations) },
		func(c *Candidate) int64 { return -int64(framework.PodPriority(c.Victims[0])) },
		func(c *Candidate) int64 {
			var sum int64
			for _, p := range c.Victims {
				sum += int64(framework.PodPriority(p)) + int64(math.MaxInt32+1)
			}
			return -sum
		},
		func(c *Candidate) int64 { return -int64(len(c.Victims)) },
		func(c *Candidate) int64 { return earliestStart(c.Victims).UnixNano() },
	}
	for _, f := range scores {
		var best []*Candidate
		top := int64(math.MinInt64)
		for _, c := range cs {
			s := f(c)
			if s > top {
				top, best = s, nil
			}
			if s == top {
				best = append(best, c)
			}
		}
		if len(best) == 1 {
			return best[0]
		}
		cs = best
	}
	return cs[0]
}

// earliestStart is the earliest start among the highest-priority
// victims.
func earliestStart(victims []*corev1.Pod) *metav1.Time {
	earliest := startTime(victims[0])
	top := framework.PodPriority(victims[0])
	for _, p := range victims {
		switch prio := framework.PodPriority(p); {
		case prio == top && startTime(p).Before(earliest):
			earliest = startTime(p)
		case prio > top:
			top, earliest = prio, startTime(p)
		}
	}
	return earliest
}
