package queue

import (
	"strings"

	"k8s.io/apimachinery/pkg/util/sets"
)

// Event is a kind of cluster change that may make pending pods
// schedulable; several may be or-ed together.
type Event uint32

// The cluster changes the queue reacts to.
const (
	NodeAdd Event = 1 << iota
	NodeAllocatableChange
	NodeLabelChange
	NodeTaintChange
	NodeSpecUnschedulableChange
	NodeDelete
	AssignedPodAdd
	// AssignedPodUpdate is a change of a bound pod's labels or requests.
	AssignedPodUpdate
	// AssignedPodDelete is a bound pod deleted or finished: its
	// resources, ports and affinity are released.
	AssignedPodDelete
	PVCChange
	PVChange
	StorageClassChange
	NamespaceLabelChange
	CSINodeChange
	// CSIDriverChange and CSIStorageCapacityChange may give room to
	// claims a driver's published capacity kept from nodes.
	CSIDriverChange
	CSIStorageCapacityChange

	// AnyEvent matches every event.
	AnyEvent Event = 1<<iota - 1
)

var eventNames = []string{
	"NodeAdd", "NodeAllocatableChange", "NodeLabelChange", "NodeTaintChange",
	"NodeSpecUnschedulableChange", "NodeDelete", "AssignedPodAdd", "AssignedPodUpdate", "AssignedPodDelete",
	"PVCChange", "PVChange", "StorageClassChange", "NamespaceLabelChange", "CSINodeChange",
	"CSIDriverChange", "CSIStorageCapacityChange",
}

func (e Event) String() string {
	var names []string
	for i, n := range eventNames {
		if e&(1<<i) != 0 {
			names = append(names, n)
		}
	}
	return strings.Join(names, "|")
}

// Interest maps each plugin to the events that may undo its rejection.
type Interest map[string]Event

// relevant is true when event may help a pod the given plugins
// rejected; a pod rejected for no known plugin (no nodes at all, an
// error) is retried on any event.
func (in Interest) relevant(event Event, plugins sets.Set[string]) bool {
	if len(plugins) == 0 {
		return true
	}
	for p := range plugins {
		mask, known := in[p]
		if !known || event&mask != 0 {
			return true
		}
	}
	return false
}
