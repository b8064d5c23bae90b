package kubelet

import corev1 "k8s.io/api/core/v1"

// The annotations upstream's kubelet puts on static pods and their mirrors.
const (
	annotationConfigSource = "kubernetes.io/config.source"
	annotationConfigHash   = "kubernetes.io/config.hash"
	annotationConfigMirror = corev1.MirrorPodAnnotationKey // "kubernetes.io/config.mirror"
	annotationConfigSeen   = "kubernetes.io/config.seen"
	sourceFile             = "file"
	sourceHTTP             = "http" // upstream's name for the manifest URL's pods
)

// isStaticPod: the pod came from a manifest file or URL, not from the API.
func isStaticPod(pod *corev1.Pod) bool {
	src := pod.Annotations[annotationConfigSource]
	return src != "" && src != "api"
}

// isMirrorPod: the pod is the API's copy of a static pod.
func isMirrorPod(pod *corev1.Pod) bool {
	_, ok := pod.Annotations[annotationConfigMirror]
	return ok
}
