package dns

import (
	"net/netip"
	"strings"

	"github.com/miekg/dns"
)

// SchemaVersion is the DNS specification version served as the TXT
// record of dns-version.<zone>.
const SchemaVersion = "1.1.0"

// PodMode says how a-b-c-d.<ns>.pod.<zone> names are answered.
type PodMode string

const (
	// PodsInsecure answers any well-formed pod name with the address it
	// spells, without checking that such a pod exists (CoreDNS's
	// `pods insecure`, what kube-dns always did).
	PodsInsecure PodMode = "insecure"
	// PodsDisabled answers pod names with NXDOMAIN.
	PodsDisabled PodMode = "disabled"
)

// rrsets holds one owner name's records by type, a short list rather
// than a map (names hold one or two types; 10,000 services make 40,000
// names). A name present with no records is an empty non-terminal: it
// exists (NODATA, not NXDOMAIN).
type rrsets []rrset

type rrset struct {
	typ uint16
	rrs []dns.RR
}

// get returns the records of type t.
func (s rrsets) get(t uint16) []dns.RR {
	for _, r := range s {
		if r.typ == t {
			return r.rrs
		}
	}
	return nil
}

// add appends rr to the records of its type.
func (s rrsets) add(rr dns.RR) rrsets {
	t := rr.Header().Rrtype
	for i := range s {
		if s[i].typ == t {
			s[i].rrs = append(s[i].rrs, rr)
			return s
		}
	}
	return append(s, rrset{typ: t, rrs: []dns.RR{rr}})
}

// Snapshot is an immutable view of the cluster's DNS records. Build one
// with BuildSnapshot; it is safe for concurrent use.
type Snapshot struct {
	zone  string // canonical, e.g. "cluster.local."
	pod   string // "pod." + zone
	ttl   uint32
	pods  PodMode
	names map[string]rrsets
	soa   *dns.SOA
}

// Result is the answer to one question.
type Result struct {
	Rcode         int
	Authoritative bool
	// Forward is set for names outside the cluster zone that the snapshot
	// does not know: ask the upstream resolvers.
	Forward bool
	Answer  []dns.RR
	Ns      []dns.RR
	Extra   []dns.RR
}

// Zone returns the cluster zone, fully qualified.
func (s *Snapshot) Zone() string { return s.zone }

// Len returns the number of owner names held.
func (s *Snapshot) Len() int { return len(s.names) }

// Answer answers q from the snapshot. The owner names of the answer
// records carry q.Name as asked (case preserved, RFC 4343).
func (s *Snapshot) Answer(q dns.Question) Result {
	name := dns.CanonicalName(q.Name)
	set, known := s.names[name]
	if !dns.IsSubDomain(s.zone, name) {
		if !known {
			return Result{Forward: true}
		}
		// A PTR name of a cluster address: ours.
		return s.fromSet(q, set)
	}
	if !known {
		set, known = s.podRecords(name)
	}
	if !known {
		return Result{Rcode: dns.RcodeNameError, Authoritative: true, Ns: s.negative()}
	}
	return s.fromSet(q, set)
}

func (s *Snapshot) fromSet(q dns.Question, set rrsets) Result {
	r := Result{Rcode: dns.RcodeSuccess, Authoritative: true}
	if q.Qtype == dns.TypeANY {
		// RFC 8482: a minimal answer instead of every record.
		r.Answer = []dns.RR{&dns.HINFO{
			Hdr: dns.RR_Header{Name: q.Name, Rrtype: dns.TypeHINFO, Class: dns.ClassINET, Ttl: s.ttl},
			Cpu: "RFC8482",
		}}
		return r
	}
	rrs := set.get(q.Qtype)
	if len(rrs) == 0 && q.Qtype != dns.TypeCNAME {
		rrs = set.get(dns.TypeCNAME)
	}
	if len(rrs) == 0 {
		r.Ns = s.negative()
		return r
	}
	r.Answer = withOwner(rrs, q.Name)
	switch q.Qtype {
	case dns.TypeSRV:
		r.Extra = s.targets(rrs)
	case dns.TypeNS:
		r.Extra = s.targets(rrs)
	}
	return r
}

// podRecords synthesizes the records of <dashed-ip>.<ns>.pod.<zone>
// (and the empty non-terminal <ns>.pod.<zone>).
func (s *Snapshot) podRecords(name string) (rrsets, bool) {
	if s.pods != PodsInsecure || !strings.HasSuffix(name, "."+s.pod) {
		return nil, false
	}
	labels := dns.SplitDomainName(strings.TrimSuffix(name, "."+s.pod))
	switch len(labels) {
	case 1:
		return nil, true
	case 2:
	default:
		return nil, false
	}
	a, ok := parseDashedIP(labels[0])
	if !ok {
		return nil, false
	}
	return rrsets{{typ: addrType(a), rrs: []dns.RR{addrRR(name, a, s.ttl)}}}, true
}

// negative is the authority section of NXDOMAIN and NODATA answers: the
// zone's SOA, with the TTL lowered to its minimum (RFC 2308).
func (s *Snapshot) negative() []dns.RR {
	soa := *s.soa
	soa.Hdr.Ttl = min(soa.Hdr.Ttl, soa.Minttl)
	return []dns.RR{&soa}
}

// targets returns the address records of the SRV or NS targets in rrs.
func (s *Snapshot) targets(rrs []dns.RR) []dns.RR {
	var out []dns.RR
	seen := make(map[string]bool, len(rrs))
	for _, rr := range rrs {
		var target string
		switch v := rr.(type) {
		case *dns.SRV:
			target = v.Target
		case *dns.NS:
			target = v.Ns
		}
		if seen[target] {
			continue
		}
		seen[target] = true
		set := s.names[target]
		out = append(out, set.get(dns.TypeA)...)
		out = append(out, set.get(dns.TypeAAAA)...)
	}
	return out
}

// withOwner copies rrs with their owner set to name.
func withOwner(rrs []dns.RR, name string) []dns.RR {
	out := make([]dns.RR, len(rrs))
	for i, rr := range rrs {
		if rr.Header().Name == name {
			out[i] = rr // records are never mutated once in a snapshot
			continue
		}
		c := dns.Copy(rr)
		c.Header().Name = name
		out[i] = c
	}
	return out
}

func addrType(a netip.Addr) uint16 {
	if a.Is4() {
		return dns.TypeA
	}
	return dns.TypeAAAA
}

func addrRR(name string, a netip.Addr, ttl uint32) dns.RR {
	if a.Is4() {
		return &dns.A{Hdr: dns.RR_Header{Name: name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: ttl}, A: a.AsSlice()}
	}
	return &dns.AAAA{Hdr: dns.RR_Header{Name: name, Rrtype: dns.TypeAAAA, Class: dns.ClassINET, Ttl: ttl}, AAAA: a.AsSlice()}
}
