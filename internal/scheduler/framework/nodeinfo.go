package framework

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
)

// NodeInfo is a node with the pods on it (bound or assumed) and what
// they add up to. The NodeInfos a Snapshot holds are never changed:
// the cache replaces a NodeInfo with a changed copy (Clone) instead.
type NodeInfo struct {
	// The fields a cycle reads for every node come first, together, so
	// that a scan over thousands of nodes touches as few cache lines as
	// it can: the name, cordon and taints are copied from the node.
	name             string
	unschedulable    bool
	hasHostname      bool
	Allocatable      Resource
	Requested        Resource
	NonZeroRequested Resource
	Pods             []*PodInfo
	taints           []corev1.Taint

	node *corev1.Node
	// PodsWithAffinity have terms that score other pods: required
	// affinity, preferred affinity or preferred anti-affinity (a pod
	// with only required anti-affinity is not among them).
	// PodsWithRequiredAntiAffinity have a required anti-affinity term.
	PodsWithAffinity             []*PodInfo
	PodsWithRequiredAntiAffinity []*PodInfo
	// hostAnti and otherAnti count the pods with required anti-affinity
	// terms by hostname, and by another topology key.
	hostAnti, otherAnti int
	UsedPorts           HostPortInfo
	// Requested (above) is the sum of the pods' requests;
	// NonZeroRequested the same with the scoring defaults for unset cpu
	// and memory.
	//
	// ImageSizes maps each name of each image the node reports holding
	// to the image's size in bytes.
	ImageSizes map[string]int64
}

// NewNodeInfo returns the NodeInfo of a node without pods (node may be
// nil: pods bound to a node the scheduler has not seen yet).
func NewNodeInfo(node *corev1.Node) *NodeInfo {
	n := &NodeInfo{}
	if node != nil {
		n.SetNode(node)
	}
	return n
}

// Node is the node; nil when only pods bound to it are known.
func (n *NodeInfo) Node() *corev1.Node { return n.node }

// Name is the node's name ("" while only pods bound to it are known).
func (n *NodeInfo) Name() string { return n.name }

// Unschedulable is the node's spec.unschedulable.
func (n *NodeInfo) Unschedulable() bool { return n.unschedulable }

// HasHostnameLabel is true when the node has the kubernetes.io/hostname
// label, the topology of per-node affinity terms.
func (n *NodeInfo) HasHostnameLabel() bool { return n.hasHostname }

// Taints are the node's taints.
func (n *NodeInfo) Taints() []corev1.Taint { return n.taints }

// SetNode sets the node and what is derived from it.
func (n *NodeInfo) SetNode(node *corev1.Node) {
	n.node = node
	n.name = node.Name
	n.unschedulable = node.Spec.Unschedulable
	_, n.hasHostname = node.Labels[corev1.LabelHostname]
	n.taints = node.Spec.Taints
	n.Allocatable = NewResource(node.Status.Allocatable)
	n.ImageSizes = nil
	for _, img := range node.Status.Images {
		for _, name := range img.Names {
			if n.ImageSizes == nil {
				n.ImageSizes = map[string]int64{}
			}
			n.ImageSizes[name] = img.SizeBytes
		}
	}
}

// AddPod adds a pod to the node.
func (n *NodeInfo) AddPod(pi *PodInfo) {
	n.Pods = append(n.Pods, pi)
	if pi.scoresOthers() {
		n.PodsWithAffinity = append(n.PodsWithAffinity, pi)
	}
	if len(pi.RequiredAntiAffinityTerms) > 0 {
		n.PodsWithRequiredAntiAffinity = append(n.PodsWithRequiredAntiAffinity, pi)
	}
	n.update(pi, 1)
	n.countAnti(pi, 1)
}

// RemovePod removes the pod with pod's UID.
func (n *NodeInfo) RemovePod(uid types.UID) error {
	n.PodsWithAffinity = removeFrom(n.PodsWithAffinity, uid)
	n.PodsWithRequiredAntiAffinity = removeFrom(n.PodsWithRequiredAntiAffinity, uid)
	for i, p := range n.Pods {
		if p.Pod.UID != uid {
			continue
		}
		last := len(n.Pods) - 1
		n.Pods[i] = n.Pods[last]
		n.Pods[last] = nil
		n.Pods = n.Pods[:last]
		n.update(p, -1)
		n.countAnti(p, -1)
		return nil
	}
	return fmt.Errorf("no pod %s on node %s", uid, n.Name())
}

func (n *NodeInfo) countAnti(pi *PodInfo, delta int) {
	host, other := false, false
	for i := range pi.RequiredAntiAffinityTerms {
		if pi.RequiredAntiAffinityTerms[i].TopologyKey == corev1.LabelHostname {
			host = true
		} else {
			other = true
		}
	}
	if host {
		n.hostAnti += delta
	}
	if other {
		n.otherAnti += delta
	}
}

// ReplacePod swaps the PodInfo of a pod already on the node for pi,
// whose requests and terms must be the same.
func (n *NodeInfo) ReplacePod(pi *PodInfo) {
	for _, list := range [][]*PodInfo{n.Pods, n.PodsWithAffinity, n.PodsWithRequiredAntiAffinity} {
		for i, p := range list {
			if p.Pod.UID == pi.Pod.UID {
				list[i] = pi
				break
			}
		}
	}
}

func removeFrom(pods []*PodInfo, uid types.UID) []*PodInfo {
	for i, p := range pods {
		if p.Pod.UID == uid {
			last := len(pods) - 1
			pods[i] = pods[last]
			pods[last] = nil
			return pods[:last]
		}
	}
	return pods
}

func (n *NodeInfo) update(pi *PodInfo, sign int64) {
	if sign > 0 {
		n.Requested.Add(&pi.Requests)
	} else {
		n.Requested.Sub(&pi.Requests)
	}
	n.NonZeroRequested.MilliCPU += sign * pi.NonZeroMilliCPU
	n.NonZeroRequested.Memory += sign * pi.NonZeroMemory
	for _, p := range pi.HostPorts {
		if sign > 0 {
			if n.UsedPorts == nil {
				n.UsedPorts = HostPortInfo{}
			}
			n.UsedPorts.Add(p.HostIP, string(p.Protocol), p.HostPort)
		} else {
			n.UsedPorts.Remove(p.HostIP, string(p.Protocol), p.HostPort)
		}
	}
}

// Clone returns a copy that can be changed without changing n.
func (n *NodeInfo) Clone() *NodeInfo {
	c := *n
	c.Pods = append([]*PodInfo(nil), n.Pods...)
	c.PodsWithAffinity = append([]*PodInfo(nil), n.PodsWithAffinity...)
	c.PodsWithRequiredAntiAffinity = append([]*PodInfo(nil), n.PodsWithRequiredAntiAffinity...)
	c.UsedPorts = n.UsedPorts.clone()
	c.Requested = n.Requested.Clone()
	c.NonZeroRequested = n.NonZeroRequested.Clone()
	// Allocatable and ImageSizes are replaced, never changed in place.
	return &c
}
