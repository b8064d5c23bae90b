package dns

import (
	"net/netip"
	"strings"

	"github.com/miekg/dns"
)

// lookup finds name (canonical) in the snapshot and makes its records,
// owned by owner. known is false for a name that does not exist.
func (s *Snapshot) lookup(name, owner string) (set rrsets, known bool) {
	if set, ok := s.static[name]; ok {
		return set, true
	}
	if rel, ok := strings.CutSuffix(name, s.svcSuffix); ok {
		return s.serviceNames(rel, owner)
	}
	if rel, ok := strings.CutSuffix(name, s.podSuffix); ok {
		return s.podRecords(rel, owner)
	}
	if strings.HasSuffix(name, ".in-addr.arpa.") || strings.HasSuffix(name, ".ip6.arpa.") {
		return s.ptrRecords(name, owner)
	}
	return nil, false
}

// serviceNames answers the names under svc.<zone>, rel being the part
// before it: <ns>, <svc>.<ns>, _<proto>.<svc>.<ns>,
// _<port>._<proto>.<svc>.<ns>, and <host>.<svc>.<ns> of headless
// services.
func (s *Snapshot) serviceNames(rel, owner string) (rrsets, bool) {
	// labels from the right: namespace, service, then the rest.
	var labels [4]string
	n, rest := 0, rel
	for rest != "" {
		if n == len(labels) {
			return nil, false
		}
		i := strings.LastIndexByte(rest, '.')
		labels[n], rest = rest[i+1:], rest[:max(i, 0)]
		n++
	}
	if n == 1 {
		_, ok := s.namespaces[labels[0]]
		return nil, ok
	}
	key := rel[len(rel)-len(labels[1])-1-len(labels[0]):]
	svc := s.services[key]
	if svc == nil {
		return nil, false
	}
	switch n {
	case 2:
		return s.serviceRecords(svc, owner), true
	case 3:
		if proto, ok := strings.CutPrefix(labels[2], "_"); ok {
			// _<proto>.<svc>: exists when an SRV record is under it.
			return nil, len(s.srvRecords(svc, "", proto, owner)) > 0
		}
		return s.hostRecords(svc, labels[2], owner)
	}
	name, ok1 := strings.CutPrefix(labels[3], "_")
	proto, ok2 := strings.CutPrefix(labels[2], "_")
	if !ok1 || !ok2 {
		return nil, false
	}
	rrs := s.srvRecords(svc, name, proto, owner)
	if len(rrs) == 0 {
		return nil, false
	}
	return rrsets{{typ: dns.TypeSRV, rrs: rrs}}, true
}

// serviceRecords are the records at a service's own name.
func (s *Snapshot) serviceRecords(svc *service, owner string) rrsets {
	var set rrsets
	switch svc.kind {
	case clusterIP:
		for _, a := range svc.ips {
			set = set.add(addrRR(owner, a, s.ttl))
		}
	case headless:
		if e := s.endpoints[svc.key]; e != nil {
			for _, t := range e.targets {
				set = set.add(addrRR(owner, t.addr, s.ttl))
			}
		}
	case externalName:
		if svc.target != "" {
			set = set.add(&dns.CNAME{Hdr: dns.RR_Header{Name: owner, Rrtype: dns.TypeCNAME, Class: dns.ClassINET, Ttl: s.ttl}, Target: svc.target})
		}
	}
	return set
}

// hostRecords are the addresses of a headless service's endpoint host.
func (s *Snapshot) hostRecords(svc *service, host, owner string) (rrsets, bool) {
	e := s.endpoints[svc.key]
	if svc.kind != headless || e == nil {
		return nil, false
	}
	var set rrsets
	for _, t := range e.targets {
		if t.host == host {
			set = set.add(addrRR(owner, t.addr, s.ttl))
		}
	}
	return set, set != nil
}

// srvRecords are the SRV records of svc's port name (any name when
// name is "") and protocol proto: the service's name for a cluster IP,
// one per endpoint host for a headless service.
func (s *Snapshot) srvRecords(svc *service, name, proto, owner string) []dns.RR {
	var ports []port
	var hosts []string
	switch svc.kind {
	case clusterIP:
		if len(svc.ips) > 0 {
			ports, hosts = svc.ports, []string{""}
		}
	case headless:
		if e := s.endpoints[svc.key]; e != nil && len(e.targets) > 0 {
			ports = e.ports
			for _, t := range e.targets {
				if t.host != "" && !containsString(hosts, t.host) {
					hosts = append(hosts, t.host)
				}
			}
		}
	}
	weight := uint16(100)
	if svc.kind == headless {
		weight = uint16(max(1, 100/len(s.endpoints[svc.key].targets)))
	}
	var rrs []dns.RR
	for _, p := range ports {
		if p.proto != proto || (name != "" && p.name != name) {
			continue
		}
		for _, h := range hosts {
			rrs = append(rrs, &dns.SRV{
				Hdr:      dns.RR_Header{Name: owner, Rrtype: dns.TypeSRV, Class: dns.ClassINET, Ttl: s.ttl},
				Priority: 0, Weight: weight, Port: p.num, Target: s.targetName(svc, h),
			})
		}
	}
	return rrs
}

// targetName is the name of host under svc, or svc's own name when host
// is "".
func (s *Snapshot) targetName(svc *service, host string) string {
	if host == "" {
		return svc.key + s.svcSuffix
	}
	return host + "." + svc.key + s.svcSuffix
}

// ptrRecords are the names of the address that name (in in-addr.arpa or
// ip6.arpa) spells.
func (s *Snapshot) ptrRecords(name, owner string) (rrsets, bool) {
	a, ok := parseReverse(name)
	if !ok {
		return nil, false
	}
	t, ok := s.ptrs[a]
	if !ok {
		return nil, false
	}
	var set rrsets
	for p := &t; p != nil; p = p.next {
		set = set.add(ptrRR(owner, s.targetName(p.svc, p.host), s.ttl))
	}
	return set, true
}

// parseReverse is the inverse of reverseName: the address a canonical
// in-addr.arpa. or ip6.arpa. name spells, if it spells one whole.
func parseReverse(name string) (netip.Addr, bool) {
	if rest, ok := strings.CutSuffix(name, ".in-addr.arpa."); ok {
		labels := strings.Split(rest, ".")
		if len(labels) != 4 {
			return netip.Addr{}, false
		}
		a, err := netip.ParseAddr(labels[3] + "." + labels[2] + "." + labels[1] + "." + labels[0])
		return a, err == nil
	}
	rest, ok := strings.CutSuffix(name, ".ip6.arpa.")
	if !ok || len(rest) != 63 {
		return netip.Addr{}, false
	}
	var b [16]byte
	for i := range 32 {
		c := rest[62-2*i]
		if (i < 31 && rest[62-2*i-1] != '.') || !isHexDigit(c) {
			return netip.Addr{}, false
		}
		b[i/2] |= hexValue(c) << (4 * (1 - i%2))
	}
	return netip.AddrFrom16(b), true
}

func isHexDigit(c byte) bool { return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' }

func hexValue(c byte) byte {
	if c <= '9' {
		return c - '0'
	}
	return c - 'a' + 10
}

func containsString(list []string, s string) bool {
	for _, l := range list {
		if l == s {
			return true
		}
	}
	return false
}
