package dns

import (
	"net/netip"
	"strings"

	"github.com/miekg/dns"
)

// dashedIP is the label form of an address used for pod names and for
// endpoints without a hostname: 10.1.2.3 → 10-1-2-3, fd00::1 → fd00--1.
func dashedIP(a netip.Addr) string {
	if a.Is4() {
		return strings.ReplaceAll(a.String(), ".", "-")
	}
	return strings.ReplaceAll(a.String(), ":", "-")
}

// parseDashedIP is the inverse of dashedIP; it also accepts the fully
// expanded IPv6 form.
func parseDashedIP(label string) (netip.Addr, bool) {
	if strings.Count(label, "-") == 3 && !strings.Contains(label, "--") {
		a, err := netip.ParseAddr(strings.ReplaceAll(label, "-", "."))
		if err == nil && a.Is4() {
			return a, true
		}
	}
	a, err := netip.ParseAddr(strings.ReplaceAll(label, "-", ":"))
	if err != nil || !a.Is6() || a.Zone() != "" {
		return netip.Addr{}, false
	}
	return a, true
}

// reverseName is the PTR owner of an address (in-addr.arpa or ip6.arpa),
// lower case and fully qualified.
func reverseName(a netip.Addr) string {
	name, err := dns.ReverseAddr(a.Unmap().String())
	if err != nil {
		return ""
	}
	return name
}

// parentNames lists name's ancestors down to and including zone
// (name itself excluded). Both are canonical (lower case, fully qualified).
func parentNames(name, zone string) []string {
	var out []string
	for off, end := dns.NextLabel(name, 0); !end; off, end = dns.NextLabel(name, off) {
		parent := name[off:]
		if len(parent) < len(zone) {
			break
		}
		out = append(out, parent)
		if parent == zone {
			break
		}
	}
	return out
}
