package kubelet

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// pullImageVolumes pulls the images of the image volumes c mounts,
// each by its volume's pull policy with the pod's pull secrets, before
// c's own image, as upstream does. When one is not there, c waits with
// the pull's reason (ErrImagePull, ImagePullBackOff, ErrImageNeverPull)
// and false is returned: c does not start.
func (w *worker) pullImageVolumes(ctx context.Context, pod *corev1.Pod, c *corev1.Container) bool {
	for _, src := range imageVolumesOf(pod, c) {
		ref, reason, msg := w.ensurePulled(ctx, pod, src.Reference, src.PullPolicy)
		if ref != "" {
			continue
		}
		w.setWaiting(c.Name, reason, msg)
		return false
	}
	return true
}

// imageVolumesOf are the sources of the image volumes c mounts, each once.
func imageVolumesOf(pod *corev1.Pod, c *corev1.Container) []*corev1.ImageVolumeSource {
	var out []*corev1.ImageVolumeSource
	for i := range pod.Spec.Volumes {
		v := &pod.Spec.Volumes[i]
		if v.Image == nil {
			continue
		}
		for _, vm := range c.VolumeMounts {
			if vm.Name == v.Name {
				out = append(out, v.Image)
				break
			}
		}
	}
	return out
}

// imageMount is the CRI mount of an image volume: no host path, the
// image by the ID the runtime has for it (pulled by pullImageVolumes)
// and the sub path inside it, read-only always (upstream's image plugin
// is read-only whatever the volumeMount says).
func (k *Kubelet) imageMount(ctx context.Context, pod *corev1.Pod, vm *corev1.VolumeMount, src *corev1.ImageVolumeSource, sub string) (*runtimeapi.Mount, error) {
	st, err := k.rt.ImageStatus(ctx, &runtimeapi.ImageStatusRequest{Image: &runtimeapi.ImageSpec{Image: src.Reference}})
	if err != nil {
		return nil, fmt.Errorf("image volume %q: image %q: %w", vm.Name, src.Reference, err)
	}
	if st.GetImage() == nil {
		return nil, fmt.Errorf("image volume %q: image %q is not present", vm.Name, src.Reference)
	}
	img := &runtimeapi.ImageSpec{Image: st.GetImage().GetId(), UserSpecifiedImage: src.Reference, Annotations: pod.Annotations}
	return &runtimeapi.Mount{ContainerPath: vm.MountPath, Image: img, ImageSubPath: sub, Readonly: true}, nil
}

// markImageVolumesInUse marks the images that containers mount as
// volumes in use (by image ID, through byName), so that image garbage
// collection keeps them, as upstream's asks each container's status for
// its mounts. A container gone meanwhile is skipped.
func (k *Kubelet) markImageVolumesInUse(ctx context.Context, ctrs []*runtimeapi.Container, byName map[string]string, inUse map[string]bool) {
	for _, c := range ctrs {
		st, err := k.rt.ContainerStatus(ctx, &runtimeapi.ContainerStatusRequest{ContainerId: c.Id})
		if err != nil {
			continue
		}
		for _, m := range st.GetStatus().GetMounts() {
			if id, ok := byName[m.GetImage().GetImage()]; ok {
				inUse[id] = true
			}
		}
	}
}
