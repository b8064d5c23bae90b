package role

import (
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/validate/content"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// ValidateName checks the name of a role, binding, cluster role or
// cluster role binding. RBAC names only have to be usable as one segment
// of a URL path (so "system:node" is fine), as upstream; a generateName
// prefix is held to the same rule.
func ValidateName(name string, _ bool) []string {
	return content.IsPathSegmentName(name)
}

// Validate checks a role's rules.
func Validate(r *rbacv1.Role) field.ErrorList {
	var errs field.ErrorList
	for i, rule := range r.Rules {
		errs = append(errs, ValidatePolicyRule(rule, true, field.NewPath("rules").Index(i))...)
	}
	return errs
}

// ValidatePolicyRule checks one rule at fldPath. A rule names verbs and
// either resources (with their API groups) or non-resource URLs, never
// both; namespaced rules (those of a Role) cannot name URLs at all.
func ValidatePolicyRule(rule rbacv1.PolicyRule, namespaced bool, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	if len(rule.Verbs) == 0 {
		errs = append(errs, field.Required(fldPath.Child("verbs"), "verbs must contain at least one value"))
	}
	if len(rule.NonResourceURLs) > 0 {
		if namespaced {
			errs = append(errs, field.Invalid(fldPath.Child("nonResourceURLs"), rule.NonResourceURLs, "namespaced rules cannot apply to non-resource URLs"))
		}
		if len(rule.APIGroups) > 0 || len(rule.Resources) > 0 || len(rule.ResourceNames) > 0 {
			errs = append(errs, field.Invalid(fldPath.Child("nonResourceURLs"), rule.NonResourceURLs, "rules cannot apply to both regular resources and non-resource URLs"))
		}
		return errs
	}
	if len(rule.APIGroups) == 0 {
		errs = append(errs, field.Required(fldPath.Child("apiGroups"), "resource rules must supply at least one api group"))
	}
	if len(rule.Resources) == 0 {
		errs = append(errs, field.Required(fldPath.Child("resources"), "resource rules must supply at least one resource"))
	}
	return errs
}
