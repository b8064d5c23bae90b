package garbagecollector

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
)

type changeType int

const (
	addOrUpdate changeType = iota
	deletion
)

// change is one watch event (or, virtual, the discovery by a worker that
// an object is gone).
type change struct {
	typ     changeType
	gvk     schema.GroupVersionKind
	obj     *metav1.PartialObjectMetadata
	virtual bool
	// id is set for virtual deletions (obj is nil then).
	id ref
}

func idOf(gvk schema.GroupVersionKind, m *metav1.PartialObjectMetadata) ref {
	return ref{APIVersion: gvk.GroupVersion().String(), Kind: gvk.Kind, Namespace: m.Namespace, Name: m.Name, UID: m.UID}
}

func hasFinalizer(m *metav1.PartialObjectMetadata, f string) bool {
	for _, x := range m.Finalizers {
		if x == f {
			return true
		}
	}
	return false
}

// apply applies one change to the graph and queues the work it calls for.
// Only the builder goroutine calls it.
func (gc *GC) apply(c change) {
	var toDelete, toOrphan []types.UID
	defer func() {
		for _, u := range toDelete {
			gc.attemptToDelete.Add(u)
		}
		for _, u := range toOrphan {
			gc.attemptToOrphan.Add(u)
		}
	}()
	g := gc.graph
	g.mu.Lock()
	defer g.mu.Unlock()

	if c.typ == deletion {
		var uid types.UID
		if c.virtual {
			uid = c.id.UID
		} else {
			uid = c.obj.UID
		}
		n, ok := g.nodes[uid]
		if !ok {
			return
		}
		delete(g.nodes, uid)
		for _, o := range n.owners {
			if on, ok := g.nodes[o.UID]; ok {
				delete(on.dependents, n)
				if on.deletingDependents {
					// one blocker fewer: maybe the last
					toDelete = append(toDelete, on.id.UID)
				}
				if on.virtual && len(on.dependents) == 0 {
					delete(g.nodes, on.id.UID)
				}
			}
		}
		if len(n.dependents) > 0 {
			gc.absent.add(n.id)
		}
		for d := range n.dependents {
			toDelete = append(toDelete, d.id.UID)
		}
		return
	}

	m := c.obj
	id := idOf(c.gvk, m)
	beingDeleted := m.DeletionTimestamp != nil
	foregroundFinalizer := hasFinalizer(m, metav1.FinalizerDeleteDependents)
	orphanFinalizer := hasFinalizer(m, metav1.FinalizerOrphanDependents)

	n, found := g.nodes[m.UID]
	if !found {
		n = &node{id: id, dependents: map[*node]struct{}{}}
		g.nodes[m.UID] = n
	} else if n.virtual {
		// The owner others named is now seen: if they named it by other
		// coordinates, they must be looked at again.
		n.virtual = false
		if n.id != id {
			for d := range n.dependents {
				toDelete = append(toDelete, d.id.UID)
			}
		}
		n.id = id
	}
	n.resourceVersion = m.ResourceVersion

	added, removed, unblocked := diffOwners(n.owners, m.OwnerReferences)
	n.owners = m.OwnerReferences
	for _, o := range added {
		on, ok := g.nodes[o.UID]
		if !ok {
			// An owner not seen yet: a virtual node, which a worker
			// checks against the API (it may never have existed).
			on = &node{
				virtual:    true,
				id:         ref{APIVersion: o.APIVersion, Kind: o.Kind, Name: o.Name, UID: o.UID, Namespace: m.Namespace},
				dependents: map[*node]struct{}{},
			}
			g.nodes[o.UID] = on
			toDelete = append(toDelete, o.UID)
		}
		on.dependents[n] = struct{}{}
	}
	for _, o := range removed {
		if on, ok := g.nodes[o.UID]; ok {
			delete(on.dependents, n)
			if on.virtual && len(on.dependents) == 0 {
				delete(g.nodes, on.id.UID)
			}
		}
	}
	for _, o := range append(removed, unblocked...) {
		if on, ok := g.nodes[o.UID]; ok && on.deletingDependents {
			toDelete = append(toDelete, on.id.UID)
		}
	}

	wasOrphaning := n.beingDeleted && n.orphanFinalizer
	startsOrphaning := beingDeleted && orphanFinalizer && !wasOrphaning
	startsForeground := beingDeleted && foregroundFinalizer && !n.deletingDependents
	n.beingDeleted = beingDeleted
	n.orphanFinalizer = orphanFinalizer
	n.foregroundFinalizer = foregroundFinalizer
	n.deletingDependents = beingDeleted && foregroundFinalizer
	if startsOrphaning {
		toOrphan = append(toOrphan, n.id.UID)
	}
	if startsForeground {
		for d := range n.dependents {
			toDelete = append(toDelete, d.id.UID)
		}
		toDelete = append(toDelete, n.id.UID)
	}
}

// diffOwners returns the references added and removed, and those whose
// blockOwnerDeletion went from true to false.
func diffOwners(old, cur []metav1.OwnerReference) (added, removed, unblocked []metav1.OwnerReference) {
	oldByUID := make(map[types.UID]metav1.OwnerReference, len(old))
	for _, o := range old {
		oldByUID[o.UID] = o
	}
	curUIDs := make(map[types.UID]bool, len(cur))
	for _, c := range cur {
		curUIDs[c.UID] = true
		o, ok := oldByUID[c.UID]
		if !ok {
			added = append(added, c)
			continue
		}
		if blocks(o) && !blocks(c) {
			unblocked = append(unblocked, c)
		}
	}
	for _, o := range old {
		if !curUIDs[o.UID] {
			removed = append(removed, o)
		}
	}
	return added, removed, unblocked
}

func blocks(o metav1.OwnerReference) bool {
	return o.BlockOwnerDeletion != nil && *o.BlockOwnerDeletion
}
