package kubelet

// What the kubelet writes on sandboxes and containers so that it can
// find them again (also after a restart) with upstream's keys, which
// tools like crictl show.
const (
	labelPodName       = "io.kubernetes.pod.name"
	labelPodNamespace  = "io.kubernetes.pod.namespace"
	labelPodUID        = "io.kubernetes.pod.uid"
	labelContainerName = "io.kubernetes.container.name"

	annotationRestartCount      = "io.kubernetes.container.restartCount"
	annotationHash              = "io.kubernetes.container.hash"
	annotationTerminationPath   = "io.kubernetes.container.terminationMessagePath"
	annotationTerminationPolicy = "io.kubernetes.container.terminationMessagePolicy"
	annotationGracePeriod       = "io.kubernetes.pod.terminationGracePeriod"
)
