package pvcprotection

import (
	corev1 "k8s.io/api/core/v1"

	"github.com/kemudi/kemudi/internal/controller"
)

// Finalizers of the protection controllers.
const (
	PVCFinalizer = "kubernetes.io/pvc-protection"
	PVFinalizer  = "kubernetes.io/pv-protection"
)

// podUsesClaim reports whether a pod holds a claim: scheduled pods that
// mount it, and the generic ephemeral claims of pods still running.
func podUsesClaim(pod *corev1.Pod, claim string) bool {
	if pod.Spec.NodeName == "" {
		// The kubelet never starts a pod on a claim being deleted.
		return false
	}
	for _, v := range pod.Spec.Volumes {
		if v.PersistentVolumeClaim != nil && v.PersistentVolumeClaim.ClaimName == claim {
			return true
		}
		if v.Ephemeral != nil && pod.Name+"-"+v.Name == claim && !controller.IsPodTerminal(pod) {
			return true
		}
	}
	return false
}

// claimsOf are the claims a pod's volumes name.
func claimsOf(pod *corev1.Pod) []string {
	var out []string
	for _, v := range pod.Spec.Volumes {
		switch {
		case v.PersistentVolumeClaim != nil:
			out = append(out, v.PersistentVolumeClaim.ClaimName)
		case v.Ephemeral != nil:
			out = append(out, pod.Name+"-"+v.Name)
		}
	}
	return out
}

func hasFinalizer(finalizers []string, f string) bool {
	for _, x := range finalizers {
		if x == f {
			return true
		}
	}
	return false
}

func without(finalizers []string, f string) []string {
	var out []string
	for _, x := range finalizers {
		if x != f {
			out = append(out, x)
		}
	}
	return out
}
