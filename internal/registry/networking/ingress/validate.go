package ingress

import (
	"fmt"
	"strings"

	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/validate/content"
	namevalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	netutils "k8s.io/utils/net"
)

// ClassAnnotation is the deprecated way of choosing an ingress class.
const ClassAnnotation = "kubernetes.io/ingress.class"

var supportedPathTypes = []string{
	string(networkingv1.PathTypeExact),
	string(networkingv1.PathTypeImplementationSpecific),
	string(networkingv1.PathTypePrefix),
}

// options relax checks that older servers did not make, so that objects
// stored then can still be updated.
type options struct {
	allowInvalidSecretName       bool
	allowInvalidWildcardHostRule bool
}

// Validate checks an ingress on create. A class chosen both by the old
// annotation and by ingressClassName must be the same class.
func Validate(ing *networkingv1.Ingress) field.ErrorList {
	errs := validateSpec(&ing.Spec, field.NewPath("spec"), options{})
	if v, ok := ing.Annotations[ClassAnnotation]; ok && ing.Spec.IngressClassName != nil && v != *ing.Spec.IngressClassName {
		// The path is upstream's: "annotations", not "metadata.annotations".
		errs = append(errs, field.Invalid(field.NewPath("annotations").Child(ClassAnnotation), v, "must match `ingressClassName` when both are specified"))
	}
	return errs
}

// ValidateUpdate checks an update, tolerating the invalid TLS secret
// names and wildcard-host rules the stored object already had.
func ValidateUpdate(ing, old *networkingv1.Ingress) field.ErrorList {
	opts := options{
		allowInvalidSecretName:       hasInvalidSecretName(old),
		allowInvalidWildcardHostRule: hasInvalidWildcardHostRule(old),
	}
	return validateSpec(&ing.Spec, field.NewPath("spec"), opts)
}

// Warnings: the class annotation is deprecated in favour of the field.
func Warnings(ing *networkingv1.Ingress) []string {
	if _, ok := ing.Annotations[ClassAnnotation]; ok && ing.Spec.IngressClassName == nil {
		return []string{fmt.Sprintf("annotation %q is deprecated, please use 'spec.ingressClassName' instead", ClassAnnotation)}
	}
	return nil
}

func validateSpec(spec *networkingv1.IngressSpec, path *field.Path, opts options) field.ErrorList {
	var errs field.ErrorList
	if len(spec.Rules) == 0 && spec.DefaultBackend == nil {
		errs = append(errs, field.Invalid(path, spec.Rules, "either `defaultBackend` or `rules` must be specified"))
	}
	if spec.DefaultBackend != nil {
		errs = append(errs, validateBackend(spec.DefaultBackend, path.Child("defaultBackend"))...)
	}
	for i := range spec.Rules {
		errs = append(errs, validateRule(&spec.Rules[i], path.Child("rules").Index(i), opts)...)
	}
	for i, tls := range spec.TLS {
		tlsPath := path.Child("tls").Index(i)
		for j, host := range tls.Hosts {
			errs = append(errs, validateHost(host, tlsPath.Child("hosts").Index(j))...)
		}
		if !opts.allowInvalidSecretName && tls.SecretName != "" {
			for _, msg := range namevalidation.NameIsDNSSubdomain(tls.SecretName, false) {
				errs = append(errs, field.Invalid(tlsPath.Child("secretName"), tls.SecretName, msg))
			}
		}
	}
	if spec.IngressClassName != nil {
		for _, msg := range namevalidation.NameIsDNSSubdomain(*spec.IngressClassName, false) {
			errs = append(errs, field.Invalid(path.Child("ingressClassName"), *spec.IngressClassName, msg))
		}
	}
	return errs
}

// validateHost checks a host name, which may start with a "*." wildcard.
func validateHost(host string, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	check := validation.IsDNS1123Subdomain
	if strings.Contains(host, "*") {
		check = validation.IsWildcardDNS1123Subdomain
	}
	for _, msg := range check(host) {
		errs = append(errs, field.Invalid(path, host, msg))
	}
	return errs
}

func validateRule(rule *networkingv1.IngressRule, path *field.Path, opts options) field.ErrorList {
	var errs field.ErrorList
	wildcard := false
	if rule.Host != "" {
		if netutils.ParseIPSloppy(rule.Host) != nil {
			errs = append(errs, field.Invalid(path.Child("host"), rule.Host, "must be a DNS name, not an IP address"))
		}
		wildcard = strings.Contains(rule.Host, "*")
		errs = append(errs, validateHost(rule.Host, path.Child("host"))...)
	}
	if !wildcard || !opts.allowInvalidWildcardHostRule {
		errs = append(errs, validateRuleValue(&rule.IngressRuleValue, path)...)
	}
	return errs
}

func validateRuleValue(v *networkingv1.IngressRuleValue, path *field.Path) field.ErrorList {
	if v.HTTP == nil {
		return nil
	}
	var errs field.ErrorList
	httpPath := path.Child("http")
	if len(v.HTTP.Paths) == 0 {
		errs = append(errs, field.Required(httpPath.Child("paths"), ""))
	}
	for i := range v.HTTP.Paths {
		errs = append(errs, validatePath(&v.HTTP.Paths[i], httpPath.Child("paths").Index(i))...)
	}
	return errs
}

// validatePath: every path says how it matches. Exact and Prefix paths
// are absolute and clean (no "//", "/./", "/../", encoded slashes, no
// trailing "/." or "/.."); ImplementationSpecific ones only need to be
// absolute when set.
func validatePath(p *networkingv1.HTTPIngressPath, path *field.Path) field.ErrorList {
	if p.PathType == nil {
		return field.ErrorList{field.Required(path.Child("pathType"), "pathType must be specified")}
	}
	var errs field.ErrorList
	switch *p.PathType {
	case networkingv1.PathTypeExact, networkingv1.PathTypePrefix:
		if !strings.HasPrefix(p.Path, "/") {
			errs = append(errs, field.Invalid(path.Child("path"), p.Path, "must be an absolute path"))
		}
		if p.Path != "" {
			for _, seq := range []string{"//", "/./", "/../", "%2f", "%2F"} {
				if strings.Contains(p.Path, seq) {
					errs = append(errs, field.Invalid(path.Child("path"), p.Path, fmt.Sprintf("must not contain '%s'", seq)))
				}
			}
			for _, suffix := range []string{"/..", "/."} {
				if strings.HasSuffix(p.Path, suffix) {
					errs = append(errs, field.Invalid(path.Child("path"), p.Path, fmt.Sprintf("cannot end with '%s'", suffix)))
				}
			}
		}
	case networkingv1.PathTypeImplementationSpecific:
		if p.Path != "" && !strings.HasPrefix(p.Path, "/") {
			errs = append(errs, field.Invalid(path.Child("path"), p.Path, "must be an absolute path"))
		}
	default:
		errs = append(errs, field.NotSupported(path.Child("pathType"), *p.PathType, supportedPathTypes))
	}
	return append(errs, validateBackend(&p.Backend, path.Child("backend"))...)
}

// validateBackend: a backend is a service (name and a port by name or
// number) or a resource, exactly one of them.
func validateBackend(b *networkingv1.IngressBackend, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	switch {
	case b.Resource != nil && b.Service != nil:
		return field.ErrorList{field.Invalid(path, "", "cannot set both resource and service backends")}
	case b.Resource != nil:
		errs = append(errs, ValidateTypedReference(b.Resource.APIGroup, b.Resource.Kind, b.Resource.Name, path.Child("resource"))...)
	case b.Service != nil:
		svc := b.Service
		namePath := path.Child("service", "name")
		if svc.Name == "" {
			errs = append(errs, field.Required(namePath, ""))
		} else {
			// Service names are DNS labels (RelaxedServiceNameValidation,
			// GA and locked on in 1.37).
			for _, msg := range namevalidation.NameIsDNSLabel(svc.Name, false) {
				errs = append(errs, field.Invalid(namePath, svc.Name, msg))
			}
		}
		portPath := path.Child("service", "port")
		switch hasName, hasNumber := svc.Port.Name != "", svc.Port.Number != 0; {
		case hasName && hasNumber:
			errs = append(errs, field.Invalid(path, "", "cannot set both port name & port number"))
		case hasName:
			for _, msg := range validation.IsValidPortName(svc.Port.Name) {
				errs = append(errs, field.Invalid(portPath.Child("name"), svc.Port.Name, msg))
			}
		case hasNumber:
			for _, msg := range validation.IsValidPortNum(int(svc.Port.Number)) {
				errs = append(errs, field.Invalid(portPath.Child("number"), svc.Port.Number, msg))
			}
		default:
			errs = append(errs, field.Required(path, "port name or number is required"))
		}
	default:
		errs = append(errs, field.Invalid(path, "", "resource or service backend is required"))
	}
	return errs
}

// ValidateTypedReference checks a typed reference to another object at
// path: an optional API group that is a DNS subdomain, and a kind and
// name that can be path segments. Ingress class parameters share it.
func ValidateTypedReference(apiGroup *string, kind, name string, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	if apiGroup != nil {
		for _, msg := range validation.IsDNS1123Subdomain(*apiGroup) {
			errs = append(errs, field.Invalid(path.Child("apiGroup"), *apiGroup, msg))
		}
	}
	if kind == "" {
		errs = append(errs, field.Required(path.Child("kind"), ""))
	} else {
		for _, msg := range content.IsPathSegmentName(kind) {
			errs = append(errs, field.Invalid(path.Child("kind"), kind, msg))
		}
	}
	if name == "" {
		errs = append(errs, field.Required(path.Child("name"), ""))
	} else {
		for _, msg := range content.IsPathSegmentName(name) {
			errs = append(errs, field.Invalid(path.Child("name"), name, msg))
		}
	}
	return errs
}

func hasInvalidSecretName(old *networkingv1.Ingress) bool {
	for _, tls := range old.Spec.TLS {
		if tls.SecretName != "" && len(namevalidation.NameIsDNSSubdomain(tls.SecretName, false)) > 0 {
			return true
		}
	}
	return false
}

func hasInvalidWildcardHostRule(old *networkingv1.Ingress) bool {
	for i := range old.Spec.Rules {
		r := &old.Spec.Rules[i]
		if strings.Contains(r.Host, "*") && len(validateRuleValue(&r.IngressRuleValue, nil)) > 0 {
			return true
		}
	}
	return false
}

// ValidateStatusUpdate checks the addresses a controller reports: IPs
// (an invalid one already stored is kept) and DNS host names, not IPs.
func ValidateStatusUpdate(ing, old *networkingv1.Ingress) field.ErrorList {
	var errs field.ErrorList
	var oldIPs []string
	for _, lb := range old.Status.LoadBalancer.Ingress {
		if lb.IP != "" {
			oldIPs = append(oldIPs, lb.IP)
		}
	}
	path := field.NewPath("status", "loadBalancer", "ingress")
	for i, lb := range ing.Status.LoadBalancer.Ingress {
		if lb.IP != "" {
			errs = append(errs, validation.IsValidIPForLegacyField(path.Index(i).Child("ip"), lb.IP, true, oldIPs)...)
		}
		if lb.Hostname != "" {
			for _, msg := range validation.IsDNS1123Subdomain(lb.Hostname) {
				errs = append(errs, field.Invalid(path.Index(i).Child("hostname"), lb.Hostname, msg))
			}
			if netutils.ParseIPSloppy(lb.Hostname) != nil {
				errs = append(errs, field.Invalid(path.Index(i).Child("hostname"), lb.Hostname, "must be a DNS name, not an IP address"))
			}
		}
	}
	return errs
}
