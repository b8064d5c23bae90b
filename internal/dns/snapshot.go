package dns

import (
	"net/netip"
	"slices"
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
// with BuildSnapshot; it is safe for concurrent use. It holds the
// services, not their records: answers are made when asked (lookup.go).
type Snapshot struct {
	zone       string // canonical, e.g. "cluster.local."
	zoneSuffix string // "." + zone
	svcSuffix  string // ".svc." + zone
	podSuffix  string // ".pod." + zone
	ttl        uint32
	pods       PodMode
	// static holds the apex's names and their records (SOA, NS,
	// dns-version, the NS's address, the svc and pod subtrees).
	static map[string]rrsets
	soa    *dns.SOA
	// services by key ("name.namespace").
	services map[string]*service
	// endpoints of headless services, by service key.
	endpoints  map[string]*endpoints
	namespaces map[string]struct{}
	// ptrs names the addresses of services and of headless endpoints.
	ptrs map[netip.Addr]ptrTarget
}

// endpoints are a headless service's ready addresses and named ports,
// each once.
type endpoints struct {
	targets []target
	ports   []port
}

// target is one address of a headless service and the name under the
// service it has: its hostname or dashed address ("" for none).
type target struct {
	host string
	addr netip.Addr
}

// ptrTarget is the name of an address: the service's, or the endpoint
// host's under it; next is another name of the same address.
type ptrTarget struct {
	svc  *service
	host string
	next *ptrTarget
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

// Len returns the number of services held.
func (s *Snapshot) Len() int { return len(s.services) }

// Answer answers q from the snapshot. The owner names of the answer
// records carry q.Name as asked (case preserved, RFC 4343).
func (s *Snapshot) Answer(q dns.Question) Result {
	name := dns.CanonicalName(q.Name)
	set, known := s.lookup(name, q.Name)
	if !s.inZone(name) {
		if !known {
			return Result{Forward: true}
		}
		// A PTR name of a cluster address: ours.
		return s.fromSet(q, set)
	}
	if !known {
		return Result{Rcode: dns.RcodeNameError, Authoritative: true, Ns: s.negative()}
	}
	return s.fromSet(q, set)
}

// inZone says whether canonical name is the zone or under it, as
// dns.IsSubDomain does but without splitting both names into labels on
// every query: the dot before the zone must not be an escaped one.
func (s *Snapshot) inZone(name string) bool {
	if s.zone == "." || name == s.zone {
		return true
	}
	rest, ok := strings.CutSuffix(name, s.zoneSuffix)
	if !ok {
		return false
	}
	escapes := len(rest) - len(strings.TrimRight(rest, `\`))
	return escapes%2 == 0
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
// (and the empty non-terminal <ns>.pod.<zone>); rel is the name without
// ".pod.<zone>".
func (s *Snapshot) podRecords(rel, owner string) (rrsets, bool) {
	if s.pods != PodsInsecure {
		return nil, false
	}
	labels := dns.SplitDomainName(rel)
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
	return rrsets{{typ: addrType(a), rrs: []dns.RR{addrRR(owner, a, s.ttl)}}}, true
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
		set, _ := s.lookup(target, target)
		out = append(out, set.get(dns.TypeA)...)
		out = append(out, set.get(dns.TypeAAAA)...)
	}
	return out
}

// withOwner returns rrs with their owner set to name, copying the
// records that have another (records are never mutated once made).
func withOwner(rrs []dns.RR, name string) []dns.RR {
	if !slices.ContainsFunc(rrs, func(rr dns.RR) bool { return rr.Header().Name != name }) {
		return rrs
	}
	out := make([]dns.RR, len(rrs))
	for i, rr := range rrs {
		if rr.Header().Name == name {
			out[i] = rr
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
