package admission

import (
	"fmt"
	"slices"

	utilerrors "k8s.io/apimachinery/pkg/util/errors"
	"k8s.io/apimachinery/pkg/util/sets"
)

// RecommendedOrder is every admission plugin upstream knows, in the order
// kube-apiserver runs them (its AllOrderedPlugins): the webhooks, the
// policies and ResourceQuota come last.
func RecommendedOrder() []string {
	return []string{
		"AlwaysAdmit",
		"NamespaceAutoProvision",
		"NamespaceLifecycle",
		"NamespaceExists",
		"LimitPodHardAntiAffinityTopology",
		"LimitRanger",
		"ServiceAccount",
		"NodeRestriction",
		"TaintNodesByCondition",
		"AlwaysPullImages",
		"ImagePolicyWebhook",
		"PodSecurity",
		"PodNodeSelector",
		"Priority",
		"DefaultTolerationSeconds",
		"PodTolerationRestriction",
		"EventRateLimit",
		"ExtendedResourceToleration",
		"DefaultStorageClass",
		"StorageObjectInUseProtection",
		"PodGroupProtection",
		"OwnerReferencesPermissionEnforcement",
		"PersistentVolumeClaimResize",
		"RuntimeClass",
		"CertificateApproval",
		"CertificateSigning",
		"ClusterTrustBundleAttest",
		"CertificateSubjectRestriction",
		"DefaultIngressClass",
		"DenyServiceExternalIPs",
		"PodTopologyLabels",
		"PodGroupWorkloadExists",
		"NodeDeclaredFeatureValidator",
		"JobValidation",
		"PodResizeValidator",
		"MutatingAdmissionPolicy",
		"MutatingAdmissionWebhook",
		"ValidatingAdmissionPolicy",
		"ValidatingAdmissionWebhook",
		"ResourceQuota",
		"AlwaysDeny",
	}
}

// UpstreamDefaultOn are the plugins kube-apiserver runs unless disabled.
func UpstreamDefaultOn() []string {
	return []string{
		"NamespaceLifecycle",
		"LimitRanger",
		"ServiceAccount",
		"DefaultStorageClass",
		"PersistentVolumeClaimResize",
		"DefaultTolerationSeconds",
		"MutatingAdmissionWebhook",
		"ValidatingAdmissionWebhook",
		"ResourceQuota",
		"StorageObjectInUseProtection",
		"PodGroupProtection",
		"Priority",
		"TaintNodesByCondition",
		"RuntimeClass",
		"CertificateApproval",
		"CertificateSigning",
		"ClusterTrustBundleAttest",
		"CertificateSubjectRestriction",
		"DefaultIngressClass",
		"PodSecurity",
		"PodTopologyLabels",
		"MutatingAdmissionPolicy",
		"ValidatingAdmissionPolicy",
		"PodGroupWorkloadExists",
		"NodeDeclaredFeatureValidator",
		"JobValidation",
		"PodResizeValidator",
	}
}

// Select is kube-apiserver's choice of plugins: those of defaultOn that
// are not disabled, and those enabled, in RecommendedOrder. Names upstream
// does not know are refused with its messages, as is a name both enabled
// and disabled. A plugin upstream knows and implemented lacks is refused
// when enabled, unless upstream runs it by default (a configuration
// written for upstream often lists those): then it is left out with a
// warning. Disabling a plugin that is not implemented changes nothing.
func Select(implemented, defaultOn, enable, disable []string) (names, warnings []string, err error) {
	order := RecommendedOrder()
	known := sets.New(order...)
	impl := sets.New(implemented...)
	upstreamOn := sets.New(UpstreamDefaultOn()...)
	var errs []error
	for _, n := range enable {
		switch {
		case !known.Has(n):
			errs = append(errs, fmt.Errorf("enable-admission-plugins plugin %q is unknown", n))
		case !impl.Has(n) && upstreamOn.Has(n):
			warnings = append(warnings, fmt.Sprintf("admission plugin %q is not implemented by kemudi and does not run", n))
		case !impl.Has(n):
			errs = append(errs, fmt.Errorf("enable-admission-plugins plugin %q is not implemented by kemudi", n))
		}
	}
	for _, n := range disable {
		if !known.Has(n) {
			errs = append(errs, fmt.Errorf("disable-admission-plugins plugin %q is unknown", n))
		}
	}
	on, off := sets.New(enable...), sets.New(disable...)
	if both := on.Intersection(off); both.Len() > 0 {
		errs = append(errs, fmt.Errorf("%v in enable-admission-plugins and disable-admission-plugins overlapped", sets.List(both)))
	}
	if len(errs) > 0 {
		return nil, nil, utilerrors.NewAggregate(errs)
	}
	run := sets.New(defaultOn...).Difference(off).Union(on).Intersection(impl)
	for _, n := range order {
		if run.Has(n) {
			names = append(names, n)
		}
	}
	return names, warnings, nil
}

// indexIn is name's place in RecommendedOrder, -1 when upstream does
// not know it.
func indexIn(order []string, name string) int {
	return slices.Index(order, name)
}
