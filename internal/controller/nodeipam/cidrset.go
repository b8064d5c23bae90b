package nodeipam

import (
	"errors"
	"fmt"
	"math/big"
	"net/netip"
)

// errCIDRFull means every node prefix of a cluster CIDR is taken.
var errCIDRFull = errors.New("CIDR allocation failed; there are no remaining CIDRs left to allocate in the accepted range")

// maxPrefixes bounds how many node prefixes one set tracks (upstream's
// cidrset refuses a mask more than 16 bits longer than the cluster's).
const maxPrefixBits = 16

// cidrSet hands out the node-sized prefixes of one cluster CIDR, in order
// from where the last allocation stopped (as upstream's cidrset does, so a
// freed prefix is not reused at once).
type cidrSet struct {
	cluster netip.Prefix
	size    int // the node prefix length
	count   int // node prefixes in the cluster CIDR
	used    []bool
	inUse   int
	next    int
}

func newCIDRSet(cluster netip.Prefix, size int) (*cidrSet, error) {
	cluster = cluster.Masked()
	bits := cluster.Addr().BitLen()
	if size < cluster.Bits() || size > bits {
		return nil, fmt.Errorf("node CIDR mask size %d does not fit in cluster CIDR %s", size, cluster)
	}
	if size-cluster.Bits() > maxPrefixBits {
		return nil, fmt.Errorf("node CIDR mask size %d is more than %d bits longer than the cluster CIDR %s", size, maxPrefixBits, cluster)
	}
	n := 1 << (size - cluster.Bits())
	return &cidrSet{cluster: cluster, size: size, count: n, used: make([]bool, n)}, nil
}

// allocate returns the next free node prefix.
func (s *cidrSet) allocate() (netip.Prefix, error) {
	if s.inUse == s.count {
		return netip.Prefix{}, errCIDRFull
	}
	for i := 0; i < s.count; i++ {
		idx := (s.next + i) % s.count
		if !s.used[idx] {
			s.used[idx] = true
			s.inUse++
			s.next = (idx + 1) % s.count
			return s.prefixAt(idx), nil
		}
	}
	return netip.Prefix{}, errCIDRFull
}

// occupy marks every node prefix that p covers (or the one that covers p)
// as used; prefixes outside the cluster CIDR are an error.
func (s *cidrSet) occupy(p netip.Prefix) error {
	first, last, err := s.indexRange(p)
	if err != nil {
		return err
	}
	for i := first; i <= last; i++ {
		if !s.used[i] {
			s.used[i] = true
			s.inUse++
		}
	}
	return nil
}

// release frees what occupy or allocate marked for p.
func (s *cidrSet) release(p netip.Prefix) error {
	first, last, err := s.indexRange(p)
	if err != nil {
		return err
	}
	for i := first; i <= last; i++ {
		if s.used[i] {
			s.used[i] = false
			s.inUse--
		}
	}
	return nil
}

func (s *cidrSet) contains(p netip.Prefix) bool {
	return p.Addr().Is4() == s.cluster.Addr().Is4() && s.cluster.Overlaps(p)
}

func (s *cidrSet) indexRange(p netip.Prefix) (int, int, error) {
	p = p.Masked()
	if !s.contains(p) {
		return 0, 0, fmt.Errorf("CIDR %s is not in the cluster CIDR %s", p, s.cluster)
	}
	if p.Bits() < s.cluster.Bits() {
		p = s.cluster
	}
	first := s.index(p.Addr())
	if p.Bits() >= s.size {
		return first, first, nil
	}
	return first, first + (1 << (s.size - p.Bits())) - 1, nil
}

// index is the position of the node prefix holding addr.
func (s *cidrSet) index(addr netip.Addr) int {
	off := new(big.Int).Sub(new(big.Int).SetBytes(addr.AsSlice()), new(big.Int).SetBytes(s.cluster.Addr().AsSlice()))
	off.Rsh(off, uint(addr.BitLen()-s.size))
	return int(off.Int64())
}

func (s *cidrSet) prefixAt(idx int) netip.Prefix {
	base := new(big.Int).SetBytes(s.cluster.Addr().AsSlice())
	off := new(big.Int).Lsh(big.NewInt(int64(idx)), uint(s.cluster.Addr().BitLen()-s.size))
	b := base.Add(base, off).FillBytes(make([]byte, s.cluster.Addr().BitLen()/8))
	addr, _ := netip.AddrFromSlice(b)
	return netip.PrefixFrom(addr, s.size)
}
