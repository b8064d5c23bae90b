package framework

import corev1 "k8s.io/api/core/v1"

// Snapshot is every node with its pods at one instant: what one
// scheduling cycle reads. Cache.UpdateSnapshot brings it up to date by
// replacing only the NodeInfos that changed.
type Snapshot struct {
	nodes map[string]*NodeInfo
	// list is the nodes that exist (not only pods bound to a name),
	// interleaved across zones so that a scan that stops early still
	// sees every zone; index is each one's position in list.
	list  []*NodeInfo
	index map[string]int
	// withAffinity and withRequiredAntiAffinity are the nodes of list
	// that hold pods with such terms; withNonHostAntiAffinity those
	// whose pods' required anti-affinity has a topology other than the
	// node itself, and hostAntiAffinity counts those whose pods have
	// required anti-affinity by hostname.
	withAffinity             nodeSet
	withRequiredAntiAffinity nodeSet
	withNonHostAntiAffinity  nodeSet
	hostAntiAffinity         int
	// imageNodes counts the nodes that hold each image name.
	imageNodes map[string]int
	// labels indexes every pod (on listed nodes or not) by its labels.
	labels labelIndex
}

// NewSnapshot returns an empty snapshot.
func NewSnapshot() *Snapshot {
	return &Snapshot{
		nodes: map[string]*NodeInfo{}, index: map[string]int{}, imageNodes: map[string]int{}, labels: newLabelIndex(),
		withAffinity: newNodeSet(), withRequiredAntiAffinity: newNodeSet(), withNonHostAntiAffinity: newNodeSet(),
	}
}

// NewSnapshotFromObjects builds a snapshot of nodes and pods (those with
// spec.nodeName count on their node), in the nodes' order: for tests and
// what-if evaluations.
func NewSnapshotFromObjects(pods []*corev1.Pod, nodes []*corev1.Node) *Snapshot {
	c := NewCache()
	for _, n := range nodes {
		c.AddNode(n)
	}
	for _, p := range pods {
		if p.Spec.NodeName != "" {
			c.AddPod(p)
		}
	}
	s := NewSnapshot()
	c.UpdateSnapshot(s)
	return s
}

// Get returns a node's NodeInfo, nil if unknown.
func (s *Snapshot) Get(name string) *NodeInfo {
	n := s.nodes[name]
	if n == nil || n.node == nil {
		return nil
	}
	return n
}

// List is every node, interleaved by zone. Do not modify it.
func (s *Snapshot) List() []*NodeInfo { return s.list }

// NumNodes is len(List()).
func (s *Snapshot) NumNodes() int { return len(s.list) }

// HavePodsWithAffinity is the nodes holding pods with inter-pod
// affinity or anti-affinity terms.
func (s *Snapshot) HavePodsWithAffinity() []*NodeInfo { return s.withAffinity.list }

// HavePodsWithRequiredAntiAffinity is the nodes holding pods with
// required anti-affinity terms.
func (s *Snapshot) HavePodsWithRequiredAntiAffinity() []*NodeInfo {
	return s.withRequiredAntiAffinity.list
}

// HavePodsWithNonHostAntiAffinity is the nodes holding pods with
// required anti-affinity terms by a topology other than the hostname.
func (s *Snapshot) HavePodsWithNonHostAntiAffinity() []*NodeInfo {
	return s.withNonHostAntiAffinity.list
}

// NumNodesWithHostAntiAffinity is how many nodes hold pods with required
// anti-affinity terms by hostname.
func (s *Snapshot) NumNodesWithHostAntiAffinity() int { return s.hostAntiAffinity }

// ImageNumNodes is how many nodes hold the image called name.
func (s *Snapshot) ImageNumNodes(name string) int { return s.imageNodes[name] }

// updateAffinity keeps the affinity lists right after old (nil if new)
// became ni (nil if gone).
func (s *Snapshot) updateAffinity(old, ni *NodeInfo) {
	if old != nil && old.node != nil && old.hostAnti > 0 {
		s.hostAntiAffinity--
	}
	if ni == nil || ni.node == nil {
		if old != nil {
			name := old.Name()
			if old.node == nil {
				return
			}
			s.withAffinity.remove(name)
			s.withRequiredAntiAffinity.remove(name)
			s.withNonHostAntiAffinity.remove(name)
		}
		return
	}
	if ni.hostAnti > 0 {
		s.hostAntiAffinity++
	}
	s.withAffinity.set(ni, len(ni.PodsWithAffinity) > 0)
	s.withRequiredAntiAffinity.set(ni, len(ni.PodsWithRequiredAntiAffinity) > 0)
	s.withNonHostAntiAffinity.set(ni, ni.otherAnti > 0)
}

func (s *Snapshot) rebuildAffinityLists() {
	s.withAffinity, s.withRequiredAntiAffinity, s.withNonHostAntiAffinity = newNodeSet(), newNodeSet(), newNodeSet()
	s.hostAntiAffinity = 0
	for _, n := range s.list {
		s.updateAffinity(nil, n)
	}
}

// nodeSet is an unordered list of nodes with their positions, so that a
// node is added, replaced or removed in constant time.
type nodeSet struct {
	list []*NodeInfo
	pos  map[string]int
}

func newNodeSet() nodeSet { return nodeSet{pos: map[string]int{}} }

// set makes ni a member (replacing the node's older NodeInfo) or not.
func (ns *nodeSet) set(ni *NodeInfo, member bool) {
	name := ni.Name()
	if !member {
		ns.remove(name)
		return
	}
	if i, ok := ns.pos[name]; ok {
		ns.list[i] = ni
		return
	}
	ns.pos[name] = len(ns.list)
	ns.list = append(ns.list, ni)
}

func (ns *nodeSet) remove(name string) {
	i, ok := ns.pos[name]
	if !ok {
		return
	}
	last := len(ns.list) - 1
	ns.list[i] = ns.list[last]
	ns.pos[ns.list[i].Name()] = i
	ns.list[last] = nil
	ns.list = ns.list[:last]
	delete(ns.pos, name)
}

func (s *Snapshot) recountImages() {
	clear(s.imageNodes)
	for _, n := range s.list {
		for name := range n.ImageSizes {
			s.imageNodes[name]++
		}
	}
}
