package scheduler

import (
	"k8s.io/client-go/informers"
	corelisters "k8s.io/client-go/listers/core/v1"

	"github.com/kemudi/kemudi/internal/scheduler/framework"
	"github.com/kemudi/kemudi/internal/scheduler/plugins/imagelocality"
	"github.com/kemudi/kemudi/internal/scheduler/plugins/interpodaffinity"
	"github.com/kemudi/kemudi/internal/scheduler/plugins/nodeaffinity"
	"github.com/kemudi/kemudi/internal/scheduler/plugins/nodename"
	"github.com/kemudi/kemudi/internal/scheduler/plugins/nodeports"
	"github.com/kemudi/kemudi/internal/scheduler/plugins/noderesources"
	"github.com/kemudi/kemudi/internal/scheduler/plugins/nodeunschedulable"
	"github.com/kemudi/kemudi/internal/scheduler/plugins/podtopologyspread"
	"github.com/kemudi/kemudi/internal/scheduler/plugins/tainttoleration"
	"github.com/kemudi/kemudi/internal/scheduler/plugins/volumebinding"
	"github.com/kemudi/kemudi/internal/scheduler/plugins/volumezone"
	"github.com/kemudi/kemudi/internal/scheduler/queue"
)

// DefaultPlugins are upstream's default profile, in its order (filters
// run in this order and the first rejection is the node's reason), with
// its score weights: TaintToleration 3, NodeAffinity 2,
// PodTopologySpread 2, InterPodAffinity 2, the others 1. Scheduling
// gates and priority sorting are the queue's; preemption runs after a
// failed cycle.
func DefaultPlugins(f informers.SharedInformerFactory) ([]framework.Plugin, map[string]int64) {
	var (
		volumes    volumebinding.Listers
		spread     podtopologyspread.Listers
		namespaces corelisters.NamespaceLister
	)
	if f != nil {
		core, apps, storage := f.Core().V1(), f.Apps().V1(), f.Storage().V1()
		volumes = volumebinding.Listers{
			Claims:     core.PersistentVolumeClaims().Lister(),
			Volumes:    core.PersistentVolumes().Lister(),
			Classes:    storage.StorageClasses().Lister(),
			Nodes:      core.Nodes().Lister(),
			CSIDrivers: storage.CSIDrivers().Lister(),
			Capacities: storage.CSIStorageCapacities().Lister(),
		}
		spread = podtopologyspread.Listers{
			Services:               core.Services().Lister(),
			ReplicationControllers: core.ReplicationControllers().Lister(),
			ReplicaSets:            apps.ReplicaSets().Lister(),
			StatefulSets:           apps.StatefulSets().Lister(),
		}
		namespaces = core.Namespaces().Lister()
	}
	plugins := []framework.Plugin{
		nodename.New(),
		nodeunschedulable.New(),
		tainttoleration.New(),
		nodeaffinity.New(),
		nodeports.New(),
		noderesources.NewFit(),
		volumebinding.New(volumes),
		volumezone.New(volumes),
		podtopologyspread.New(spread),
		interpodaffinity.New(namespaces),
		noderesources.NewBalanced(),
		imagelocality.New(),
	}
	weights := map[string]int64{
		tainttoleration.Name:       3,
		nodeaffinity.Name:          2,
		noderesources.FitName:      1,
		podtopologyspread.Name:     2,
		interpodaffinity.Name:      2,
		noderesources.BalancedName: 1,
		imagelocality.Name:         1,
	}
	return plugins, weights
}

// Interest says which cluster changes may undo each plugin's rejection
// (upstream's EventsToRegister, at the granularity of change kinds).
func Interest() queue.Interest {
	nodeAdd := queue.NodeAdd
	claims := queue.PVCChange | queue.PVChange | queue.StorageClassChange
	return queue.Interest{
		nodename.Name:          nodeAdd,
		nodeunschedulable.Name: nodeAdd | queue.NodeSpecUnschedulableChange | queue.NodeTaintChange,
		tainttoleration.Name:   nodeAdd | queue.NodeTaintChange,
		nodeaffinity.Name:      nodeAdd | queue.NodeLabelChange,
		nodeports.Name:         nodeAdd | queue.AssignedPodDelete,
		noderesources.FitName:  nodeAdd | queue.NodeAllocatableChange | queue.AssignedPodDelete | queue.AssignedPodUpdate,
		volumebinding.Name:     nodeAdd | queue.NodeLabelChange | claims | queue.CSINodeChange | queue.CSIDriverChange | queue.CSIStorageCapacityChange,
		volumezone.Name:        nodeAdd | queue.NodeLabelChange | claims,
		podtopologyspread.Name: nodeAdd | queue.NodeDelete | queue.NodeLabelChange | queue.NodeTaintChange |
			queue.AssignedPodAdd | queue.AssignedPodUpdate | queue.AssignedPodDelete,
		interpodaffinity.Name: nodeAdd | queue.NodeLabelChange | queue.AssignedPodAdd | queue.AssignedPodUpdate |
			queue.AssignedPodDelete | queue.NamespaceLabelChange,
	}
}
