package framework

import (
	"context"
	"fmt"
)

// RunReserve runs every Reserve plugin in order and stops at the first
// failure. A rejection keeps its code and names its plugin; an error
// becomes upstream's "running Reserve plugin ..." error. After a
// failure the caller runs RunUnreserve.
func (f *Framework) RunReserve(ctx context.Context, state *CycleState, pod *PodInfo, node string) *Status {
	for _, p := range f.reserves {
		if s := p.Reserve(ctx, state, pod, node); !s.IsSuccess() && !s.IsSkip() {
			return failedAt("Reserve", p.Name(), s)
		}
	}
	return nil
}

// RunUnreserve undoes every Reserve plugin, in reverse order.
func (f *Framework) RunUnreserve(ctx context.Context, state *CycleState, pod *PodInfo, node string) {
	for i := len(f.reserves) - 1; i >= 0; i-- {
		f.reserves[i].Unreserve(ctx, state, pod, node)
	}
}

// RunPreBind runs every PreBind plugin in order and stops at the first
// failure, which it reports as RunReserve does.
func (f *Framework) RunPreBind(ctx context.Context, state *CycleState, pod *PodInfo, node string) *Status {
	for _, p := range f.preBinds {
		if s := p.PreBind(ctx, state, pod, node); !s.IsSuccess() && !s.IsSkip() {
			return failedAt("PreBind", p.Name(), s)
		}
	}
	return nil
}

// failedAt is the status of a plugin's failure at an extension point,
// worded as upstream's (the FailedScheduling event shows it).
func failedAt(point, plugin string, s *Status) *Status {
	if s.IsRejected() {
		return s.WithPlugin(plugin)
	}
	return AsStatus(fmt.Errorf("running %s plugin %q: %w", point, plugin, s.AsError())).WithPlugin(plugin)
}
