package deployment

import (
	appsv1 "k8s.io/api/apps/v1"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/kemudi/kemudi/internal/registry/apps/workload"
	"github.com/kemudi/kemudi/internal/registry/core/podspec"
)

// Validate checks a deployment on create.
func Validate(d *appsv1.Deployment) field.ErrorList {
	return validateSpec(&d.Spec, field.NewPath("spec"))
}

// ValidateUpdate checks an update: the new spec, and a selector that has
// not changed (apps/v1 selectors are immutable).
func ValidateUpdate(d, old *appsv1.Deployment) field.ErrorList {
	errs := validateSpec(&d.Spec, field.NewPath("spec"))
	return append(errs, apimachineryvalidation.ValidateImmutableField(d.Spec.Selector, old.Spec.Selector, field.NewPath("spec", "selector"))...)
}

func validateSpec(spec *appsv1.DeploymentSpec, fldPath *field.Path) field.ErrorList {
	errs := nonNegative(deref(spec.Replicas), fldPath.Child("replicas"))
	errs = append(errs, workload.ValidateRequiredSelector(spec.Selector, "deployment", fldPath.Child("selector"))...)
	if selector, err := metav1.LabelSelectorAsSelector(spec.Selector); err != nil {
		errs = append(errs, field.Invalid(fldPath.Child("selector"), spec.Selector, "invalid label selector"))
	} else {
		errs = append(errs, podspec.ValidatePodTemplateSpec(&spec.Template, fldPath.Child("template"))...)
		errs = append(errs, podspec.ValidateLongRunningTemplate(&spec.Template, fldPath.Child("template"), "ReplicaSet")...)
		errs = append(errs, podspec.ValidateSelectorMatchesTemplate(selector, &spec.Template, fldPath.Child("template"))...)
	}
	errs = append(errs, validateStrategy(&spec.Strategy, fldPath.Child("strategy"))...)
	errs = append(errs, nonNegative(spec.MinReadySeconds, fldPath.Child("minReadySeconds"))...)
	if spec.RevisionHistoryLimit != nil {
		errs = append(errs, nonNegative(*spec.RevisionHistoryLimit, fldPath.Child("revisionHistoryLimit"))...)
	}
	if spec.ProgressDeadlineSeconds != nil {
		pds := *spec.ProgressDeadlineSeconds
		errs = append(errs, nonNegative(pds, fldPath.Child("progressDeadlineSeconds"))...)
		if pds <= spec.MinReadySeconds {
			errs = append(errs, field.Invalid(fldPath.Child("progressDeadlineSeconds"), pds, "must be greater than minReadySeconds"))
		}
	}
	return errs
}

func validateStrategy(s *appsv1.DeploymentStrategy, fldPath *field.Path) field.ErrorList {
	switch s.Type {
	case appsv1.RecreateDeploymentStrategyType:
		if s.RollingUpdate != nil {
			return field.ErrorList{field.Forbidden(fldPath.Child("rollingUpdate"), "may not be specified when strategy `type` is 'Recreate'")}
		}
	case appsv1.RollingUpdateDeploymentStrategyType:
		if s.RollingUpdate == nil {
			return field.ErrorList{field.Required(fldPath.Child("rollingUpdate"), "this should be defaulted and never be nil")}
		}
		return validateRollingUpdate(s.RollingUpdate, fldPath.Child("rollingUpdate"))
	default:
		return field.ErrorList{field.NotSupported(fldPath, s, []appsv1.DeploymentStrategyType{appsv1.RecreateDeploymentStrategyType, appsv1.RollingUpdateDeploymentStrategyType})}
	}
	return nil
}

// validateRollingUpdate checks maxSurge and maxUnavailable: counts or
// percentages, not both zero (the rollout could never progress), and at
// most 100% unavailable.
func validateRollingUpdate(ru *appsv1.RollingUpdateDeployment, fldPath *field.Path) field.ErrorList {
	maxUnavailable, maxSurge := derefIntOrString(ru.MaxUnavailable), derefIntOrString(ru.MaxSurge)
	errs := workload.ValidateIntOrPercent(maxUnavailable, fldPath.Child("maxUnavailable"))
	errs = append(errs, workload.ValidateIntOrPercent(maxSurge, fldPath.Child("maxSurge"))...)
	if workload.IntOrPercentValue(maxUnavailable) == 0 && workload.IntOrPercentValue(maxSurge) == 0 {
		errs = append(errs, field.Invalid(fldPath.Child("maxUnavailable"), maxUnavailable, "may not be 0 when `maxSurge` is 0"))
	}
	return append(errs, workload.NotMoreThan100Percent(maxUnavailable, fldPath.Child("maxUnavailable"))...)
}

// ValidateStatusUpdate checks a status written by the controller: counts
// not negative, no more updated, ready or available replicas than
// replicas, and a collision count that never goes down.
func ValidateStatusUpdate(d, old *appsv1.Deployment) field.ErrorList {
	st, fldPath := &d.Status, field.NewPath("status")
	errs := apimachineryvalidation.ValidateNonnegativeField(st.ObservedGeneration, fldPath.Child("observedGeneration"))
	errs = append(errs, nonNegative(st.Replicas, fldPath.Child("replicas"))...)
	errs = append(errs, nonNegative(st.UpdatedReplicas, fldPath.Child("updatedReplicas"))...)
	errs = append(errs, nonNegative(st.ReadyReplicas, fldPath.Child("readyReplicas"))...)
	errs = append(errs, nonNegative(st.AvailableReplicas, fldPath.Child("availableReplicas"))...)
	errs = append(errs, nonNegative(st.UnavailableReplicas, fldPath.Child("unavailableReplicas"))...)
	if st.TerminatingReplicas != nil {
		errs = append(errs, nonNegative(*st.TerminatingReplicas, fldPath.Child("terminatingReplicas"))...)
	}
	if st.CollisionCount != nil {
		errs = append(errs, nonNegative(*st.CollisionCount, fldPath.Child("collisionCount"))...)
	}
	const msg = "cannot be greater than status.replicas"
	if st.UpdatedReplicas > st.Replicas {
		errs = append(errs, field.Invalid(fldPath.Child("updatedReplicas"), st.UpdatedReplicas, msg))
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
	return append(errs, workload.CollisionCountNotDecremented(st.CollisionCount, old.Status.CollisionCount, fldPath.Child("collisionCount"))...)
}

func nonNegative(v int32, fldPath *field.Path) field.ErrorList {
	return apimachineryvalidation.ValidateNonnegativeField(int64(v), fldPath)
}

func derefIntOrString(p *intstr.IntOrString) intstr.IntOrString {
	if p == nil {
		return intstr.IntOrString{}
	}
	return *p
}
