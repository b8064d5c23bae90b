package localpath

import (
	"math"
	"slices"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
)

// Storage capacity tracking, as external-provisioner's distributed mode
// (--enable-capacity with --node-deployment): each node's provisioner
// publishes, for its own node only, one CSIStorageCapacity per class of
// this provisioner, whose figures are the free space of the filesystem
// holding the storage directory. The scheduler then places claims only
// on nodes with room (the CSIDriver kemudi.io/local-path says
// storageCapacity: true). The objects are owned by the Node, so that
// the garbage collector removes them with it, as the kubelet's Lease.
const (
	// CapacityNamespace holds the published capacities.
	CapacityNamespace = metav1.NamespaceSystem
	// LabelManagedBy is upstream's label naming the publisher;
	// ManagedBy is this provisioner's value. The node is the object's
	// hostname label (a label value by construction, unlike the node
	// name or the provisioner's name).
	LabelManagedBy = "csi.storage.k8s.io/managed-by"
	ManagedBy      = "kemudi-local-path"
	// capacityPrefix is the objects' generateName, as upstream's.
	capacityPrefix = "csisc-"
)

// CapacityPlan is what a node's publisher does to its capacities: the
// classes to create one for, the objects whose figures changed (copies
// with the new ones) and the objects to delete (a class gone, a
// duplicate, a topology that is not the node's).
type CapacityPlan struct {
	Create []string
	Update []*storagev1.CSIStorageCapacity
	Delete []*storagev1.CSIStorageCapacity
}

// PlanCapacity compares a node's published capacities with one per
// class for the node, of free bytes (capacity and maximum volume size:
// a directory may take all of it). One owned by an earlier Node of the
// name (deleted and registered again) goes: the garbage collector would
// take it.
func PlanCapacity(classes []string, node *corev1.Node, free resource.Quantity, published []*storagev1.CSIStorageCapacity) CapacityPlan {
	var plan CapacityPlan
	kept := map[string]bool{}
	topology := nodeTopology(Hostname(node))
	for _, c := range published {
		if !slices.Contains(classes, c.StorageClassName) || kept[c.StorageClassName] ||
			!equality.Semantic.DeepEqual(c.NodeTopology, topology) || !ownedBy(c, node.UID) {
			plan.Delete = append(plan.Delete, c)
			continue
		}
		kept[c.StorageClassName] = true
		if !sameQuantity(c.Capacity, free) || !sameQuantity(c.MaximumVolumeSize, free) {
			u := c.DeepCopy()
			u.Capacity, u.MaximumVolumeSize = ptr.To(free), ptr.To(free)
			plan.Update = append(plan.Update, u)
		}
	}
	for _, class := range classes {
		if !kept[class] {
			plan.Create = append(plan.Create, class)
		}
	}
	return plan
}

// NewCapacity is the capacity a node publishes for class, owned by its
// Node.
func NewCapacity(class string, node *corev1.Node, free resource.Quantity) *storagev1.CSIStorageCapacity {
	hostname := Hostname(node)
	return &storagev1.CSIStorageCapacity{
		ObjectMeta: metav1.ObjectMeta{
			GenerateName: capacityPrefix,
			Namespace:    CapacityNamespace,
			Labels:       capacityLabels(hostname),
			OwnerReferences: []metav1.OwnerReference{{
				APIVersion: "v1", Kind: "Node", Name: node.Name, UID: node.UID,
			}},
		},
		StorageClassName:  class,
		NodeTopology:      nodeTopology(hostname),
		Capacity:          ptr.To(free),
		MaximumVolumeSize: ptr.To(free),
	}
}

// capacityLabels select one node's published capacities.
func capacityLabels(hostname string) map[string]string {
	return map[string]string{LabelManagedBy: ManagedBy, HostnameLabel: hostname}
}

// nodeTopology selects the node by the hostname label the volumes'
// node affinity names.
func nodeTopology(hostname string) *metav1.LabelSelector {
	return &metav1.LabelSelector{MatchLabels: map[string]string{HostnameLabel: hostname}}
}

// FreeQuantity is free bytes as a quantity (capped at what one holds).
func FreeQuantity(free uint64) resource.Quantity {
	return *resource.NewQuantity(int64(min(free, math.MaxInt64)), resource.BinarySI)
}

// ownedBy is true when the capacity names the node (by UID) as owner.
func ownedBy(c *storagev1.CSIStorageCapacity, uid types.UID) bool {
	for _, o := range c.OwnerReferences {
		if o.Kind == "Node" && o.UID == uid {
			return true
		}
	}
	return false
}

func sameQuantity(q *resource.Quantity, want resource.Quantity) bool {
	return q != nil && q.Cmp(want) == 0
}
