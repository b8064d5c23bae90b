package csi

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"
)

// NodeIDAnnotation maps the node's drivers to their node IDs (JSON), as
// upstream's kubelet keeps it for attachers that predate CSINode.
const NodeIDAnnotation = "csi.volume.kubernetes.io/nodeid"

// nodeInfo is what a driver's NodeGetInfo says of this node.
type nodeInfo struct {
	nodeID     string
	maxVolumes int64
	topology   map[string]string
}

// nodeInfoWriter writes drivers into the node and its CSINode.
type nodeInfoWriter struct {
	client kubernetes.Interface
	node   string
}

// install records the driver on the node (nodeid annotation, topology
// labels) and in its CSINode (created, owned by the node, if missing).
func (w *nodeInfoWriter) install(ctx context.Context, name string, info nodeInfo) error {
	n, err := w.updateNode(ctx, func(n *corev1.Node) (bool, error) {
		changed, err := setNodeID(n, name, info.nodeID)
		if err != nil {
			return false, err
		}
		return setTopologyLabels(n, info.topology) || changed, nil
	})
	if err != nil {
		return err
	}
	// A driver's node ID and topology keys cannot change in place: an
	// entry that differs goes first, then the new one comes.
	if err := w.updateCSINode(ctx, n, func(cn *storagev1.CSINode) bool { return withoutStale(cn, name, info) }); err != nil {
		return err
	}
	return w.updateCSINode(ctx, n, func(cn *storagev1.CSINode) bool { return withDriver(cn, name, info) })
}

// uninstall removes the driver from the node's annotation and CSINode;
// its topology labels stay, as upstream leaves them.
func (w *nodeInfoWriter) uninstall(ctx context.Context, name string) error {
	n, err := w.updateNode(ctx, func(n *corev1.Node) (bool, error) { return setNodeID(n, name, "") })
	if err != nil {
		return err
	}
	return w.updateCSINode(ctx, n, func(cn *storagev1.CSINode) bool { return withoutDriver(cn, name) })
}

// ensureCSINode creates the node's CSINode when it has none, as
// upstream's kubelet does at start.
func (w *nodeInfoWriter) ensureCSINode(ctx context.Context) error {
	n, err := w.client.CoreV1().Nodes().Get(ctx, w.node, metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("get node %s: %w", w.node, err)
	}
	return w.updateCSINode(ctx, n, func(*storagev1.CSINode) bool { return false })
}

func (w *nodeInfoWriter) updateNode(ctx context.Context, change func(*corev1.Node) (bool, error)) (*corev1.Node, error) {
	var out *corev1.Node
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		n, err := w.client.CoreV1().Nodes().Get(ctx, w.node, metav1.GetOptions{})
		if err != nil {
			return err
		}
		n = n.DeepCopy()
		changed, err := change(n)
		if err != nil || !changed {
			out = n
			return err
		}
		out, err = w.client.CoreV1().Nodes().Update(ctx, n, metav1.UpdateOptions{})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("update node %s: %w", w.node, err)
	}
	return out, nil
}

func (w *nodeInfoWriter) updateCSINode(ctx context.Context, n *corev1.Node, change func(*storagev1.CSINode) bool) error {
	api := w.client.StorageV1().CSINodes()
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		cn, err := api.Get(ctx, w.node, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			cn = newCSINode(n)
			change(cn)
			_, err = api.Create(ctx, cn, metav1.CreateOptions{})
			if apierrors.IsAlreadyExists(err) {
				return apierrors.NewConflict(storagev1.Resource("csinodes"), w.node, err)
			}
			return err
		}
		if err != nil {
			return err
		}
		cn = cn.DeepCopy()
		if !change(cn) {
			return nil
		}
		_, err = api.Update(ctx, cn, metav1.UpdateOptions{})
		return err
	})
	if err != nil {
		return fmt.Errorf("update CSINode %s: %w", w.node, err)
	}
	return nil
}

// newCSINode is the node's empty CSINode, owned by the node so that it
// goes with it.
func newCSINode(n *corev1.Node) *storagev1.CSINode {
	return &storagev1.CSINode{
		ObjectMeta: metav1.ObjectMeta{Name: n.Name, OwnerReferences: []metav1.OwnerReference{{
			APIVersion: "v1", Kind: "Node", Name: n.Name, UID: n.UID,
		}}},
		Spec: storagev1.CSINodeSpec{Drivers: []storagev1.CSINodeDriver{}},
	}
}

// setNodeID sets (id != "") or removes the driver's entry of the nodeid
// annotation; it reports whether the node changed.
func setNodeID(n *corev1.Node, driver, id string) (bool, error) {
	ids := map[string]string{}
	if s, ok := n.Annotations[NodeIDAnnotation]; ok {
		if err := json.Unmarshal([]byte(s), &ids); err != nil {
			return false, fmt.Errorf("failed to parse node annotation %q=%q: %v", NodeIDAnnotation, s, err)
		}
	}
	if old, ok := ids[driver]; (id == "" && !ok) || (id != "" && old == id) {
		return false, nil
	}
	if id == "" {
		delete(ids, driver)
	} else {
		ids[driver] = id
	}
	if len(ids) == 0 {
		delete(n.Annotations, NodeIDAnnotation)
		return true, nil
	}
	b, err := json.Marshal(ids)
	if err != nil {
		return false, err
	}
	if n.Annotations == nil {
		n.Annotations = map[string]string{}
	}
	n.Annotations[NodeIDAnnotation] = string(b)
	return true, nil
}

// setTopologyLabels labels the node with the driver's topology segments.
func setTopologyLabels(n *corev1.Node, topology map[string]string) bool {
	changed := false
	for k, v := range topology {
		if old, ok := n.Labels[k]; ok && old == v {
			continue
		}
		if n.Labels == nil {
			n.Labels = map[string]string{}
		}
		n.Labels[k] = v
		changed = true
	}
	return changed
}

// withDriver puts the driver into the CSINode's spec; it reports whether
// anything changed.
func withDriver(cn *storagev1.CSINode, name string, info nodeInfo) bool {
	d := storagev1.CSINodeDriver{Name: name, NodeID: info.nodeID, TopologyKeys: slices.Sorted(maps.Keys(info.topology))}
	if info.maxVolumes > 0 {
		d.Allocatable = &storagev1.VolumeNodeResources{Count: ptr.To(int32(min(info.maxVolumes, 1<<31-1)))}
	}
	i := slices.IndexFunc(cn.Spec.Drivers, func(x storagev1.CSINodeDriver) bool { return x.Name == name })
	if i < 0 {
		cn.Spec.Drivers = append(cn.Spec.Drivers, d)
		return true
	}
	old := cn.Spec.Drivers[i]
	if old.NodeID == d.NodeID && slices.Equal(old.TopologyKeys, d.TopologyKeys) && sameCount(old.Allocatable, d.Allocatable) {
		return false
	}
	cn.Spec.Drivers[i] = d
	return true
}

func sameCount(a, b *storagev1.VolumeNodeResources) bool {
	ca, cb := (*int32)(nil), (*int32)(nil)
	if a != nil {
		ca = a.Count
	}
	if b != nil {
		cb = b.Count
	}
	return ptr.Equal(ca, cb)
}

// withoutDriver removes the driver from the CSINode's spec.
func withoutDriver(cn *storagev1.CSINode, name string) bool {
	n := len(cn.Spec.Drivers)
	cn.Spec.Drivers = slices.DeleteFunc(cn.Spec.Drivers, func(x storagev1.CSINodeDriver) bool { return x.Name == name })
	return len(cn.Spec.Drivers) != n
}

// withoutStale removes the driver's entry if its node ID or topology
// keys are not the driver's now.
func withoutStale(cn *storagev1.CSINode, name string, info nodeInfo) bool {
	i := slices.IndexFunc(cn.Spec.Drivers, func(x storagev1.CSINodeDriver) bool { return x.Name == name })
	if i < 0 {
		return false
	}
	old := cn.Spec.Drivers[i]
	if old.NodeID == info.nodeID && slices.Equal(old.TopologyKeys, slices.Sorted(maps.Keys(info.topology))) {
		return false
	}
	return withoutDriver(cn, name)
}
