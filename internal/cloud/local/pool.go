package local

import (
	"fmt"
	"net/netip"
	"strings"
)

// Range is the addresses From to To, both included, of one family.
type Range struct{ From, To netip.Addr }

// Contains says whether a is in r.
func (r Range) Contains(a netip.Addr) bool {
	return a.BitLen() == r.From.BitLen() && r.From.Compare(a) <= 0 && a.Compare(r.To) <= 0
}

func (r Range) String() string {
	if r.From == r.To {
		return r.From.String()
	}
	return r.From.String() + "-" + r.To.String()
}

// overlaps says whether r and the prefix p share an address.
func (r Range) overlaps(p netip.Prefix) bool {
	p = p.Masked()
	if p.Addr().BitLen() != r.From.BitLen() {
		return false
	}
	return p.Addr().Compare(r.To) <= 0 && r.From.Compare(lastOf(p)) <= 0
}

// lastOf is the last address of p.
func lastOf(p netip.Prefix) netip.Addr {
	b := p.Masked().Addr().AsSlice()
	for i := p.Bits(); i < len(b)*8; i++ {
		b[i/8] |= 0x80 >> (i % 8)
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}

// Pool is the addresses load balancers are given
// (--lb-address-pool). The zero Pool is empty: load balancers get the
// nodes' addresses.
type Pool struct{ Ranges []Range }

// Empty says the pool has no address.
func (p Pool) Empty() bool { return len(p.Ranges) == 0 }

// Contains says whether a is in the pool.
func (p Pool) Contains(a netip.Addr) bool {
	for _, r := range p.Ranges {
		if r.Contains(a) {
			return true
		}
	}
	return false
}

func (p Pool) String() string {
	s := make([]string, len(p.Ranges))
	for i, r := range p.Ranges {
		s[i] = r.String()
	}
	return strings.Join(s, ",")
}

// ParsePool reads a pool: comma-separated ranges "FROM-TO", prefixes
// "10.99.0.0/28" or single addresses, IPv4 and IPv6.
func ParsePool(s string) (Pool, error) {
	var p Pool
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		r, err := parseRange(part)
		if err != nil {
			return Pool{}, fmt.Errorf("address pool %q: %w", s, err)
		}
		for _, o := range p.Ranges {
			if o.Contains(r.From) || o.Contains(r.To) || r.Contains(o.From) {
				return Pool{}, fmt.Errorf("address pool %q: %s overlaps %s", s, r, o)
			}
		}
		p.Ranges = append(p.Ranges, r)
	}
	return p, nil
}

func parseRange(s string) (Range, error) {
	if strings.Contains(s, "/") {
		pfx, err := netip.ParsePrefix(s)
		if err != nil {
			return Range{}, err
		}
		if pfx.Addr().Zone() != "" {
			return Range{}, fmt.Errorf("%s: zoned addresses cannot be load balancer addresses", s)
		}
		return Range{From: pfx.Masked().Addr(), To: lastOf(pfx)}, nil
	}
	from, to, isRange := strings.Cut(s, "-")
	a, err := parseAddr(strings.TrimSpace(from))
	if err != nil {
		return Range{}, err
	}
	if !isRange {
		return Range{From: a, To: a}, nil
	}
	b, err := parseAddr(strings.TrimSpace(to))
	if err != nil {
		return Range{}, err
	}
	if a.BitLen() != b.BitLen() {
		return Range{}, fmt.Errorf("%s: the range mixes IPv4 and IPv6", s)
	}
	if b.Less(a) {
		return Range{}, fmt.Errorf("%s: the range ends before it starts", s)
	}
	return Range{From: a, To: b}, nil
}

func parseAddr(s string) (netip.Addr, error) {
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Addr{}, err
	}
	if a.Zone() != "" || a.IsUnspecified() || a.IsLoopback() || a.IsMulticast() {
		return netip.Addr{}, fmt.Errorf("%s cannot be a load balancer address", s)
	}
	return a.Unmap(), nil
}

// CheckOverlap fails when the pool shares an address with one of the
// cluster's own ranges (name says which: "service CIDR", "pod CIDR"):
// such an address would be routed as a cluster IP or a pod.
func (p Pool) CheckOverlap(name string, pfx netip.Prefix) error {
	for _, r := range p.Ranges {
		if r.overlaps(pfx) {
			return fmt.Errorf("address pool range %s overlaps the %s %s", r, name, pfx)
		}
	}
	return nil
}
