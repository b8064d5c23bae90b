package replicaset

import (
	appsv1 "k8s.io/api/apps/v1"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/kemudi/kemudi/internal/registry/apps/workload"
	"github.com/kemudi/kemudi/internal/registry/core/podspec"
)

// Validate checks a replica set on create.
func Validate(rs *appsv1.ReplicaSet) field.ErrorList {
	return validateSpec(&rs.Spec, field.NewPath("spec"))
}

// ValidateUpdate checks an update: the new spec, and an unchanged selector.
func ValidateUpdate(rs, old *appsv1.ReplicaSet) field.ErrorList {
	errs := validateSpec(&rs.Spec, field.NewPath("spec"))
	return append(errs, apimachineryvalidation.ValidateImmutableField(rs.Spec.Selector, old.Spec.Selector, field.NewPath("spec", "selector"))...)
}

func validateSpec(spec *appsv1.ReplicaSetSpec, fldPath *field.Path) field.ErrorList {
	errs := nonNegative(deref(spec.Replicas), fldPath.Child("replicas"))
	errs = append(errs, nonNegative(spec.MinReadySeconds, fldPath.Child("minReadySeconds"))...)
	// Upstream names deployments in this message for replica sets too.
	errs = append(errs, workload.ValidateRequiredSelector(spec.Selector, "deployment", fldPath.Child("selector"))...)
	selector, err := metav1.LabelSelectorAsSelector(spec.Selector)
	if err != nil {
		return append(errs, field.Invalid(fldPath.Child("selector"), spec.Selector, "invalid label selector"))
	}
	errs = append(errs, podspec.ValidateSelectorMatchesTemplate(selector, &spec.Template, fldPath.Child("template"))...)
	errs = append(errs, podspec.ValidatePodTemplateSpec(&spec.Template, fldPath.Child("template"))...)
	return append(errs, podspec.ValidateLongRunningTemplate(&spec.Template, fldPath.Child("template"), "ReplicaSet")...)
}

// ValidateStatus checks the counts the replica set controller reports.
func ValidateStatus(st *appsv1.ReplicaSetStatus, fldPath *field.Path) field.ErrorList {
	errs := nonNegative(st.Replicas, fldPath.Child("replicas"))
	errs = append(errs, nonNegative(st.FullyLabeledReplicas, fldPath.Child("fullyLabeledReplicas"))...)
	errs = append(errs, nonNegative(st.ReadyReplicas, fldPath.Child("readyReplicas"))...)
	errs = append(errs, nonNegative(st.AvailableReplicas, fldPath.Child("availableReplicas"))...)
	errs = append(errs, apimachineryvalidation.ValidateNonnegativeField(st.ObservedGeneration, fldPath.Child("observedGeneration"))...)
	if st.TerminatingReplicas != nil {
		errs = append(errs, nonNegative(*st.TerminatingReplicas, fldPath.Child("terminatingReplicas"))...)
	}
	const msg = "cannot be greater than status.replicas"
	if st.FullyLabeledReplicas > st.Replicas {
		errs = append(errs, field.Invalid(fldPath.Child("fullyLabeledReplicas"), st.FullyLabeledReplicas, msg))
	}
	if st.ReadyReplicas > st.Replicas {
		errs = append(errs, field.Invalid(fldPath.Child("readyReplicas"), st.ReadyReplicas, msg))
	}
	if st.AvailableReplicas > st.Replicas {
		errs = append(errs, field.Invalid(fldPath.Child("availableReplicas"), st.AvailableReplicas, msg))
	}
	if st.AvailableReplicas > st.ReadyReplicas {
		errs = append(errs, field.Invalid(fldPath.Child("availableReplicas"), st.AvailableReplicas, "cannot be greater than readyReplicas"))
	}
	return errs
}

func nonNegative(v int32, fldPath *field.Path) field.ErrorList {
	return apimachineryvalidation.ValidateNonnegativeField(int64(v), fldPath)
}
