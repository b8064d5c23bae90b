package kubelet

import (
	"context"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/kemudi/kemudi/internal/kubelet/volume"
)

// refreshVolumes rewrites the volumes of a running pod whose content
// comes from the API (configMap, secret, downwardAPI, projected: the
// service-account token too) at most once per SyncFrequency, as
// upstream's periodic sync remounts them: the atomic writer swaps
// ..data so containers see the new content without a restart. A
// failure keeps the old content and records FailedMount, as upstream.
func (w *worker) refreshVolumes(ctx context.Context, pod *corev1.Pod, state PodState) {
	k := w.k
	sb := state.readySandbox()
	// An ended pod's volumes are not written again: no container reads
	// them, and its CSI volumes were released (volumes_release.go).
	if sb == nil || pod.DeletionTimestamp != nil || !hasAPIVolumes(pod) || w.ended {
		return
	}
	// A little slack, so a sync woken by the SyncFrequency timer a
	// moment early still refreshes.
	if time.Since(w.volumesAt) < k.opts.SyncFrequency*9/10 {
		return
	}
	w.volumesAt = time.Now()
	env := volume.Env{PodIPs: statusIPs(sb), HostIPs: k.hostIPs(), Allocatable: k.allocatable()}
	if _, err := k.volumes.SetUp(ctx, pod, env); err != nil {
		k.recorder.Event(pod, corev1.EventTypeWarning, "FailedMount", err.Error())
	}
}

func hasAPIVolumes(pod *corev1.Pod) bool {
	for _, v := range pod.Spec.Volumes {
		if v.ConfigMap != nil || v.Secret != nil || v.DownwardAPI != nil || v.Projected != nil {
			return true
		}
	}
	return false
}
