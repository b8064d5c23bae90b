package volumebinding

import (
	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// ErrReasonNotEnoughSpace is upstream's reason for a node where the
// class's driver reports no room for a claim to provision.
const ErrReasonNotEnoughSpace = "node(s) did not have enough free storage"

// kemudi's default class's provisioner cannot name a CSIDriver object
// (a driver's name is a DNS subdomain, without "/"): it goes by a CSI
// name, as upstream's csi-translation-lib gives its in-tree plugins
// ("kubernetes.io/gce-pd" is the driver "pd.csi.storage.gke.io").
const (
	localPathProvisioner = "kemudi.io/local-path"
	// LocalPathDriver is the CSIDriver of kemudi.io/local-path.
	LocalPathDriver = "local-path.kemudi.io"
)

// DriverName is the CSIDriver a provisioner's capacity tracking is read
// from: its own name, or the CSI name of kemudi's local-path.
func DriverName(provisioner string) string {
	if provisioner == localPathProvisioner {
		return LocalPathDriver
	}
	return provisioner
}

// capacityView is what the storage capacity check reads, once a cycle:
// the CSI drivers of the delayed claims' provisioners (a provisioner
// without one is absent) and every published CSIStorageCapacity.
type capacityView struct {
	drivers    map[string]*storagev1.CSIDriver
	capacities []publishedCapacity
}

// publishedCapacity is a CSIStorageCapacity with its nodeTopology parsed
// once a cycle, not once for each node it is checked against.
type publishedCapacity struct {
	*storagev1.CSIStorageCapacity
	// nodes selects the nodes it is available on; nil: none (no
	// topology, or one that does not parse).
	nodes labels.Selector
}

func parseCapacities(cs []*storagev1.CSIStorageCapacity) []publishedCapacity {
	out := make([]publishedCapacity, len(cs))
	for i, c := range cs {
		out[i] = publishedCapacity{CSIStorageCapacity: c}
		if c.NodeTopology != nil {
			if sel, err := metav1.LabelSelectorAsSelector(c.NodeTopology); err == nil {
				out[i].nodes = sel
			}
		}
	}
	return out
}

// readCapacity reads the drivers of classes' provisioners and the
// capacities; without listers (no CSIDriver API) nothing is checked.
func (pl *Plugin) readCapacity(classes map[string]*storagev1.StorageClass) (capacityView, error) {
	v := capacityView{drivers: map[string]*storagev1.CSIDriver{}}
	if pl.l.CSIDrivers == nil || pl.l.Capacities == nil {
		return v, nil
	}
	for _, class := range classes {
		if class == nil || class.Provisioner == "" {
			continue
		}
		d, err := pl.l.CSIDrivers.Get(DriverName(class.Provisioner))
		switch {
		case apierrors.IsNotFound(err):
			continue
		case err != nil:
			return v, err
		}
		v.drivers[class.Provisioner] = d
	}
	if len(v.drivers) == 0 {
		return v, nil
	}
	cs, err := pl.l.Capacities.List(labels.Everything())
	v.capacities = parseCapacities(cs)
	return v, err
}

// enoughCapacity is upstream's hasEnoughCapacity: a claim of class may
// be provisioned on a node with nodeLabels unless the provisioner's CSI
// driver opted into capacity tracking (storageCapacity true) and no
// CSIStorageCapacity of the class whose nodeTopology selects the node
// allows a volume of the claim's request (maximumVolumeSize, else
// capacity). With tracking on and nothing published, nothing fits. A
// claim without a request, or a provisioner without a CSIDriver
// (driver nil), is not checked.
func enoughCapacity(claim *corev1.PersistentVolumeClaim, class *storagev1.StorageClass, driver *storagev1.CSIDriver,
	capacities []publishedCapacity, nodeLabels map[string]string) bool {
	want, ok := claim.Spec.Resources.Requests[corev1.ResourceStorage]
	if !ok || driver == nil || driver.Spec.StorageCapacity == nil || !*driver.Spec.StorageCapacity {
		return true
	}
	for _, c := range capacities {
		if c.StorageClassName == class.Name && volumeLimitAtLeast(c.CSIStorageCapacity, want.Value()) &&
			c.nodes != nil && c.nodes.Matches(labels.Set(nodeLabels)) {
			return true
		}
	}
	return false
}

// volumeLimitAtLeast: the largest volume c allows (maximumVolumeSize,
// the more precise, else capacity) holds bytes; neither set allows none.
func volumeLimitAtLeast(c *storagev1.CSIStorageCapacity, bytes int64) bool {
	limit := c.MaximumVolumeSize
	if limit == nil {
		limit = c.Capacity
	}
	return limit != nil && limit.Value() >= bytes
}
