package framework

import (
	"fmt"
	"sync"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/component-helpers/node/topology"
)

// Cache is the scheduler's view of the cluster: the nodes and the pods
// bound to them, from informer events, plus the pods the scheduler has
// assumed onto a node while their binding is in flight, so that the
// next cycle counts them without waiting for the API's round trip.
//
// NodeInfos are copy-on-write: a NodeInfo that a snapshot may hold is
// never changed, the cache replaces it with a changed clone; a node
// changed twice between snapshots is cloned once.
type Cache struct {
	mu    sync.Mutex
	nodes map[string]*NodeInfo
	pods  map[types.UID]*podState
	// dirty is the nodes changed since the last UpdateSnapshot: their
	// NodeInfo belongs to the cache alone and may change in place.
	dirty map[string]struct{}
	// zones orders the existing nodes for the snapshot's list.
	zones     *zoneOrder
	listDirty bool
}

type podState struct {
	info *PodInfo
	node string
	// assumed pods are the scheduler's own placements not yet seen
	// bound by the informer.
	assumed bool
}

// NewCache returns an empty cache.
func NewCache() *Cache {
	return &Cache{
		nodes: map[string]*NodeInfo{},
		pods:  map[types.UID]*podState{},
		dirty: map[string]struct{}{},
		zones: newZoneOrder(),
	}
}

// edit returns the node's NodeInfo to change in place, cloning it first
// if a snapshot may hold it, and marks it changed.
func (c *Cache) edit(name string) *NodeInfo {
	ni := c.nodes[name]
	if _, own := c.dirty[name]; !own || ni == nil {
		if ni == nil {
			ni = NewNodeInfo(nil)
		} else {
			ni = ni.Clone()
		}
		c.nodes[name] = ni
		c.dirty[name] = struct{}{}
	}
	return ni
}

// AddNode adds or replaces a node.
func (c *Cache) AddNode(node *corev1.Node) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.setNode(node)
}

// UpdateNode replaces a node.
func (c *Cache) UpdateNode(node *corev1.Node) { c.AddNode(node) }

func (c *Cache) setNode(node *corev1.Node) {
	old := c.nodes[node.Name]
	ni := c.edit(node.Name)
	if old == nil || old.node == nil || topology.GetZoneKey(old.node) != topology.GetZoneKey(node) {
		if old != nil && old.node != nil {
			c.zones.remove(old.node)
		}
		c.zones.add(node)
		c.listDirty = true
	}
	ni.SetNode(node)
}

// RemoveNode removes a node. Pods still bound to it stay counted under
// its name until they are deleted.
func (c *Cache) RemoveNode(node *corev1.Node) {
	c.mu.Lock()
	defer c.mu.Unlock()
	old := c.nodes[node.Name]
	if old == nil || old.node == nil {
		return
	}
	c.zones.remove(old.node)
	c.listDirty = true
	if len(old.Pods) == 0 {
		delete(c.nodes, node.Name)
		c.dirty[node.Name] = struct{}{}
		return
	}
	ni := c.edit(node.Name)
	ni.node, ni.name, ni.unschedulable, ni.hasHostname, ni.taints = nil, "", false, false, nil
	ni.Allocatable = Resource{}
	ni.ImageSizes = nil
}

// AddPod records a pod bound to a node (spec.nodeName set). A pod the
// scheduler assumed is confirmed: the informer's copy replaces it, on
// the node it was really bound to.
func (c *Cache) AddPod(pod *corev1.Pod) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.addPod(pod)
}

func (c *Cache) addPod(pod *corev1.Pod) {
	var info *PodInfo
	if ps, ok := c.pods[pod.UID]; ok {
		c.removeFromNode(ps)
		if ps.assumed && ps.info.Pod.Generation == pod.Generation && !resizing(pod) {
			// The binding of a pod we assumed: same spec, so what was
			// computed from it still holds.
			info = reuse(ps.info, pod)
		}
	}
	if info == nil {
		info = NewPodInfo(pod)
	}
	ps := &podState{info: info, node: pod.Spec.NodeName}
	c.pods[pod.UID] = ps
	c.edit(ps.node).AddPod(ps.info)
}

// UpdatePod records a change to a bound pod. It returns true when the
// change may matter to pending pods: labels, requests, deletion.
func (c *Cache) UpdatePod(old, pod *corev1.Pod) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	ps, ok := c.pods[pod.UID]
	relevant := !labels.Equals(old.Labels, pod.Labels) || (old.DeletionTimestamp == nil) != (pod.DeletionTimestamp == nil)
	if !ok || ps.assumed || ps.node != pod.Spec.NodeName || old.Generation != pod.Generation || resizing(pod) {
		c.addPod(pod)
		return true
	}
	// Same spec: keep what was computed from it, take the new object.
	pi := reuse(ps.info, pod)
	c.edit(ps.node).ReplacePod(pi)
	ps.info = pi
	return relevant
}

// reuse returns a copy of pi for pod, a newer version of its pod with
// the same spec; what was remembered about its labels goes if they
// changed.
func reuse(pi *PodInfo, pod *corev1.Pod) *PodInfo {
	cp := *pi
	cp.Pod = pod
	if !labels.Equals(pi.Pod.Labels, pod.Labels) {
		cp.Memo = NewMatchMemo()
	}
	return &cp
}

// resizing is true when the kubelet reports container resources, which
// count in the pod's requests during an in-place resize.
func resizing(pod *corev1.Pod) bool {
	for i := range pod.Status.ContainerStatuses {
		cs := &pod.Status.ContainerStatuses[i]
		if cs.Resources != nil || cs.AllocatedResources != nil {
			return true
		}
	}
	return false
}

// RemovePod forgets a pod that was deleted or left its node.
func (c *Cache) RemovePod(uid types.UID) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if ps, ok := c.pods[uid]; ok {
		c.removeFromNode(ps)
		delete(c.pods, uid)
	}
}

func (c *Cache) removeFromNode(ps *podState) {
	ni := c.edit(ps.node)
	_ = ni.RemovePod(ps.info.Pod.UID)
	if ni.node == nil && len(ni.Pods) == 0 {
		delete(c.nodes, ps.node)
	}
}

// AssumePod counts a pod on nodeName before its binding is confirmed.
// pi.Pod must be a copy with spec.nodeName set to nodeName.
func (c *Cache) AssumePod(pi *PodInfo, nodeName string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.pods[pi.Pod.UID]; ok {
		return fmt.Errorf("pod %s is already in the cache", pi.Key())
	}
	ps := &podState{info: pi, node: nodeName, assumed: true}
	c.pods[pi.Pod.UID] = ps
	c.edit(nodeName).AddPod(pi)
	return nil
}

// ForgetPod undoes AssumePod after a failed binding. A pod already
// confirmed by the informer stays.
func (c *Cache) ForgetPod(uid types.UID) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if ps, ok := c.pods[uid]; ok && ps.assumed {
		c.removeFromNode(ps)
		delete(c.pods, uid)
	}
}

// IsAssumed is true while a pod is assumed and not yet confirmed.
func (c *Cache) IsAssumed(uid types.UID) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	ps, ok := c.pods[uid]
	return ok && ps.assumed
}

// Counts returns the number of nodes and of pods (assumed included).
func (c *Cache) Counts() (nodes, pods int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.zones.len(), len(c.pods)
}

// UpdateSnapshot brings s up to date with the cache, replacing only the
// NodeInfos that changed since the last call.
func (c *Cache) UpdateSnapshot(s *Snapshot) {
	c.mu.Lock()
	defer c.mu.Unlock()
	images := false
	for name := range c.dirty {
		old := s.nodes[name]
		ni, ok := c.nodes[name]
		if old != nil && len(old.ImageSizes) > 0 || ok && len(ni.ImageSizes) > 0 {
			images = true
		}
		if !c.listDirty {
			s.updateAffinity(old, ni)
		}
		s.labels.replace(name, old, ni)
		if !ok {
			delete(s.nodes, name)
			continue
		}
		s.nodes[name] = ni
		if i, listed := s.index[name]; listed && !c.listDirty {
			s.list[i] = ni
		}
	}
	clear(c.dirty)
	if c.listDirty {
		s.list = s.list[:0]
		clear(s.index)
		c.zones.each(func(name string) {
			s.index[name] = len(s.list)
			s.list = append(s.list, s.nodes[name])
		})
		c.listDirty = false
		s.rebuildAffinityLists()
		images = true
	}
	if images {
		s.recountImages()
	}
}

// zoneOrder keeps node names by zone in the order they arrived, and
// lists them round-robin across zones, as upstream's node tree does.
type zoneOrder struct {
	zones  []string
	byZone map[string][]string
	n      int
}

func newZoneOrder() *zoneOrder { return &zoneOrder{byZone: map[string][]string{}} }

func (z *zoneOrder) add(node *corev1.Node) {
	k := topology.GetZoneKey(node)
	names, ok := z.byZone[k]
	if !ok {
		z.zones = append(z.zones, k)
	}
	z.byZone[k] = append(names, node.Name)
	z.n++
}

func (z *zoneOrder) remove(node *corev1.Node) {
	k := topology.GetZoneKey(node)
	names := z.byZone[k]
	for i, n := range names {
		if n != node.Name {
			continue
		}
		names = append(names[:i], names[i+1:]...)
		z.n--
		break
	}
	if len(names) > 0 {
		z.byZone[k] = names
		return
	}
	delete(z.byZone, k)
	for i, zk := range z.zones {
		if zk == k {
			z.zones = append(z.zones[:i], z.zones[i+1:]...)
			break
		}
	}
}

func (z *zoneOrder) len() int { return z.n }

func (z *zoneOrder) each(f func(name string)) {
	for i := 0; ; i++ {
		any := false
		for _, k := range z.zones {
			if names := z.byZone[k]; i < len(names) {
				f(names[i])
				any = true
			}
		}
		if !any {
			return
		}
	}
}
