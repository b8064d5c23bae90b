package clusterrole

import (
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/kemudi/kemudi/internal/registry/rbac/role"
)

// Validate checks a cluster role's rules and aggregation rule. When
// allowInvalidLabelValues is true, selector values that are not valid
// label values pass (kept for objects stored before that was checked).
func Validate(cr *rbacv1.ClusterRole, allowInvalidLabelValues bool) field.ErrorList {
	var errs field.ErrorList
	for i, rule := range cr.Rules {
		errs = append(errs, role.ValidatePolicyRule(rule, false, field.NewPath("rules").Index(i))...)
	}
	if cr.AggregationRule != nil {
		path := field.NewPath("aggregationRule", "clusterRoleSelectors")
		if len(cr.AggregationRule.ClusterRoleSelectors) == 0 {
			errs = append(errs, field.Required(path, "at least one clusterRoleSelector required if aggregationRule is non-nil"))
		}
		opts := metav1validation.LabelSelectorValidationOptions{AllowInvalidLabelValueInSelector: allowInvalidLabelValues}
		for i := range cr.AggregationRule.ClusterRoleSelectors {
			sel := &cr.AggregationRule.ClusterRoleSelectors[i]
			errs = append(errs, metav1validation.ValidateLabelSelector(sel, opts, path.Index(i))...)
			if _, err := metav1.LabelSelectorAsSelector(sel); err != nil {
				errs = append(errs, field.Invalid(path.Index(i), sel, "invalid label selector."))
			}
		}
	}
	return errs
}

// ValidateUpdate checks an update. Selector values that were already
// invalid in the stored object stay allowed, so that such a role can
// still be edited.
func ValidateUpdate(cr, old *rbacv1.ClusterRole) field.ErrorList {
	return Validate(cr, hasInvalidSelectorValue(old))
}

func hasInvalidSelectorValue(cr *rbacv1.ClusterRole) bool {
	if cr.AggregationRule == nil {
		return false
	}
	for i := range cr.AggregationRule.ClusterRoleSelectors {
		if len(metav1validation.ValidateLabelSelector(&cr.AggregationRule.ClusterRoleSelectors[i], metav1validation.LabelSelectorValidationOptions{}, nil)) > 0 {
			return true
		}
	}
	return false
}
