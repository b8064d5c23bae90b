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
	withAffinity             []*NodeInfo
	withRequiredAntiAffinity []*NodeInfo
	withNonHostAntiAffinity  []*NodeInfo
	hostAntiAffinity         int
	// imageNodes counts the nodes that hold each image name.
	imageNodes map[string]int
	generation int64
}

// NewSnapshot returns an empty snapshot.
func NewSnapshot() *Snapshot {
	return &Snapshot{nodes: map[string]*NodeInfo{}, index: map[string]int{}, imageNodes: map[string]int{}}
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
func (s *Snapshot) HavePodsWithAffinity() []*NodeInfo { return s.withAffinity }

// HavePodsWithRequiredAntiAffinity is the nodes holding pods with
// required anti-affinity terms.
func (s *Snapshot) HavePodsWithRequiredAntiAffinity() []*NodeInfo {
	return s.withRequiredAntiAffinity
}

// HavePodsWithNonHostAntiAffinity is the nodes holding pods with
// required anti-affinity terms by a topology other than the hostname.
func (s *Snapshot) HavePodsWithNonHostAntiAffinity() []*NodeInfo {
	return s.withNonHostAntiAffinity
}

// NumNodesWithHostAntiAffinity is how many nodes hold pods with required
// anti-affinity terms by hostname.
func (s *Snapshot) NumNodesWithHostAntiAffinity() int { return s.hostAntiAffinity }

// ImageNumNodes is how many nodes hold the image called name.
func (s *Snapshot) ImageNumNodes(name string) int { return s.imageNodes[name] }

// Generation is the cache generation the snapshot reflects.
func (s *Snapshot) Generation() int64 { return s.generation }

func (s *Snapshot) rebuildAffinityLists() {
	s.withAffinity = s.withAffinity[:0]
	s.withRequiredAntiAffinity = s.withRequiredAntiAffinity[:0]
	s.withNonHostAntiAffinity = s.withNonHostAntiAffinity[:0]
	s.hostAntiAffinity = 0
	for _, n := range s.list {
		if len(n.PodsWithAffinity) > 0 {
			s.withAffinity = append(s.withAffinity, n)
		}
		if len(n.PodsWithRequiredAntiAffinity) == 0 {
			continue
		}
		s.withRequiredAntiAffinity = append(s.withRequiredAntiAffinity, n)
		host, other := false, false
		for _, p := range n.PodsWithRequiredAntiAffinity {
			for i := range p.RequiredAntiAffinityTerms {
				if p.RequiredAntiAffinityTerms[i].TopologyKey == corev1.LabelHostname {
					host = true
				} else {
					other = true
				}
			}
		}
		if other {
			s.withNonHostAntiAffinity = append(s.withNonHostAntiAffinity, n)
		}
		if host {
			s.hostAntiAffinity++
		}
	}
}

func (s *Snapshot) recountImages() {
	clear(s.imageNodes)
	for _, n := range s.list {
		for name := range n.ImageSizes {
			s.imageNodes[name]++
		}
	}
}
