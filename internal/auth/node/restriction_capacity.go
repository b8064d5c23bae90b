package node

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"

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
	objs := written(r)
	if len(objs) == 0 {
		return nil
	}
	hostname, err := p.nodeHostname(ctx, r, node)
	if err != nil {
		return err
	}
	for _, obj := range objs {
		c, ok := obj.(*storagev1.CSIStorageCapacity)
		if !ok {
			return forbidden(r, fmt.Errorf("unexpected type %T", obj))
		}
		t := c.NodeTopology
		if t == nil || len(t.MatchExpressions) > 0 || len(t.MatchLabels) != 1 || t.MatchLabels[corev1.LabelHostname] != hostname {
			return forbidden(r, fmt.Errorf("node %q may only write CSIStorageCapacities whose nodeTopology selects %s=%s alone", node, corev1.LabelHostname, hostname))
		}
	}
	return nil
}
