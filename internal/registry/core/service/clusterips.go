package service

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

var (
	clusterIPsPath     = field.NewPath("spec", "clusterIPs")
	ipFamiliesPath     = field.NewPath("spec", "ipFamilies")
	ipFamilyPolicyPath = field.NewPath("spec", "ipFamilyPolicy")
)

// validateClusterIPFields checks clusterIP, clusterIPs, ipFamilies and
// ipFamilyPolicy: consistent with one another, and possible on this
// cluster's service network.
func validateClusterIPFields(svc, old *corev1.Service) field.ErrorList {
	if svc.Spec.Type == corev1.ServiceTypeExternalName {
		return nil // all must be unset, checked by the caller
	}
	errs := validateClusterIPsConsistent(svc, old)
	if len(errs) > 0 {
		return errs
	}
	return validateClusterSupport(svc, old)
}

func validateClusterIPsConsistent(svc, old *corev1.Service) field.ErrorList {
	var errs field.ErrorList
	spec := &svc.Spec
	if spec.ClusterIP != "" {
		if len(spec.ClusterIPs) == 0 {
			errs = append(errs, field.Required(clusterIPsPath, ""))
		} else if spec.ClusterIPs[0] != spec.ClusterIP {
			errs = append(errs, field.Invalid(clusterIPsPath, spec.ClusterIPs, "first value must match `clusterIP`"))
		}
	} else if len(spec.ClusterIPs) != 0 {
		errs = append(errs, field.Invalid(clusterIPsPath, spec.ClusterIPs, "must be empty when `clusterIP` is not specified"))
	}

	seen := map[corev1.IPFamily]bool{}
	for i, f := range spec.IPFamilies {
		if f != corev1.IPv4Protocol && f != corev1.IPv6Protocol {
			errs = append(errs, field.NotSupported(ipFamiliesPath.Index(i), f, []string{string(corev1.IPv4Protocol), string(corev1.IPv6Protocol)}))
		}
		if seen[f] {
			errs = append(errs, field.Duplicate(ipFamiliesPath.Index(i), f))
		}
		seen[f] = true
	}
	if p := spec.IPFamilyPolicy; p != nil {
		switch *p {
		case corev1.IPFamilyPolicySingleStack, corev1.IPFamilyPolicyPreferDualStack, corev1.IPFamilyPolicyRequireDualStack:
		default:
			errs = append(errs, field.NotSupported(ipFamilyPolicyPath, p, []string{
				string(corev1.IPFamilyPolicyPreferDualStack), string(corev1.IPFamilyPolicyRequireDualStack), string(corev1.IPFamilyPolicySingleStack)}))
		}
	}

	var existing []string
	if old != nil {
		existing = old.Spec.ClusterIPs
	}
	badIPs := false
	for i, ip := range spec.ClusterIPs {
		if i == 0 && ip == corev1.ClusterIPNone {
			if len(spec.ClusterIPs) > 1 {
				badIPs = true
				errs = append(errs, field.Invalid(clusterIPsPath, spec.ClusterIPs, "'None' must be the first and only value"))
			}
			continue
		}
		e := validation.IsValidIPForLegacyField(clusterIPsPath.Index(i), ip, true, existing)
		badIPs = badIPs || len(e) > 0
		errs = append(errs, e...)
	}
	if len(spec.ClusterIPs) > 2 {
		errs = append(errs, field.Invalid(clusterIPsPath, spec.ClusterIPs, "may only hold up to 2 values"))
	}
	if badIPs {
		return errs
	}
	if len(spec.ClusterIPs) > 1 {
		// One IP of each family, at most.
		if len(spec.ClusterIPs) != 2 || familyOf(spec.ClusterIPs[0]) == familyOf(spec.ClusterIPs[1]) {
			errs = append(errs, field.Invalid(clusterIPsPath, spec.ClusterIPs, "may specify no more than one IP for each IP family"))
		}
	}
	if !isHeadless(svc) {
		for i, ip := range spec.ClusterIPs {
			if i >= len(spec.IPFamilies) {
				break
			}
			isV6 := familyOf(ip) == corev1.IPv6Protocol
			if spec.IPFamilies[i] == corev1.IPv4Protocol && isV6 {
				errs = append(errs, field.Invalid(clusterIPsPath.Index(i), ip, fmt.Sprintf("expected an IPv4 value as indicated by `ipFamilies[%v]`", i)))
			}
			if spec.IPFamilies[i] == corev1.IPv6Protocol && !isV6 {
				errs = append(errs, field.Invalid(clusterIPsPath.Index(i), ip, fmt.Sprintf("expected an IPv6 value as indicated by `ipFamilies[%v]`", i)))
			}
		}
	}
	return errs
}

// validateClusterSupport refuses what the cluster's (single-stack IPv4)
// service network cannot give, as upstream's allocator does: a second
// cluster IP or family with SingleStack, a released secondary without
// SingleStack, dual-stack, and IPv6.
func validateClusterSupport(svc, old *corev1.Service) field.ErrorList {
	if matchingPreferDualStack(svc, old) {
		return nil
	}
	var errs field.ErrorList
	spec := &svc.Spec
	policy := policyOf(svc)
	if old != nil && policy != corev1.IPFamilyPolicySingleStack {
		if len(spec.ClusterIPs) > 0 && len(spec.ClusterIPs) < len(old.Spec.ClusterIPs) {
			errs = append(errs, field.Invalid(ipFamilyPolicyPath, spec.IPFamilyPolicy, "must be 'SingleStack' to release the secondary cluster IP"))
		}
		if len(spec.IPFamilies) > 0 && len(spec.IPFamilies) < len(old.Spec.IPFamilies) {
			errs = append(errs, field.Invalid(ipFamilyPolicyPath, spec.IPFamilyPolicy, "must be 'SingleStack' to release the secondary IP family"))
		}
	}
	if policy == corev1.IPFamilyPolicySingleStack {
		if len(spec.ClusterIPs) == 2 {
			errs = append(errs, field.Invalid(ipFamilyPolicyPath, spec.IPFamilyPolicy, "must be 'RequireDualStack' or 'PreferDualStack' when multiple cluster IPs are specified"))
		}
		if len(spec.IPFamilies) == 2 {
			errs = append(errs, field.Invalid(ipFamilyPolicyPath, spec.IPFamilyPolicy, "must be 'RequireDualStack' or 'PreferDualStack' when multiple IP families are specified"))
		}
	}
	for i, ip := range spec.ClusterIPs {
		if ip == corev1.ClusterIPNone {
			break
		}
		if f := familyOf(ip); i >= len(spec.IPFamilies) && !familyConfigured(f) {
			errs = append(errs, field.Invalid(clusterIPsPath.Index(i), spec.ClusterIPs, fmt.Sprintf("%s is not configured on this cluster", f)))
		}
	}
	if len(errs) > 0 || (spec.ClusterIP == corev1.ClusterIPNone && len(spec.Selector) == 0) {
		return errs
	}
	if policy == corev1.IPFamilyPolicyRequireDualStack {
		errs = append(errs, field.Invalid(ipFamilyPolicyPath, spec.IPFamilyPolicy, "this cluster is not configured for dual-stack services"))
	}
	for i, f := range spec.IPFamilies {
		if !familyConfigured(f) {
			errs = append(errs, field.Invalid(ipFamiliesPath.Index(i), f, "not configured on this cluster"))
		}
	}
	return errs
}

// validateClusterIPsChange allows adding or releasing the secondary
// cluster IP, nothing else, except to, from or between headless and
// ExternalName services.
func validateClusterIPsChange(old, svc *corev1.Service) field.ErrorList {
	if svc.Spec.Type == corev1.ServiceTypeExternalName || old.Spec.Type == corev1.ServiceTypeExternalName {
		return nil
	}
	if isHeadless(old) && isHeadless(svc) {
		return nil
	}
	var errs field.ErrorList
	oldIPs, ips := old.Spec.ClusterIPs, svc.Spec.ClusterIPs
	switch {
	case len(oldIPs) == len(ips):
		for i, ip := range oldIPs {
			if ip != ips[i] {
				errs = append(errs, field.Invalid(clusterIPsPath.Index(i), ips, "may not change once set"))
			}
		}
	case len(oldIPs) > len(ips):
		if len(ips) == 0 {
			errs = append(errs, field.Invalid(clusterIPsPath.Index(0), ips, "primary clusterIP can not be unset"))
		}
		if len(ips) > 0 && ips[0] != oldIPs[0] {
			errs = append(errs, field.Invalid(clusterIPsPath.Index(0), ips, "may not change once set"))
		}
		if len(ips) == 1 && policyOf(svc) != corev1.IPFamilyPolicySingleStack {
			errs = append(errs, field.Invalid(ipFamilyPolicyPath, svc.Spec.IPFamilyPolicy, "must be set to 'SingleStack' when releasing the secondary clusterIP"))
		}
	default:
		if len(oldIPs) > 0 && ips[0] != oldIPs[0] {
			errs = append(errs, field.Invalid(clusterIPsPath.Index(0), ips, "may not change once set"))
		}
	}
	return errs
}

// validateIPFamiliesChange is validateClusterIPsChange for ipFamilies;
// headless services may change families freely.
func validateIPFamiliesChange(old, svc *corev1.Service) field.ErrorList {
	if svc.Spec.Type == corev1.ServiceTypeExternalName || old.Spec.Type == corev1.ServiceTypeExternalName {
		return nil
	}
	if isHeadless(old) || isHeadless(svc) {
		return nil
	}
	var errs field.ErrorList
	oldF, f := old.Spec.IPFamilies, svc.Spec.IPFamilies
	switch {
	case len(oldF) == len(f):
		for i := range oldF {
			if oldF[i] != f[i] {
				errs = append(errs, field.Invalid(ipFamiliesPath.Index(0), f, "may not change once set"))
			}
		}
	case len(oldF) > len(f):
		if len(svc.Spec.ClusterIPs) == 0 {
			errs = append(errs, field.Invalid(ipFamiliesPath.Index(0), f, "primary ipFamily can not be unset"))
		}
		if len(f) > 0 && f[0] != oldF[0] {
			errs = append(errs, field.Invalid(ipFamiliesPath.Index(0), svc.Spec.ClusterIPs, "may not change once set"))
		}
		if len(f) == 1 && policyOf(svc) != corev1.IPFamilyPolicySingleStack {
			errs = append(errs, field.Invalid(ipFamilyPolicyPath, svc.Spec.IPFamilyPolicy, "must be set to 'SingleStack' when releasing the secondary ipFamily"))
		}
	default:
		if len(oldF) > 0 && len(f) > 0 && f[0] != oldF[0] {
			errs = append(errs, field.Invalid(ipFamiliesPath.Index(0), svc.Spec.ClusterIPs, "may not change once set"))
		}
	}
	return errs
}
