package noderesources

import (
	"context"
	"math"

	"github.com/kemudi/kemudi/internal/scheduler/framework"
)

// BalancedName is the plugin's upstream name.
const BalancedName = "NodeResourcesBalancedAllocation"

// Balanced is NodeResourcesBalancedAllocation: it favours nodes where
// placing the pod brings the cpu and memory shares in use closer
// together.
type Balanced struct{}

// NewBalanced returns the plugin.
func NewBalanced() *Balanced { return &Balanced{} }

// Name implements framework.Plugin.
func (*Balanced) Name() string { return BalancedName }

// PreScore skips best-effort pods (no cpu or memory requests), as
// upstream does, so that they do not all pile onto one node.
func (*Balanced) PreScore(_ context.Context, _ *framework.CycleState, pod *framework.PodInfo, _ []*framework.NodeInfo, _ *framework.Snapshot) *framework.Status {
	if pod.Requests.MilliCPU == 0 && pod.Requests.Memory == 0 {
		return framework.NewStatus(framework.Skip)
	}
	return nil
}

// Score is upstream's: the balance (1 - standard deviation of the cpu
// and memory shares) with the pod and without it, scored as
// 50 + (50 + with - without) / 2, so an improvement tends to 100.
func (*Balanced) Score(_ *framework.CycleState, pod *framework.PodInfo, node *framework.NodeInfo) (int64, *framework.Status) {
	alloc, used := &node.Allocatable, &node.Requested
	withPod := balance(used.MilliCPU+pod.Requests.MilliCPU, used.Memory+pod.Requests.Memory, alloc.MilliCPU, alloc.Memory)
	withoutPod := balance(used.MilliCPU, used.Memory, alloc.MilliCPU, alloc.Memory)
	return framework.MaxNodeScore/2 + (framework.MaxNodeScore/2+withPod-withoutPod)/2, nil
}

// balance is (1 - std of requested/allocatable) * 100 over cpu and
// memory, the resources the node has; with one resource or none, std is
// 0.
func balance(cpu, memory, allocCPU, allocMemory int64) int64 {
	if allocCPU == 0 || allocMemory == 0 {
		return framework.MaxNodeScore
	}
	fc := min(1, float64(cpu)/float64(allocCPU))
	fm := min(1, float64(memory)/float64(allocMemory))
	std := math.Abs((fc - fm) / 2)
	return int64((1 - std) * float64(framework.MaxNodeScore))
}
