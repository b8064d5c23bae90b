package daemonset

import (
	appsv1 "k8s.io/api/apps/v1"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/kemudi/kemudi/internal/registry/apps/workload"
	"github.com/kemudi/kemudi/internal/registry/core/podspec"
)

// Validate checks a daemon set on create.
func Validate(ds *appsv1.DaemonSet) field.ErrorList {
	return validateSpec(&ds.Spec, field.NewPath("spec"), false)
}

// ValidateUpdate checks an update: the new spec and an unchanged selector
// (which keeps any expression values older servers accepted).
func ValidateUpdate(ds, old *appsv1.DaemonSet) field.ErrorList {
	errs := apimachineryvalidation.ValidateImmutableField(ds.Spec.Selector, old.Spec.Selector, field.NewPath("spec", "selector"))
	return append(errs, validateSpec(&ds.Spec, field.NewPath("spec"), metav1validation.LabelSelectorHasInvalidLabelValue(old.Spec.Selector))...)
}

func validateSpec(spec *appsv1.DaemonSetSpec, fldPath *field.Path, allowInvalidLabelValue bool) field.ErrorList {
	// Unlike the other workloads, a missing selector is reported only as
	// one that does not match the template.
	opts := metav1validation.LabelSelectorValidationOptions{AllowInvalidLabelValueInSelector: allowInvalidLabelValue}
	errs := metav1validation.ValidateLabelSelector(spec.Selector, opts, fldPath.Child("selector"))
	if selector, err := metav1.LabelSelectorAsSelector(spec.Selector); err == nil {
		errs = append(errs, podspec.ValidateSelectorMatchesTemplate(selector, &spec.Template, fldPath.Child("template"))...)
	}
	if spec.Selector != nil && len(spec.Selector.MatchLabels)+len(spec.Selector.MatchExpressions) == 0 {
		errs = append(errs, field.Invalid(fldPath.Child("selector"), spec.Selector, "empty selector is invalid for daemonset"))
	}
	errs = append(errs, podspec.ValidatePodTemplateSpec(&spec.Template, fldPath.Child("template"))...)
	errs = append(errs, podspec.ValidateLongRunningTemplate(&spec.Template, fldPath.Child("template"), "DaemonSet")...)
	errs = append(errs, nonNegative(spec.MinReadySeconds, fldPath.Child("minReadySeconds"))...)
	errs = append(errs, validateUpdateStrategy(&spec.UpdateStrategy, fldPath.Child("updateStrategy"))...)
	if spec.RevisionHistoryLimit != nil {
		errs = append(errs, nonNegative(*spec.RevisionHistoryLimit, fldPath.Child("revisionHistoryLimit"))...)
	}
	return errs
}

func validateUpdateStrategy(s *appsv1.DaemonSetUpdateStrategy, fldPath *field.Path) field.ErrorList {
	switch s.Type {
	case appsv1.OnDeleteDaemonSetStrategyType:
		return nil
	case appsv1.RollingUpdateDaemonSetStrategyType:
		if s.RollingUpdate == nil {
			return field.ErrorList{field.Required(fldPath.Child("rollingUpdate"), "")}
		}
		return validateRollingUpdate(s.RollingUpdate, fldPath.Child("rollingUpdate"))
	}
	return field.ErrorList{field.NotSupported(fldPath, s, []appsv1.DaemonSetUpdateStrategyType{appsv1.RollingUpdateDaemonSetStrategyType, appsv1.OnDeleteDaemonSetStrategyType})}
}

// validateRollingUpdate checks that exactly one of maxUnavailable and
// maxSurge is non-zero: a node either loses its pod before the new one
// starts, or runs both for a while.
func validateRollingUpdate(ru *appsv1.RollingUpdateDaemonSet, fldPath *field.Path) field.ErrorList {
	maxUnavailable, maxSurge := zeroIfNil(ru.MaxUnavailable), zeroIfNil(ru.MaxSurge)
	unavailablePath, surgePath := fldPath.Child("maxUnavailable"), fldPath.Child("maxSurge")
	errs := workload.ValidateIntOrPercent(maxUnavailable, unavailablePath)
	errs = append(errs, workload.ValidateIntOrPercent(maxSurge, surgePath)...)
	errs = append(errs, workload.NotMoreThan100Percent(maxUnavailable, unavailablePath)...)
	errs = append(errs, workload.NotMoreThan100Percent(maxSurge, surgePath)...)
	hasUnavailable := workload.IntOrPercentValue(maxUnavailable) != 0
	hasSurge := workload.IntOrPercentValue(maxSurge) != 0
	switch {
	case hasUnavailable && hasSurge:
		errs = append(errs, field.Invalid(surgePath, maxSurge, "may not be set when maxUnavailable is non-zero"))
	case !hasUnavailable && !hasSurge:
		errs = append(errs, field.Required(unavailablePath, "cannot be 0 when maxSurge is 0"))
	}
	return errs
}

// ValidateStatusUpdate checks the counts the daemon set controller
// reports and that the collision count never goes down.
func ValidateStatusUpdate(ds, old *appsv1.DaemonSet) field.ErrorList {
	st, fldPath := &ds.Status, field.NewPath("status")
	var errs field.ErrorList
	for _, c := range []struct {
		name  string
		value int32
	}{
		{"currentNumberScheduled", st.CurrentNumberScheduled}, {"numberMisscheduled", st.NumberMisscheduled},
		{"desiredNumberScheduled", st.DesiredNumberScheduled}, {"numberReady", st.NumberReady},
	} {
		errs = append(errs, nonNegative(c.value, fldPath.Child(c.name))...)
	}
	errs = append(errs, apimachineryvalidation.ValidateNonnegativeField(st.ObservedGeneration, fldPath.Child("observedGeneration"))...)
	for _, c := range []struct {
		name  string
		value int32
	}{
		{"updatedNumberScheduled", st.UpdatedNumberScheduled}, {"numberAvailable", st.NumberAvailable}, {"numberUnavailable", st.NumberUnavailable},
	} {
		errs = append(errs, nonNegative(c.value, fldPath.Child(c.name))...)
	}
	if st.CollisionCount != nil {
		errs = append(errs, nonNegative(*st.CollisionCount, fldPath.Child("collisionCount"))...)
	}
	return append(errs, workload.CollisionCountNotDecremented(st.CollisionCount, old.Status.CollisionCount, fldPath.Child("collisionCount"))...)
}

func nonNegative(v int32, fldPath *field.Path) field.ErrorList {
	return apimachineryvalidation.ValidateNonnegativeField(int64(v), fldPath)
}

func zeroIfNil(p *intstr.IntOrString) intstr.IntOrString {
	if p == nil {
		return intstr.IntOrString{}
	}
	return *p
}
