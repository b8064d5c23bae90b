package node

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/kemudi/kemudi/internal/auth"
)

var csiStorageCapacities = storagev1.Resource("csistoragecapacities")

// admitCapacity admits a node's write of a CSIStorageCapacity only for
// the capacity its local-path provisioner publishes for itself: a
// nodeTopology that selects its hostname label and nothing else (old
// and new object alike), so that no node speaks for another's disk.
// Upstream's nodes publish none (external-provisioner runs as a pod
// with an account of its own).
func (p Restriction) admitCapacity(ctx context.Context, node string, r *auth.AdmissionRequest) error {
	return p.admitWritten(ctx, node, r, func(obj runtime.Object, hostname string) error {
		c, ok := obj.(*storagev1.CSIStorageCapacity)
		if !ok {
			return fmt.Errorf("unexpected type %T", obj)
		}
		t := c.NodeTopology
		if t == nil || len(t.MatchExpressions) > 0 || len(t.MatchLabels) != 1 || t.MatchLabels[corev1.LabelHostname] != hostname {
			return fmt.Errorf("node %q may only write CSIStorageCapacities whose nodeTopology selects %s=%s alone", node, corev1.LabelHostname, hostname)
		}
		return nil
	})
}
