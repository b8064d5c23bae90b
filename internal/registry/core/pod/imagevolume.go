package pod

import corev1 "k8s.io/api/core/v1"

// dropImageVolumeDigests clears containers' volumeMounts[].volumeStatus
// (an image volume's digest), which upstream keeps only with the alpha
// ImageVolumeWithDigest gate, off in 1.37, or when the old status
// already has one (ratcheting).
func dropImageVolumeDigests(status, old *corev1.PodStatus) {
	if old != nil && hasVolumeStatus(old) {
		return
	}
	for _, list := range [][]corev1.ContainerStatus{status.InitContainerStatuses, status.ContainerStatuses, status.EphemeralContainerStatuses} {
		for i := range list {
			for j := range list[i].VolumeMounts {
				list[i].VolumeMounts[j].VolumeStatus = nil
			}
		}
	}
}

func hasVolumeStatus(status *corev1.PodStatus) bool {
	for _, list := range [][]corev1.ContainerStatus{status.InitContainerStatuses, status.ContainerStatuses, status.EphemeralContainerStatuses} {
		for _, cs := range list {
			for _, m := range cs.VolumeMounts {
				if m.VolumeStatus != nil {
					return true
				}
			}
		}
	}
	return false
}
