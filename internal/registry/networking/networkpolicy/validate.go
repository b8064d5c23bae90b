package networkpolicy

import (
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	netutils "k8s.io/utils/net"
)

// options relax checks for values an older server accepted.
type options struct {
	// allowInvalidLabelValues lets selectors keep label values that are
	// not valid (the stored pod selector already had one).
	allowInvalidLabelValues bool
	// oldCIDRs are CIDRs of the stored policy, accepted as they are.
	oldCIDRs []string
}

// Validate checks a network policy on create.
func Validate(np *networkingv1.NetworkPolicy) field.ErrorList {
	return validateSpec(&np.Spec, field.NewPath("spec"), options{})
}

// ValidateUpdate checks an update, keeping what the stored policy had.
func ValidateUpdate(np, old *networkingv1.NetworkPolicy) field.ErrorList {
	opts := options{
		allowInvalidLabelValues: len(metav1validation.ValidateLabelSelector(&old.Spec.PodSelector, metav1validation.LabelSelectorValidationOptions{}, nil)) > 0,
	}
	forEachIPBlock(&old.Spec, func(b *networkingv1.IPBlock, _ *field.Path) {
		opts.oldCIDRs = append(opts.oldCIDRs, b.CIDR)
		opts.oldCIDRs = append(opts.oldCIDRs, b.Except...)
	})
	return validateSpec(&np.Spec, field.NewPath("spec"), opts)
}

func validateSpec(spec *networkingv1.NetworkPolicySpec, path *field.Path, opts options) field.ErrorList {
	selOpts := metav1validation.LabelSelectorValidationOptions{AllowInvalidLabelValueInSelector: opts.allowInvalidLabelValues}
	errs := metav1validation.ValidateLabelSelector(&spec.PodSelector, selOpts, path.Child("podSelector"))
	for i, rule := range spec.Ingress {
		rulePath := path.Child("ingress").Index(i)
		for j := range rule.Ports {
			errs = append(errs, validatePort(&rule.Ports[j], rulePath.Child("ports").Index(j))...)
		}
		for j := range rule.From {
			errs = append(errs, validatePeer(&rule.From[j], rulePath.Child("from").Index(j), opts)...)
		}
	}
	for i, rule := range spec.Egress {
		rulePath := path.Child("egress").Index(i)
		for j := range rule.Ports {
			errs = append(errs, validatePort(&rule.Ports[j], rulePath.Child("ports").Index(j))...)
		}
		for j := range rule.To {
			errs = append(errs, validatePeer(&rule.To[j], rulePath.Child("to").Index(j), opts)...)
		}
	}
	allowed := []string{string(networkingv1.PolicyTypeIngress), string(networkingv1.PolicyTypeEgress)}
	if len(spec.PolicyTypes) > len(allowed) {
		return append(errs, field.Invalid(path.Child("policyTypes"), &spec.PolicyTypes, "may not specify more than two policyTypes"))
	}
	for i, t := range spec.PolicyTypes {
		if t != networkingv1.PolicyTypeIngress && t != networkingv1.PolicyTypeEgress {
			errs = append(errs, field.NotSupported(path.Child("policyTypes").Index(i), t, allowed))
		}
	}
	return errs
}

// validatePort: a protocol among TCP, UDP and SCTP; a port by number or
// name; endPort only after a numeric port, and not below it.
func validatePort(p *networkingv1.NetworkPolicyPort, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	if p.Protocol != nil && *p.Protocol != corev1.ProtocolTCP && *p.Protocol != corev1.ProtocolUDP && *p.Protocol != corev1.ProtocolSCTP {
		errs = append(errs, field.NotSupported(path.Child("protocol"), *p.Protocol,
			[]string{string(corev1.ProtocolTCP), string(corev1.ProtocolUDP), string(corev1.ProtocolSCTP)}))
	}
	switch {
	case p.Port == nil:
		if p.EndPort != nil {
			errs = append(errs, field.Invalid(path.Child("endPort"), *p.EndPort, "may not be specified when `port` is not specified"))
		}
	case p.Port.Type == intstr.Int:
		for _, msg := range validation.IsValidPortNum(int(p.Port.IntVal)) {
			errs = append(errs, field.Invalid(path.Child("port"), p.Port.IntVal, msg))
		}
		if p.EndPort != nil {
			if *p.EndPort < p.Port.IntVal {
				errs = append(errs, field.Invalid(path.Child("endPort"), *p.EndPort, "must be greater than or equal to `port`"))
			}
			for _, msg := range validation.IsValidPortNum(int(*p.EndPort)) {
				errs = append(errs, field.Invalid(path.Child("endPort"), *p.EndPort, msg))
			}
		}
	default:
		if p.EndPort != nil {
			errs = append(errs, field.Invalid(path.Child("endPort"), *p.EndPort, "may not be specified when `port` is non-numeric"))
		}
		for _, msg := range validation.IsValidPortName(p.Port.StrVal) {
			errs = append(errs, field.Invalid(path.Child("port"), p.Port.StrVal, msg))
		}
	}
	return errs
}

// validatePeer: a peer is pods, namespaces (or pods in namespaces), or an
// IP block alone.
func validatePeer(peer *networkingv1.NetworkPolicyPeer, path *field.Path, opts options) field.ErrorList {
	var errs field.ErrorList
	selOpts := metav1validation.LabelSelectorValidationOptions{AllowInvalidLabelValueInSelector: opts.allowInvalidLabelValues}
	n := 0
	if peer.PodSelector != nil {
		n++
		errs = append(errs, metav1validation.ValidateLabelSelector(peer.PodSelector, selOpts, path.Child("podSelector"))...)
	}
	if peer.NamespaceSelector != nil {
		n++
		errs = append(errs, metav1validation.ValidateLabelSelector(peer.NamespaceSelector, selOpts, path.Child("namespaceSelector"))...)
	}
	if peer.IPBlock != nil {
		n++
		errs = append(errs, validateIPBlock(peer.IPBlock, path.Child("ipBlock"), opts)...)
	}
	switch {
	case n == 0:
		errs = append(errs, field.Required(path, "must specify a peer"))
	case n > 1 && peer.IPBlock != nil:
		errs = append(errs, field.Forbidden(path, "may not specify both ipBlock and another peer"))
	}
	return errs
}

// validateIPBlock: a CIDR, and exceptions strictly inside it.
func validateIPBlock(b *networkingv1.IPBlock, path *field.Path, opts options) field.ErrorList {
	if b.CIDR == "" {
		return field.ErrorList{field.Required(path.Child("cidr"), "")}
	}
	errs := validation.IsValidCIDRForLegacyField(path.Child("cidr"), b.CIDR, true, opts.oldCIDRs)
	_, cidr, err := netutils.ParseCIDRSloppy(b.CIDR)
	if err != nil {
		return errs
	}
	cidrBits, _ := cidr.Mask.Size()
	for i, except := range b.Except {
		exceptPath := path.Child("except").Index(i)
		errs = append(errs, validation.IsValidCIDRForLegacyField(exceptPath, except, true, opts.oldCIDRs)...)
		_, ex, err := netutils.ParseCIDRSloppy(except)
		if err != nil {
			continue
		}
		exBits, _ := ex.Mask.Size()
		if !cidr.Contains(ex.IP) || cidrBits >= exBits {
			errs = append(errs, field.Invalid(exceptPath, except, "must be a strict subset of `cidr`"))
		}
	}
	return errs
}

// Warnings flags CIDRs written in forms that are valid but misleading
// (leading zeros, host bits set), as upstream.
func Warnings(np *networkingv1.NetworkPolicy) []string {
	var out []string
	forEachIPBlock(&np.Spec, func(b *networkingv1.IPBlock, path *field.Path) {
		out = append(out, validation.GetWarningsForCIDR(path.Child("cidr"), b.CIDR)...)
		for k, except := range b.Except {
			out = append(out, validation.GetWarningsForCIDR(path.Child("except").Index(k), except)...)
		}
	})
	return out
}

func forEachIPBlock(spec *networkingv1.NetworkPolicySpec, fn func(*networkingv1.IPBlock, *field.Path)) {
	for i, rule := range spec.Ingress {
		for j, peer := range rule.From {
			if peer.IPBlock != nil {
				fn(peer.IPBlock, field.NewPath("spec", "ingress").Index(i).Child("from").Index(j).Child("ipBlock"))
			}
		}
	}
	for i, rule := range spec.Egress {
		for j, peer := range rule.To {
			if peer.IPBlock != nil {
				fn(peer.IPBlock, field.NewPath("spec", "egress").Index(i).Child("to").Index(j).Child("ipBlock"))
			}
		}
	}
}
