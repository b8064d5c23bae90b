package workload

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// RestartAlways checks the pod spec of a template whose pods a controller
// keeps running (deployments, replica sets, stateful sets, daemon sets):
// they must always restart and may have no active deadline. kind names
// the controller in the deadline message ("ReplicaSet", "DaemonSet", ...).
func RestartAlways(spec *corev1.PodSpec, specPath *field.Path, kind string) field.ErrorList {
	var errs field.ErrorList
	if spec.RestartPolicy != corev1.RestartPolicyAlways {
		errs = append(errs, field.NotSupported(specPath.Child("restartPolicy"), spec.RestartPolicy, []corev1.RestartPolicy{corev1.RestartPolicyAlways}))
	}
	if spec.ActiveDeadlineSeconds != nil {
		errs = append(errs, field.Forbidden(specPath.Child("activeDeadlineSeconds"), fmt.Sprintf("activeDeadlineSeconds in %s is not Supported", kind)))
	}
	return errs
}
