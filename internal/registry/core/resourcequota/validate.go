package resourcequota

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Validate checks a quota's spec: resource names and amounts, and that its
// scopes (listed or selected) fit the resources it limits.
func Validate(q *corev1.ResourceQuota) field.ErrorList {
	spec := field.NewPath("spec")
	errs := validateList(q.Spec.Hard, spec.Child("hard"))
	errs = append(errs, validateScopes(&q.Spec, spec)...)
	if q.Spec.ScopeSelector != nil {
		errs = append(errs, validateScopeSelector(&q.Spec, spec.Child("scopeSelector"))...)
	}
	return errs
}

// ValidateUpdate is Validate plus the rule that scopes never change.
func ValidateUpdate(q, old *corev1.ResourceQuota) field.ErrorList {
	errs := Validate(q)
	if !sameScopes(q.Spec.Scopes, old.Spec.Scopes) {
		errs = append(errs, field.Invalid(field.NewPath("spec", "scopes"), q.Spec.Scopes, apimachineryvalidation.FieldImmutableErrorMsg))
	}
	return errs
}

// ValidateStatus checks the hard and used amounts the quota controller
// reports.
func ValidateStatus(q *corev1.ResourceQuota) field.ErrorList {
	status := field.NewPath("status")
	errs := validateList(q.Status.Hard, status.Child("hard"))
	return append(errs, validateList(q.Status.Used, status.Child("used"))...)
}

func validateList(list corev1.ResourceList, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	for _, name := range sortedNames(list) {
		p := fldPath.Key(string(name))
		errs = append(errs, validateQuotaResourceName(name, p)...)
		errs = append(errs, ValidateResourceQuantityValue(name, list[name], p)...)
	}
	return errs
}

// podScopeResources are what the pod scopes can limit; BestEffort pods
// request nothing, so that scope limits the pod count only.
var podScopeResources = map[corev1.ResourceName]bool{
	corev1.ResourcePods: true,
	corev1.ResourceCPU:  true, corev1.ResourceMemory: true,
	corev1.ResourceLimitsCPU: true, corev1.ResourceLimitsMemory: true,
	corev1.ResourceRequestsCPU: true, corev1.ResourceRequestsMemory: true,
}

func isStandardScope(s corev1.ResourceQuotaScope) bool {
	switch s {
	case corev1.ResourceQuotaScopeTerminating, corev1.ResourceQuotaScopeNotTerminating,
		corev1.ResourceQuotaScopeBestEffort, corev1.ResourceQuotaScopeNotBestEffort,
		corev1.ResourceQuotaScopePriorityClass, corev1.ResourceQuotaScopeVolumeAttributesClass,
		corev1.ResourceQuotaScopeCrossNamespacePodAffinity:
		return true
	}
	return false
}

// scopeFits reports whether a quota scoped by s may limit resource name.
func scopeFits(s corev1.ResourceQuotaScope, name corev1.ResourceName) bool {
	switch s {
	case corev1.ResourceQuotaScopeTerminating, corev1.ResourceQuotaScopeNotTerminating, corev1.ResourceQuotaScopeNotBestEffort,
		corev1.ResourceQuotaScopePriorityClass, corev1.ResourceQuotaScopeCrossNamespacePodAffinity:
		return podScopeResources[name]
	case corev1.ResourceQuotaScopeBestEffort:
		return name == corev1.ResourcePods
	case corev1.ResourceQuotaScopeVolumeAttributesClass:
		return name == corev1.ResourcePersistentVolumeClaims || name == corev1.ResourceRequestsStorage
	}
	return true
}

// conflictingScopes are pairs no quota may hold both of.
var conflictingScopes = [][2]corev1.ResourceQuotaScope{
	{corev1.ResourceQuotaScopeBestEffort, corev1.ResourceQuotaScopeNotBestEffort},
	{corev1.ResourceQuotaScopeTerminating, corev1.ResourceQuotaScopeNotTerminating},
}

func validateScopes(spec *corev1.ResourceQuotaSpec, fldPath *field.Path) field.ErrorList {
	if len(spec.Scopes) == 0 {
		return nil
	}
	var errs field.ErrorList
	p := fldPath.Child("scopes")
	seen := map[corev1.ResourceQuotaScope]bool{}
	for _, s := range spec.Scopes {
		if !isStandardScope(s) {
			errs = append(errs, field.Invalid(p, spec.Scopes, "unsupported scope"))
		}
		for _, name := range sortedNames(spec.Hard) {
			if isStandardQuotaResource(name) && !scopeFits(s, name) {
				errs = append(errs, field.Invalid(p, spec.Scopes, "unsupported scope applied to resource"))
			}
		}
		seen[s] = true
	}
	for _, pair := range conflictingScopes {
		if seen[pair[0]] && seen[pair[1]] {
			errs = append(errs, field.Invalid(p, spec.Scopes, "conflicting scopes"))
		}
	}
	return errs
}

func validateScopeSelector(spec *corev1.ResourceQuotaSpec, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	// Upstream reports scopeName and operator below matchExpressions
	// without the index of the expression.
	p := fldPath.Child("matchExpressions")
	seen := map[corev1.ResourceQuotaScope]bool{}
	for _, req := range spec.ScopeSelector.MatchExpressions {
		if !isStandardScope(req.ScopeName) {
			errs = append(errs, field.Invalid(p.Child("scopeName"), req.ScopeName, "unsupported scope"))
		}
		for _, name := range sortedNames(spec.Hard) {
			if isStandardQuotaResource(name) && !scopeFits(req.ScopeName, name) {
				errs = append(errs, field.Invalid(p, spec.ScopeSelector, "unsupported scope applied to resource"))
			}
		}
		switch req.ScopeName {
		case corev1.ResourceQuotaScopeBestEffort, corev1.ResourceQuotaScopeNotBestEffort,
			corev1.ResourceQuotaScopeTerminating, corev1.ResourceQuotaScopeNotTerminating,
			corev1.ResourceQuotaScopeCrossNamespacePodAffinity:
			if req.Operator != corev1.ScopeSelectorOpExists {
				errs = append(errs, field.Invalid(p.Child("operator"), req.Operator,
					"must be 'Exists' when scope is any of ResourceQuotaScopeTerminating, ResourceQuotaScopeNotTerminating, ResourceQuotaScopeBestEffort, ResourceQuotaScopeNotBestEffort or ResourceQuotaScopeCrossNamespacePodAffinity"))
			}
		}
		switch req.Operator {
		case corev1.ScopeSelectorOpIn, corev1.ScopeSelectorOpNotIn:
			if len(req.Values) == 0 {
				errs = append(errs, field.Required(p.Child("values"), "must be at least one value when `operator` is 'In' or 'NotIn' for scope selector"))
			}
		case corev1.ScopeSelectorOpExists, corev1.ScopeSelectorOpDoesNotExist:
			if len(req.Values) != 0 {
				errs = append(errs, field.Invalid(p.Child("values"), req.Values, "must be no value when `operator` is 'Exist' or 'DoesNotExist' for scope selector"))
			}
		default:
			errs = append(errs, field.Invalid(p.Child("operator"), req.Operator, "not a valid selector operator"))
		}
		seen[req.ScopeName] = true
	}
	for _, pair := range conflictingScopes {
		if seen[pair[0]] && seen[pair[1]] {
			errs = append(errs, field.Invalid(p, spec.Scopes, "conflicting scopes"))
		}
	}
	return errs
}

func sameScopes(a, b []corev1.ResourceQuotaScope) bool {
	set := func(l []corev1.ResourceQuotaScope) map[corev1.ResourceQuotaScope]bool {
		m := map[corev1.ResourceQuotaScope]bool{}
		for _, s := range l {
			m[s] = true
		}
		return m
	}
	sa, sb := set(a), set(b)
	if len(sa) != len(sb) {
		return false
	}
	for s := range sa {
		if !sb[s] {
			return false
		}
	}
	return true
}

// Warnings flags a request quota above the matching limit quota (cpu,
// memory, storage, ephemeral-storage); plain cpu and memory count as
// requests.
func Warnings(q *corev1.ResourceQuota) []string {
	var warnings []string
	for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory, corev1.ResourceStorage, corev1.ResourceEphemeralStorage} {
		reqName := corev1.ResourceName("requests." + string(r))
		req, hasReq := q.Spec.Hard[reqName]
		if !hasReq && (r == corev1.ResourceCPU || r == corev1.ResourceMemory) {
			if req, hasReq = q.Spec.Hard[r]; hasReq {
				reqName = r
			}
		}
		limName := corev1.ResourceName("limits." + string(r))
		lim, hasLim := q.Spec.Hard[limName]
		if hasReq && hasLim && req.Cmp(lim) > 0 {
			warnings = append(warnings, fmt.Sprintf("ResourceQuota %s (%s) should be less than %s (%s)", reqName, req.String(), limName, lim.String()))
		}
	}
	return warnings
}

// sortedNames lists a resource list's names in order, so errors come out
// in a stable order.
func sortedNames(list corev1.ResourceList) []corev1.ResourceName {
	return sets.List(sets.KeySet(list))
}
