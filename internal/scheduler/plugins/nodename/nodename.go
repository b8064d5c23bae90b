// Package nodename is the NodeName plugin: a pod that names its node in
// spec.nodeName fits only that node.
package nodename

import (
	"context"

	"github.com/kemudi/kemudi/internal/scheduler/framework"
)

// Name is the plugin's upstream name.
const Name = "NodeName"

// ErrReason is upstream's reason.
const ErrReason = "node(s) didn't match the requested node name"

var mismatch = framework.NewStatus(framework.UnschedulableAndUnresolvable, ErrReason).WithPlugin(Name)

// Plugin is NodeName.
type Plugin struct{}

// New returns the plugin.
func New() *Plugin { return &Plugin{} }

// Name implements framework.Plugin.
func (*Plugin) Name() string { return Name }

// PreFilter skips pods that name no node.
func (*Plugin) PreFilter(_ context.Context, _ *framework.CycleState, pod *framework.PodInfo, _ *framework.Snapshot) (*framework.PreFilterResult, *framework.Status) {
	if pod.Pod.Spec.NodeName == "" {
		return nil, framework.NewStatus(framework.Skip)
	}
	return nil, nil
}

// Filter passes only the named node.
func (*Plugin) Filter(_ *framework.CycleState, pod *framework.PodInfo, node *framework.NodeInfo) *framework.Status {
	if n := pod.Pod.Spec.NodeName; n != "" && n != node.Name() {
		return mismatch
	}
	return nil
}
