package queue

import (
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/sets"
)

// pool holds the pods waiting for a cluster change, bucketed by the
// events that may help them, so that an event visits only the pods it
// may help (thousands of pods wait when the cluster is full, and pods
// are bound a thousand times a second).
type pool struct {
	byUID  map[types.UID]*QueuedPodInfo
	byMask map[Event]map[types.UID]*QueuedPodInfo
}

func newPool() pool {
	return pool{byUID: map[types.UID]*QueuedPodInfo{}, byMask: map[Event]map[types.UID]*QueuedPodInfo{}}
}

// add puts p in the pool; events matching mask may move it (none for a
// zero mask: gated pods).
func (pl *pool) add(p *QueuedPodInfo, mask Event) {
	pl.remove(p.Pod.UID)
	p.mask = mask
	pl.byUID[p.Pod.UID] = p
	b := pl.byMask[mask]
	if b == nil {
		b = map[types.UID]*QueuedPodInfo{}
		pl.byMask[mask] = b
	}
	b[p.Pod.UID] = p
}

func (pl *pool) get(uid types.UID) (*QueuedPodInfo, bool) {
	p, ok := pl.byUID[uid]
	return p, ok
}

func (pl *pool) remove(uid types.UID) {
	p, ok := pl.byUID[uid]
	if !ok {
		return
	}
	delete(pl.byUID, uid)
	b := pl.byMask[p.mask]
	delete(b, uid)
	if len(b) == 0 {
		delete(pl.byMask, p.mask)
	}
}

func (pl *pool) len() int { return len(pl.byUID) }

// helped returns the pods event may help.
func (pl *pool) helped(event Event) []*QueuedPodInfo {
	var out []*QueuedPodInfo
	for mask, b := range pl.byMask {
		if mask&event == 0 {
			continue
		}
		for _, p := range b {
			out = append(out, p)
		}
	}
	return out
}

// mask is the events that may help a pod the plugins rejected: any
// event for a pod rejected for no known reason.
func (in Interest) mask(plugins sets.Set[string]) Event {
	if len(plugins) == 0 {
		return AnyEvent
	}
	var m Event
	for p := range plugins {
		mask, known := in[p]
		if !known {
			return AnyEvent
		}
		m |= mask
	}
	return m
}
