// Package podspec defaults and validates PodSpec and PodTemplateSpec, which
// pods and every workload kind (replication controllers, deployments,
// replica sets, daemon sets, stateful sets, jobs, cron jobs, pod templates)
// share.
//
// The defaults are upstream's (SetDefaults_PodSpec and the per-field
// defaults of containers, probes and volumes); the validation follows
// upstream's ValidatePodSpec and ValidatePodTemplateSpec with the feature
// gates as they default in Kubernetes 1.37, with the same field paths,
// error types and messages.
package podspec

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Options tune ValidatePodSpecWithOptions for where the spec lives.
type Options struct {
	// IsPod is true when the spec is a Pod's own spec rather than a
	// template embedded in a workload. Pods are held to a few stricter
	// rules: with hostNetwork, hostPort must equal containerPort (a
	// template may leave it 0, the pod's defaulting fills it in).
	IsPod bool
	// PodName is the pod's name, used to check the names of the claims
	// generic ephemeral volumes create ("<pod>-<volume>"). Empty for
	// templates.
	PodName string
}

// DefaultPodSpec fills unset fields of a pod spec as upstream does
// (restartPolicy, dnsPolicy, terminationGracePeriodSeconds, schedulerName,
// securityContext, container imagePullPolicy and termination message,
// ports' protocol, probes, volume sources, ...). Fields upstream defaults
// only on Pods (enableServiceLinks, requests from limits, hostNetwork
// ports) are defaulted by DefaultPodOnly.
func DefaultPodSpec(spec *corev1.PodSpec) {
	defaultSpec(spec)
}

// DefaultPodTemplateSpec defaults a template's spec.
func DefaultPodTemplateSpec(t *corev1.PodTemplateSpec) {
	DefaultPodSpec(&t.Spec)
}

// ValidatePodSpec validates a pod spec at fldPath ("spec" for a pod,
// "spec.template.spec" for a workload), with the rules for a template.
func ValidatePodSpec(spec *corev1.PodSpec, fldPath *field.Path) field.ErrorList {
	return ValidatePodSpecWithOptions(spec, fldPath, Options{})
}

// ValidatePodTemplateSpec validates a template at fldPath (e.g.
// "spec.template"): its labels and annotations and its spec.
func ValidatePodTemplateSpec(t *corev1.PodTemplateSpec, fldPath *field.Path) field.ErrorList {
	return validateTemplate(t, fldPath)
}
