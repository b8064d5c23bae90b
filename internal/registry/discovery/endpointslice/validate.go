package endpointslice

import (
	"fmt"
	"slices"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	netutils "k8s.io/utils/net"
)

// Limits, as upstream.
const (
	maxEndpoints      = 1000
	maxAddresses      = 100
	maxPorts          = 20000
	maxTopologyLabels = 16
	maxZoneHints      = 8
	maxNodeHints      = 8
)

var (
	addressTypes = []string{string(discoveryv1.AddressTypeFQDN), string(discoveryv1.AddressTypeIPv4), string(discoveryv1.AddressTypeIPv6)}
	protocols    = []string{string(corev1.ProtocolSCTP), string(corev1.ProtocolTCP), string(corev1.ProtocolUDP)}
)

// Validate checks a slice on create.
func Validate(eps *discoveryv1.EndpointSlice) field.ErrorList {
	return validate(eps, nil)
}

// ValidateUpdate checks an update: addressType is immutable, and
// endpoints that did not change are not checked again (older servers
// accepted data that is no longer valid).
func ValidateUpdate(eps, old *discoveryv1.EndpointSlice) field.ErrorList {
	errs := validate(eps, old)
	return append(errs, apivalidation.ValidateImmutableField(eps.AddressType, old.AddressType, field.NewPath("addressType"))...)
}

func validate(eps, old *discoveryv1.EndpointSlice) field.ErrorList {
	var errs field.ErrorList
	switch {
	case eps.AddressType == "":
		errs = append(errs, field.Required(field.NewPath("addressType"), ""))
	case !slices.Contains(addressTypes, string(eps.AddressType)):
		errs = append(errs, field.NotSupported(field.NewPath("addressType"), eps.AddressType, addressTypes))
	}
	errs = append(errs, validatePorts(eps.Ports, field.NewPath("ports"))...)
	epErrs := validateEndpoints(eps.Endpoints, eps.AddressType, field.NewPath("endpoints"))
	if len(epErrs) > 0 && old != nil && equality.Semantic.DeepEqual(old.Endpoints, eps.Endpoints) {
		epErrs = nil
	}
	return append(errs, epErrs...)
}

func validateEndpoints(endpoints []discoveryv1.Endpoint, addrType discoveryv1.AddressType, path *field.Path) field.ErrorList {
	if len(endpoints) > maxEndpoints {
		return field.ErrorList{field.TooMany(path, len(endpoints), maxEndpoints)}
	}
	var errs field.ErrorList
	for i := range endpoints {
		ep := &endpoints[i]
		epPath := path.Index(i)
		addrPath := epPath.Child("addresses")
		switch {
		case len(ep.Addresses) == 0:
			errs = append(errs, field.Required(addrPath, "must contain at least 1 address"))
		case len(ep.Addresses) > maxAddresses:
			errs = append(errs, field.TooMany(addrPath, len(ep.Addresses), maxAddresses))
		}
		for j, addr := range ep.Addresses {
			errs = append(errs, validateAddress(addr, addrType, addrPath, j)...)
		}
		if ep.NodeName != nil {
			for _, msg := range apivalidation.NameIsDNSSubdomain(*ep.NodeName, false) {
				errs = append(errs, field.Invalid(epPath.Child("nodeName"), *ep.NodeName, msg))
			}
		}
		topoPath := epPath.Child("deprecatedTopology")
		if len(ep.DeprecatedTopology) > maxTopologyLabels {
			errs = append(errs, field.TooMany(topoPath, len(ep.DeprecatedTopology), maxTopologyLabels))
		}
		errs = append(errs, metav1validation.ValidateLabels(ep.DeprecatedTopology, topoPath)...)
		if ep.Hostname != nil {
			for _, msg := range validation.IsDNS1123Label(*ep.Hostname) {
				errs = append(errs, field.Invalid(epPath.Child("hostname"), *ep.Hostname, msg))
			}
		}
		if ep.Hints != nil {
			errs = append(errs, validateHints(ep.Hints, epPath.Child("hints"))...)
		}
	}
	return errs
}

// validateAddress checks address j against the slice's type. Upstream
// reports a wrong family at the list's path, not the address's.
func validateAddress(addr string, addrType discoveryv1.AddressType, listPath *field.Path, j int) field.ErrorList {
	path := listPath.Index(j)
	switch addrType {
	case discoveryv1.AddressTypeIPv4:
		if errs := validation.IsValidIPForLegacyField(path, addr, true, nil); len(errs) > 0 {
			return errs
		}
		var errs field.ErrorList
		if !netutils.IsIPv4String(addr) {
			errs = append(errs, field.Invalid(listPath, addr, "must be an IPv4 address"))
		}
		return append(errs, validateEndpointIP(addr, path)...)
	case discoveryv1.AddressTypeIPv6:
		if errs := validation.IsValidIP(path, addr); len(errs) > 0 {
			return errs
		}
		var errs field.ErrorList
		if !netutils.IsIPv6String(addr) {
			errs = append(errs, field.Invalid(listPath, addr, "must be an IPv6 address"))
		}
		return append(errs, validateEndpointIP(addr, path)...)
	case discoveryv1.AddressTypeFQDN:
		return validation.IsFullyQualifiedDomainName(path, addr)
	}
	return nil
}

// validateEndpointIP refuses addresses traffic cannot be sent to:
// unspecified, loopback, link-local.
func validateEndpointIP(addr string, path *field.Path) field.ErrorList {
	ip := netutils.ParseIPSloppy(addr)
	if ip == nil {
		return field.ErrorList{field.Invalid(path, addr, "must be a valid IP address")}
	}
	var errs field.ErrorList
	if ip.IsUnspecified() {
		errs = append(errs, field.Invalid(path, addr, fmt.Sprintf("may not be unspecified (%v)", addr)))
	}
	if ip.IsLoopback() {
		errs = append(errs, field.Invalid(path, addr, "may not be in the loopback range (127.0.0.0/8, ::1/128)"))
	}
	if ip.IsLinkLocalUnicast() {
		errs = append(errs, field.Invalid(path, addr, "may not be in the link-local range (169.254.0.0/16, fe80::/10)"))
	}
	if ip.IsLinkLocalMulticast() {
		errs = append(errs, field.Invalid(path, addr, "may not be in the link-local multicast range (224.0.0.0/24, ff02::/10)"))
	}
	return errs
}

func validatePorts(ports []discoveryv1.EndpointPort, path *field.Path) field.ErrorList {
	if len(ports) > maxPorts {
		return field.ErrorList{field.TooMany(path, len(ports), maxPorts)}
	}
	var errs field.ErrorList
	var names []string
	for i, p := range ports {
		portPath := path.Index(i)
		name := ""
		if p.Name != nil {
			name = *p.Name
		}
		if name != "" {
			for _, msg := range validation.IsDNS1123Label(name) {
				errs = append(errs, field.Invalid(portPath.Child("name"), name, msg))
			}
		}
		if slices.Contains(names, name) {
			errs = append(errs, field.Duplicate(portPath.Child("name"), name))
		} else {
			names = append(names, name)
		}
		switch {
		case p.Protocol == nil:
			errs = append(errs, field.Required(portPath.Child("protocol"), ""))
		case !slices.Contains(protocols, string(*p.Protocol)):
			errs = append(errs, field.NotSupported(portPath.Child("protocol"), *p.Protocol, protocols))
		}
		if p.AppProtocol != nil {
			for _, msg := range validation.IsQualifiedName(*p.AppProtocol) {
				errs = append(errs, field.Invalid(portPath.Child("appProtocol"), *p.AppProtocol, msg))
			}
		}
	}
	return errs
}

func validateHints(h *discoveryv1.EndpointHints, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	zonesPath := path.Child("forZones")
	if len(h.ForZones) > maxZoneHints {
		return append(errs, field.TooMany(zonesPath, len(h.ForZones), maxZoneHints))
	}
	var zones []string
	for i, z := range h.ForZones {
		p := zonesPath.Index(i).Child("name")
		if slices.Contains(zones, z.Name) {
			errs = append(errs, field.Duplicate(p, z.Name))
		} else {
			zones = append(zones, z.Name)
		}
		for _, msg := range validation.IsValidLabelValue(z.Name) {
			errs = append(errs, field.Invalid(p, z.Name, msg))
		}
	}
	nodesPath := path.Child("forNodes")
	if len(h.ForNodes) > maxNodeHints {
		return append(errs, field.TooMany(nodesPath, len(h.ForNodes), maxNodeHints))
	}
	var nodes []string
	for i, n := range h.ForNodes {
		p := nodesPath.Index(i).Child("name")
		if slices.Contains(nodes, n.Name) {
			errs = append(errs, field.Duplicate(p, n.Name))
		} else {
			nodes = append(nodes, n.Name)
		}
		for _, msg := range apivalidation.NameIsDNSSubdomain(n.Name, false) {
			errs = append(errs, field.Invalid(p, n.Name, msg))
		}
	}
	return errs
}

// Controllers whose slices are not checked for odd IP forms: they write
// canonical addresses themselves.
var trustedManagers = []string{"endpointslice-controller.k8s.io", "endpointslicemirroring-controller.k8s.io"}

// Warnings: FQDN slices are deprecated (on create), and IPs written in
// non-standard forms get a hint at the standard one.
func Warnings(eps *discoveryv1.EndpointSlice, create bool) []string {
	var out []string
	if create && eps.AddressType == discoveryv1.AddressTypeFQDN {
		out = append(out, fmt.Sprintf("%s: FQDN endpoints are deprecated", field.NewPath("spec", "addressType")))
	}
	if slices.Contains(trustedManagers, eps.Labels[discoveryv1.LabelManagedBy]) {
		return out
	}
	for i, ep := range eps.Endpoints {
		for j, addr := range ep.Addresses {
			if netutils.ParseIPSloppy(addr) == nil {
				continue
			}
			out = append(out, validation.GetWarningsForIP(field.NewPath("endpoints").Index(i).Child("addresses").Index(j), addr)...)
		}
	}
	return out
}
