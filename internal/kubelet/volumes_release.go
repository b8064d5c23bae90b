package kubelet

import corev1 "k8s.io/api/core/v1"

// releaseVolumes unpublishes the CSI volumes of a pod that ended, as
// upstream unmounts a terminated pod's volumes so that its disks can be
// detached while the pod object stays; a failure is tried again at the
// next sync.
func (w *worker) releaseVolumes(pod *corev1.Pod) {
	if err := w.k.volumes.Release(w.uid); err != nil {
		w.k.log.Warn("unmount volumes of an ended pod", "pod", klogName(pod), "err", err)
		return
	}
	w.released = true
}
