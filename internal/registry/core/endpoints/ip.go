package endpoints

import (
	"fmt"
	"net"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// ValidateIP checks an address of the kind endpoints (and, for historical
// reasons, a service's externalIPs) hold: a valid IP in strict form that
// is not unspecified, loopback or link-local. oldIPs are values the object
// already held, accepted even if they would fail the strict form checks.
func ValidateIP(value string, oldIPs []string, fldPath *field.Path) field.ErrorList {
	errs := validation.IsValidIPForLegacyField(fldPath, value, true, oldIPs)
	return append(errs, validateRange(value, fldPath)...)
}

// ValidateEndpointIP is the range check alone: the address must parse
// (leniently) and be usable as a destination.
func ValidateEndpointIP(value string, fldPath *field.Path) field.ErrorList {
	return validateRange(value, fldPath)
}

func validateRange(value string, fldPath *field.Path) field.ErrorList {
	ip := ParseIPSloppy(value)
	if ip == nil {
		return field.ErrorList{field.Invalid(fldPath, value, "must be a valid IP address")}
	}
	var errs field.ErrorList
	if ip.IsUnspecified() {
		errs = append(errs, field.Invalid(fldPath, value, fmt.Sprintf("may not be unspecified (%v)", value)))
	}
	if ip.IsLoopback() {
		errs = append(errs, field.Invalid(fldPath, value, "may not be in the loopback range (127.0.0.0/8, ::1/128)"))
	}
	if ip.IsLinkLocalUnicast() {
		errs = append(errs, field.Invalid(fldPath, value, "may not be in the link-local range (169.254.0.0/16, fe80::/10)"))
	}
	if ip.IsLinkLocalMulticast() {
		errs = append(errs, field.Invalid(fldPath, value, "may not be in the link-local multicast range (224.0.0.0/24, ff02::/10)"))
	}
	return errs
}

// ParseIPSloppy parses an IP the way Go did before 1.17 and Kubernetes'
// legacy fields still do: IPv4 octets may carry leading zeros, which are
// read as decimal. It returns nil for anything else net.ParseIP rejects.
func ParseIPSloppy(s string) net.IP {
	if ip := net.ParseIP(s); ip != nil {
		return ip
	}
	// Rewrite the dotted-quad part (all of s, or the tail of an IPv6
	// address) without leading zeros and try again.
	head, quad := "", s
	if i := strings.LastIndex(s, ":"); i >= 0 {
		head, quad = s[:i+1], s[i+1:]
	}
	parts := strings.Split(quad, ".")
	if len(parts) != 4 {
		return nil
	}
	for i, p := range parts {
		if p == "" || len(p) > 16 || strings.TrimLeft(p, "0123456789") != "" {
			return nil
		}
		n, err := strconv.Atoi(p)
		if err != nil || n > 255 {
			return nil
		}
		parts[i] = strconv.Itoa(n)
	}
	return net.ParseIP(head + strings.Join(parts, "."))
}
