package poddisruptionbudget

import (
	"slices"

	policyv1 "k8s.io/api/policy/v1"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/kemudi/kemudi/internal/registry/apps/workload"
)

var evictionPolicies = []policyv1.UnhealthyPodEvictionPolicyType{policyv1.AlwaysAllow, policyv1.IfHealthyBudget}

// Validate checks a budget on create.
func Validate(pdb *policyv1.PodDisruptionBudget) field.ErrorList {
	return validateSpec(&pdb.Spec, false, field.NewPath("spec"))
}

// ValidateUpdate checks an update. Every field may change; a selector
// stored before label values were checked stays accepted.
func ValidateUpdate(pdb, old *policyv1.PodDisruptionBudget) field.ErrorList {
	invalidBefore := old.Spec.Selector != nil &&
		len(metav1validation.ValidateLabelSelector(old.Spec.Selector, metav1validation.LabelSelectorValidationOptions{}, nil)) > 0
	return validateSpec(&pdb.Spec, invalidBefore, field.NewPath("spec"))
}

// validateSpec checks the budget: at most one of minAvailable and
// maxUnavailable, each a count or a percentage up to 100%, a well-formed
// selector and a known unhealthy pod eviction policy.
func validateSpec(spec *policyv1.PodDisruptionBudgetSpec, allowInvalidLabelValue bool, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	if spec.MinAvailable != nil && spec.MaxUnavailable != nil {
		errs = append(errs, field.Invalid(fldPath, spec, "minAvailable and maxUnavailable cannot be both set"))
	}
	if spec.MinAvailable != nil {
		errs = append(errs, workload.ValidateIntOrPercent(*spec.MinAvailable, fldPath.Child("minAvailable"))...)
		errs = append(errs, workload.NotMoreThan100Percent(*spec.MinAvailable, fldPath.Child("minAvailable"))...)
	}
	if spec.MaxUnavailable != nil {
		errs = append(errs, workload.ValidateIntOrPercent(*spec.MaxUnavailable, fldPath.Child("maxUnavailable"))...)
		errs = append(errs, workload.NotMoreThan100Percent(*spec.MaxUnavailable, fldPath.Child("maxUnavailable"))...)
	}
	opts := metav1validation.LabelSelectorValidationOptions{AllowInvalidLabelValueInSelector: allowInvalidLabelValue}
	errs = append(errs, metav1validation.ValidateLabelSelector(spec.Selector, opts, fldPath.Child("selector"))...)
	if p := spec.UnhealthyPodEvictionPolicy; p != nil && !slices.Contains(evictionPolicies, *p) {
		errs = append(errs, field.NotSupported(fldPath.Child("unhealthyPodEvictionPolicy"), *p, evictionPolicies))
	}
	return errs
}

// ValidateStatus checks the disruption controller's status: well-formed
// conditions and counts that are not negative.
func ValidateStatus(st *policyv1.PodDisruptionBudgetStatus, fldPath *field.Path) field.ErrorList {
	errs := metav1validation.ValidateConditions(st.Conditions, fldPath.Child("conditions"))
	for _, c := range []struct {
		name  string
		value int32
	}{
		{"disruptionsAllowed", st.DisruptionsAllowed}, {"currentHealthy", st.CurrentHealthy},
		{"desiredHealthy", st.DesiredHealthy}, {"expectedPods", st.ExpectedPods},
	} {
		errs = append(errs, apimachineryvalidation.ValidateNonnegativeField(int64(c.value), fldPath.Child(c.name))...)
	}
	return errs
}
