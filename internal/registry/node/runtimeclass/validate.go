package runtimeclass

import (
	corev1 "k8s.io/api/core/v1"
	nodev1 "k8s.io/api/node/v1"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/kemudi/kemudi/internal/registry/core/podspec"
)

// Validate checks a runtime class as upstream: the handler is a DNS
// label (the CRI handler name), the overhead valid resource quantities,
// the scheduling constraints valid labels and unique tolerations.
func Validate(rc *nodev1.RuntimeClass) field.ErrorList {
	var errs field.ErrorList
	for _, msg := range apivalidation.NameIsDNSLabel(rc.Handler, false) {
		errs = append(errs, field.Invalid(field.NewPath("handler"), rc.Handler, msg))
	}
	if rc.Overhead != nil {
		errs = append(errs, podspec.ValidateResourceRequirements(&corev1.ResourceRequirements{Limits: rc.Overhead.PodFixed}, nil, field.NewPath("overhead"))...)
	}
	if s := rc.Scheduling; s != nil {
		path := field.NewPath("scheduling")
		if s.NodeSelector != nil {
			errs = append(errs, metav1validation.ValidateLabels(s.NodeSelector, path.Child("nodeSelector"))...)
		}
		errs = append(errs, validateTolerations(s.Tolerations, path.Child("tolerations"))...)
	}
	return errs
}

// validateTolerations: each valid, and no two with the same key,
// operator, value and effect (the list's keys). Upstream names the path
// of the first check twice (scheduling.tolerations.tolerations[i]).
func validateTolerations(ts []corev1.Toleration, path *field.Path) field.ErrorList {
	errs := podspec.ValidateTolerations(ts, path.Child("tolerations"))
	seen := map[corev1.Toleration]bool{}
	for i, t := range ts {
		key := corev1.Toleration{Key: t.Key, Operator: t.Operator, Value: t.Value, Effect: t.Effect}
		if seen[key] {
			errs = append(errs, field.Duplicate(path.Index(i), t))
		}
		seen[key] = true
	}
	return errs
}

// ValidateUpdate: the handler cannot change.
func ValidateUpdate(rc, old *nodev1.RuntimeClass) field.ErrorList {
	errs := Validate(rc)
	return append(errs, apivalidation.ValidateImmutableField(rc.Handler, old.Handler, field.NewPath("handler"))...)
}
