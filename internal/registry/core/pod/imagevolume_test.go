package pod

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
)

// A status update drops image volumes' digests (volumeMounts[].volumeStatus,
// the alpha ImageVolumeWithDigest, off in 1.37) unless the old status
// already has one.
func TestStatusUpdateDropsImageVolumeDigests(t *testing.T) {
	withDigest := func(p *corev1.Pod) {
		p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "web", VolumeMounts: []corev1.VolumeMountStatus{{
			Name: "tools", MountPath: "/tools", ReadOnly: true,
			VolumeStatus: &corev1.VolumeStatus{Image: &corev1.ImageVolumeStatus{ImageRef: "registry.local/tools@sha256:aaa"}},
		}}}}
	}
	for _, tc := range []struct {
		name     string
		oldHas   bool
		wantKept bool
	}{
		{"new digest dropped", false, false},
		{"digest already there kept", true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			old := newPod()
			if tc.oldHas {
				withDigest(old)
			}
			p := newPod()
			withDigest(p)
			PrepareForStatusUpdate(p, old)
			m := p.Status.ContainerStatuses[0].VolumeMounts[0]
			if kept := m.VolumeStatus != nil; kept != tc.wantKept || m.Name != "tools" {
				t.Errorf("volume mount status %+v: volumeStatus kept %v, want %v", m, kept, tc.wantKept)
			}
		})
	}
}
