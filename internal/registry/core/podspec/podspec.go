// Package podspec defaults and validates PodSpec and PodTemplateSpec, which
// pods and every workload kind (replication controllers, deployments,
// replica sets, daemon sets, stateful sets, jobs, cron jobs, pod templates)
// share.
package podspec

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// DefaultPodSpec fills unset fields of a pod spec as upstream does
// (restartPolicy, dnsPolicy, terminationGracePeriodSeconds, schedulerName,
// container imagePullPolicy, ports' protocol, ...).
func DefaultPodSpec(spec *corev1.PodSpec) {
	// TODO(podspec helper): fill in.
}

// DefaultPodTemplateSpec defaults a template's spec.
func DefaultPodTemplateSpec(t *corev1.PodTemplateSpec) {
	DefaultPodSpec(&t.Spec)
}

// ValidatePodSpec validates a pod spec at fldPath ("spec" for a pod,
// "spec.template.spec" for a workload).
func ValidatePodSpec(spec *corev1.PodSpec, fldPath *field.Path) field.ErrorList {
	// TODO(podspec helper): fill in.
	return nil
}

// ValidatePodTemplateSpec validates a template at fldPath (e.g.
// "spec.template"): its labels and annotations and its spec.
func ValidatePodTemplateSpec(t *corev1.PodTemplateSpec, fldPath *field.Path) field.ErrorList {
	// TODO(podspec helper): fill in.
	return ValidatePodSpec(&t.Spec, fldPath.Child("spec"))
}
