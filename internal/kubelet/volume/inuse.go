package volume

import (
	"slices"

	corev1 "k8s.io/api/core/v1"

	"github.com/kemudi/kemudi/internal/registry/storage/volumeattachment"
)

// InUse names the attachable volumes the node's pods use, for the node
// status's volumesInUse: the CSI persistent volumes their claims
// resolved to, from the first set-up until the pod is torn down (as
// upstream's volume manager reports a volume from the moment it wants
// to mount it until it is unmounted). The attach/detach controller
// detaches none of them. Volumes still staged or published count too,
// whether or not this kubelet run set them up.
func (m *Manager) InUse() []corev1.UniqueVolumeName {
	var out []corev1.UniqueVolumeName
	if m.csi != nil {
		out = m.csi.InUse()
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, pv := range m.pvs {
		if csi := pv.Spec.CSI; csi != nil {
			out = append(out, volumeattachment.UniqueVolumeName(csi.Driver, csi.VolumeHandle))
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}
