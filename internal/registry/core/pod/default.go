package pod

import (
	corev1 "k8s.io/api/core/v1"

	"github.com/kemudi/kemudi/internal/registry/core/podspec"
)

// Default fills a pod as upstream's defaulting does: the shared spec
// defaults, the pod-only ones (requests from limits, enableServiceLinks,
// hostNetwork ports), and status.podIP kept in step with status.podIPs.
func Default(pod *corev1.Pod) {
	podspec.DefaultPodOnly(&pod.Spec)
	podspec.DefaultPodSpec(&pod.Spec)
	defaultStatus(&pod.Status)
}

func defaultStatus(s *corev1.PodStatus) {
	hasIP, hasIPs := s.PodIP != "", len(s.PodIPs) > 0
	switch {
	case hasIP && !hasIPs:
		s.PodIPs = []corev1.PodIP{{IP: s.PodIP}}
	case !hasIP && hasIPs:
		s.PodIP = s.PodIPs[0].IP
	case hasIP && hasIPs && s.PodIPs[0].IP != s.PodIP:
		// podIP wins, for old kubelets that only set it.
		s.PodIPs = []corev1.PodIP{{IP: s.PodIP}}
	}
	podspec.RoundResourceList(s.AllocatedResources)
	if s.Resources != nil {
		podspec.RoundResourceList(s.Resources.Limits)
		podspec.RoundResourceList(s.Resources.Requests)
	}
	for _, list := range [][]corev1.ContainerStatus{s.InitContainerStatuses, s.ContainerStatuses, s.EphemeralContainerStatuses} {
		for i := range list {
			podspec.RoundResourceList(list[i].AllocatedResources)
			if r := list[i].Resources; r != nil {
				podspec.RoundResourceList(r.Limits)
				podspec.RoundResourceList(r.Requests)
			}
		}
	}
}
