// Package noderesources holds the resource plugins: NodeResourcesFit
// (the pod's requests fit the node's allocatable minus what its pods
// request; scored least-allocated first) and
// NodeResourcesBalancedAllocation (prefer nodes whose cpu and memory
// use stay in proportion).
package noderesources

import (
	"fmt"

	"github.com/kemudi/kemudi/internal/scheduler/framework"
)

// FitName is the plugin's upstream name.
const FitName = "NodeResourcesFit"

// Fit is NodeResourcesFit: a filter on requests, and the
// least-allocated score (cpu and memory, weight 1 each).
type Fit struct{}

// NewFit returns the plugin.
func NewFit() *Fit { return &Fit{} }

// Name implements framework.Plugin.
func (*Fit) Name() string { return FitName }

// shared holds a status for each common single reason, by whether
// preemption could help, so that the filter allocates nothing per node.
var shared = func() map[string][2]*framework.Status {
	m := map[string][2]*framework.Status{}
	for _, r := range []string{"Too many pods", "Insufficient cpu", "Insufficient memory"} {
		m[r] = [2]*framework.Status{
			framework.NewStatus(framework.Unschedulable, r).WithPlugin(FitName),
			framework.NewStatus(framework.UnschedulableAndUnresolvable, r).WithPlugin(FitName),
		}
	}
	return m
}()

// Filter checks the pod count and every requested resource against
// the node's allocatable minus what its pods already request. A
// resource the node could never hold (request above allocatable) makes
// the rejection unresolvable: preemption cannot help.
func (*Fit) Filter(_ *framework.CycleState, pod *framework.PodInfo, node *framework.NodeInfo) *framework.Status {
	var buf [4]string
	reasons := buf[:0]
	unresolvable := false
	alloc, used, req := &node.Allocatable, &node.Requested, &pod.Requests
	if int64(len(node.Pods))+1 > alloc.AllowedPodNumber {
		reasons = append(reasons, "Too many pods")
	}
	check := func(want, allocatable, inUse int64, reason string) {
		if want > 0 && want > allocatable-inUse {
			reasons = append(reasons, reason)
			unresolvable = unresolvable || want > allocatable
		}
	}
	check(req.MilliCPU, alloc.MilliCPU, used.MilliCPU, "Insufficient cpu")
	check(req.Memory, alloc.Memory, used.Memory, "Insufficient memory")
	check(req.EphemeralStorage, alloc.EphemeralStorage, used.EphemeralStorage, "Insufficient ephemeral-storage")
	for name, q := range req.Scalar {
		check(q, alloc.Scalar[name], used.Scalar[name], fmt.Sprintf("Insufficient %v", name))
	}
	if len(reasons) == 0 {
		return nil
	}
	never := 0
	if unresolvable {
		never = 1
	}
	if s, ok := shared[reasons[0]]; ok && len(reasons) == 1 {
		return s[never]
	}
	code := framework.Unschedulable
	if unresolvable {
		code = framework.UnschedulableAndUnresolvable
	}
	return framework.NewStatus(code, append([]string(nil), reasons...)...).WithPlugin(FitName)
}

// Score is least-allocated: the free share of cpu and memory once the
// pod is placed, counting unset requests as the scoring defaults,
// averaged (upstream's LeastAllocated with weights 1 and 1).
func (*Fit) Score(_ *framework.CycleState, pod *framework.PodInfo, node *framework.NodeInfo) (int64, *framework.Status) {
	var score, weights int64
	if a := node.Allocatable.MilliCPU; a > 0 {
		score += leastRequested(node.NonZeroRequested.MilliCPU+pod.NonZeroMilliCPU, a)
		weights++
	}
	if a := node.Allocatable.Memory; a > 0 {
		score += leastRequested(node.NonZeroRequested.Memory+pod.NonZeroMemory, a)
		weights++
	}
	if weights == 0 {
		return 0, nil
	}
	return score / weights, nil
}

func leastRequested(requested, capacity int64) int64 {
	if capacity == 0 || requested > capacity {
		return 0
	}
	return (capacity - requested) * framework.MaxNodeScore / capacity
}
