package garbagecollector

import (
	"sync"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// ref identifies an object as an ownerReference does, plus its namespace.
type ref struct {
	APIVersion string
	Kind       string
	Namespace  string
	Name       string
	UID        types.UID
}

// node is one object in the graph. Only the graph's owner goroutine
// changes nodes, under graph.mu; workers read them under the read lock.
type node struct {
	id ref
	// virtual nodes are owners named by some reference but not (yet)
	// seen in a watch.
	virtual         bool
	resourceVersion string
	owners          []metav1.OwnerReference
	dependents      map[*node]struct{}
	beingDeleted    bool
	// deletingDependents: being deleted with the foregroundDeletion
	// finalizer.
	deletingDependents bool
	// The finalizers the object carries (deleted or not).
	orphanFinalizer     bool
	foregroundFinalizer bool
}

// graph maps UIDs to nodes.
type graph struct {
	mu    sync.RWMutex
	nodes map[types.UID]*node
}

func newGraph() *graph { return &graph{nodes: map[types.UID]*node{}} }

func (g *graph) get(uid types.UID) (*node, bool) {
	g.mu.RLock()
	defer g.mu.RUnlock()
	n, ok := g.nodes[uid]
	return n, ok
}

// view is a copy of what a worker needs of a node, taken under the lock.
type view struct {
	id                 ref
	virtual            bool
	resourceVersion    string
	owners             []metav1.OwnerReference
	beingDeleted       bool
	deletingDependents bool
	orphanFinalizer    bool
	foregroundFinal    bool
	dependents         []ref
	// blocking are the dependents whose reference to this node has
	// blockOwnerDeletion; deletingDeps those being deleted in the
	// foreground themselves.
	blocking     []ref
	deletingDeps map[types.UID]bool
}

func (g *graph) view(uid types.UID) (view, bool) {
	g.mu.RLock()
	defer g.mu.RUnlock()
	n, ok := g.nodes[uid]
	if !ok {
		return view{}, false
	}
	v := view{
		id: n.id, virtual: n.virtual, resourceVersion: n.resourceVersion,
		owners:       append([]metav1.OwnerReference(nil), n.owners...),
		beingDeleted: n.beingDeleted, deletingDependents: n.deletingDependents,
		orphanFinalizer: n.orphanFinalizer, foregroundFinal: n.foregroundFinalizer,
		deletingDeps: map[types.UID]bool{},
	}
	for d := range n.dependents {
		v.dependents = append(v.dependents, d.id)
		if d.deletingDependents {
			v.deletingDeps[d.id.UID] = true
		}
		for _, o := range d.owners {
			if o.UID == n.id.UID && o.BlockOwnerDeletion != nil && *o.BlockOwnerDeletion {
				v.blocking = append(v.blocking, d.id)
				break
			}
		}
	}
	return v, true
}

// ownerState is what the graph knows of an owner: observed, and whether
// it is being deleted in the foreground.
func (g *graph) ownerState(o metav1.OwnerReference) (observed, waiting bool) {
	g.mu.RLock()
	defer g.mu.RUnlock()
	n, ok := g.nodes[o.UID]
	if !ok || n.virtual {
		return false, false
	}
	return true, n.deletingDependents
}

func (g *graph) size() int {
	g.mu.RLock()
	defer g.mu.RUnlock()
	return len(g.nodes)
}
