package volume

import corev1 "k8s.io/api/core/v1"

// imageVolume is an image volume: nothing on the host. The kubelet pulls
// the image and names it in the CRI mount; the runtime mounts the
// image's files, always read-only, as upstream's image plugin says.
func imageVolume(src *corev1.ImageVolumeSource) Mounted {
	return Mounted{Image: src, ReadOnly: true}
}
