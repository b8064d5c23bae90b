// Package nodeports is the NodePorts plugin: a pod whose containers ask
// for host ports fits only nodes where those ports are free.
package nodeports

import (
	"context"

	"github.com/kemudi/kemudi/internal/scheduler/framework"
)

// Name is the plugin's upstream name.
const Name = "NodePorts"

// ErrReason is upstream's reason.
const ErrReason = "node(s) didn't have free ports for the requested pod ports"

var conflict = framework.NewStatus(framework.Unschedulable, ErrReason).WithPlugin(Name)

// Plugin is NodePorts.
type Plugin struct{}

// New returns the plugin.
func New() *Plugin { return &Plugin{} }

// Name implements framework.Plugin.
func (*Plugin) Name() string { return Name }

// PreFilter skips pods without host ports.
func (*Plugin) PreFilter(_ context.Context, _ *framework.CycleState, pod *framework.PodInfo, _ *framework.Snapshot) (*framework.PreFilterResult, *framework.Status) {
	if len(pod.HostPorts) == 0 {
		return nil, framework.NewStatus(framework.Skip)
	}
	return nil, nil
}

// Filter rejects nodes where a wanted host port is taken.
func (*Plugin) Filter(_ *framework.CycleState, pod *framework.PodInfo, node *framework.NodeInfo) *framework.Status {
	for _, p := range pod.HostPorts {
		if node.UsedPorts.CheckConflict(p.HostIP, string(p.Protocol), p.HostPort) {
			return conflict
		}
	}
	return nil
}
