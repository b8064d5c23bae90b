package endpoints

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// DeprecationWarning is the warning upstream (1.33+) attaches to every
// request for core/v1 endpoints, reads included. A per-request warning is
// beyond the Warnings hook (which sees writes only), so the API server
// adds it.
const DeprecationWarning = "v1 Endpoints is deprecated in v1.33+; use discovery.k8s.io/v1 EndpointSlice"

// managedByLabel and controllerName mark endpoints the endpoints
// controller wrote; they get no IP-format warnings.
const (
	managedByLabel = "endpoints.kubernetes.io/managed-by"
	controllerName = "endpoint-controller"
)

// Validate checks the subsets of an endpoints object. On update (old set),
// subsets that did not change are accepted even if older releases let
// in something today's rules reject.
func Validate(ep, old *corev1.Endpoints) field.ErrorList {
	errs := validateSubsets(ep.Subsets, field.NewPath("subsets"))
	if len(errs) > 0 && old != nil && equality.Semantic.DeepEqual(ep.Subsets, old.Subsets) {
		return nil
	}
	return errs
}

func validateSubsets(subsets []corev1.EndpointSubset, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	for i := range subsets {
		ss := &subsets[i]
		p := fldPath.Index(i)
		// Ports may be empty (headless services), addresses may not.
		if len(ss.Addresses) == 0 && len(ss.NotReadyAddresses) == 0 {
			errs = append(errs, field.Required(p, "must specify `addresses` or `notReadyAddresses`"))
		}
		for j := range ss.Addresses {
			errs = append(errs, validateAddress(&ss.Addresses[j], p.Child("addresses").Index(j))...)
		}
		for j := range ss.NotReadyAddresses {
			errs = append(errs, validateAddress(&ss.NotReadyAddresses[j], p.Child("notReadyAddresses").Index(j))...)
		}
		for j := range ss.Ports {
			errs = append(errs, validatePort(&ss.Ports[j], len(ss.Ports) > 1, p.Child("ports").Index(j))...)
		}
	}
	return errs
}

func validateAddress(a *corev1.EndpointAddress, fldPath *field.Path) field.ErrorList {
	errs := validation.IsValidIPForLegacyField(fldPath.Child("ip"), a.IP, true, nil)
	if a.Hostname != "" {
		for _, msg := range validation.IsDNS1123Label(a.Hostname) {
			errs = append(errs, field.Invalid(fldPath.Child("hostname"), a.Hostname, msg))
		}
	}
	if a.NodeName != nil {
		for _, msg := range apimachineryvalidation.NameIsDNSSubdomain(*a.NodeName, false) {
			errs = append(errs, field.Invalid(fldPath.Child("nodeName"), *a.NodeName, msg))
		}
	}
	return append(errs, ValidateEndpointIP(a.IP, fldPath.Child("ip"))...)
}

func validatePort(port *corev1.EndpointPort, requireName bool, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	if requireName && port.Name == "" {
		errs = append(errs, field.Required(fldPath.Child("name"), ""))
	} else if port.Name != "" {
		for _, msg := range validation.IsDNS1123Label(port.Name) {
			errs = append(errs, field.Invalid(fldPath.Child("name"), port.Name, msg))
		}
	}
	for _, msg := range validation.IsValidPortNum(int(port.Port)) {
		errs = append(errs, field.Invalid(fldPath.Child("port"), port.Port, msg))
	}
	errs = append(errs, ValidateProtocol(port.Protocol, fldPath.Child("protocol"))...)
	if port.AppProtocol != nil {
		for _, msg := range validation.IsQualifiedName(*port.AppProtocol) {
			errs = append(errs, field.Invalid(fldPath.Child("appProtocol"), *port.AppProtocol, msg))
		}
	}
	return errs
}

// ValidateProtocol requires one of TCP, UDP and SCTP.
func ValidateProtocol(p corev1.Protocol, fldPath *field.Path) field.ErrorList {
	switch p {
	case "":
		return field.ErrorList{field.Required(fldPath, "")}
	case corev1.ProtocolTCP, corev1.ProtocolUDP, corev1.ProtocolSCTP:
		return nil
	}
	return field.ErrorList{field.NotSupported(fldPath, p, []string{string(corev1.ProtocolSCTP), string(corev1.ProtocolTCP), string(corev1.ProtocolUDP)})}
}

// Warnings flags addresses in non-standard forms (leading zeros,
// IPv4-mapped IPv6, non-canonical IPv6) unless the endpoints controller
// wrote the object.
func Warnings(ep *corev1.Endpoints) []string {
	if ep.Labels[managedByLabel] == controllerName {
		return nil
	}
	var warnings []string
	for i := range ep.Subsets {
		for j, a := range ep.Subsets[i].Addresses {
			warnings = append(warnings, ipWarnings(field.NewPath("subsets").Index(i).Child("addresses").Index(j).Child("ip"), a.IP)...)
		}
		for j, a := range ep.Subsets[i].NotReadyAddresses {
			warnings = append(warnings, ipWarnings(field.NewPath("subsets").Index(i).Child("notReadyAddresses").Index(j).Child("ip"), a.IP)...)
		}
	}
	return warnings
}

// ipWarnings returns apimachinery's warnings for a value that parses; it
// says nothing about values validation has rejected.
func ipWarnings(fldPath *field.Path, value string) []string {
	if ParseIPSloppy(value) == nil {
		return nil
	}
	return validation.GetWarningsForIP(fldPath, value)
}
