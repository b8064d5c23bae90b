package network

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
)

// ErrExhausted is returned when every address of the pod CIDR is taken.
var ErrExhausted = errors.New("no free address")

// allocator is a host-local allocator of one pod CIDR (IPv4 or IPv6). A
// reservation is a file named by the address holding the owner's ID,
// created exclusively before the address is handed out, so that no address
// goes to two owners even across a crash of the runtime (see file.go on
// durability), nor between two processes sharing the directory (the
// exclusive create fails for the second); the last address handed out is
// remembered so that released addresses are reused last.
//
// The reservations are read once and then kept in memory: scanning the
// directory for every allocation serialized concurrent Setups for tens of
// milliseconds each. What another process did is still safe: its
// reservations make the exclusive create fail, its releases are only seen
// by Owners (which rereads).
type allocator struct {
	dir    string
	subnet netip.Prefix

	mu     sync.Mutex
	cached map[netip.Addr]string // nil until read
	last   netip.Addr
}

func newAllocator(stateDir string, subnet *net.IPNet) (*allocator, error) {
	p, err := toPrefix(subnet)
	if err != nil {
		return nil, err
	}
	dir := filepath.Join(stateDir, "ipam", poolDirName(subnet))
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("ipam: %w", err)
	}
	return &allocator{dir: dir, subnet: p}, nil
}

func poolDirName(subnet *net.IPNet) string { return strings.ReplaceAll(subnet.String(), "/", "_") }

func toPrefix(n *net.IPNet) (netip.Prefix, error) {
	ip := n.IP
	if v4 := ip.To4(); v4 != nil {
		ip = v4
	}
	addr, ok := netip.AddrFromSlice(ip)
	if !ok {
		return netip.Prefix{}, fmt.Errorf("ipam: bad subnet %s", n)
	}
	ones, _ := n.Mask.Size()
	return netip.PrefixFrom(addr, ones).Masked(), nil
}

// bounds are the first and last address a pod may get: after the network
// address and the gateway, before the last address (IPv4's broadcast).
func (a *allocator) bounds() (first, last netip.Addr) {
	first = a.subnet.Addr().Next().Next()
	last = lastAddr(a.subnet).Prev()
	return first, last
}

func lastAddr(p netip.Prefix) netip.Addr {
	b := p.Addr().AsSlice()
	for i := range b {
		bitsBefore := i * 8
		switch {
		case bitsBefore >= p.Bits():
			b[i] = 0xff
		case bitsBefore+8 > p.Bits():
			b[i] |= 0xff >> (p.Bits() - bitsBefore)
		}
	}
	addr, _ := netip.AddrFromSlice(b)
	return addr
}

// load reads the reservations unless they are in memory; a.mu held.
func (a *allocator) load() error {
	if a.cached != nil {
		return nil
	}
	owners, err := a.readOwners()
	if err != nil {
		return err
	}
	a.cached, a.last = owners, a.lastReserved()
	return nil
}

// Allocate reserves an address for id, or returns the one id already holds.
func (a *allocator) Allocate(id string) (net.IP, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if err := a.load(); err != nil {
		return nil, err
	}
	for ip, owner := range a.cached {
		if owner == id {
			return net.IP(ip.AsSlice()), nil
		}
	}
	first, last := a.bounds()
	start := a.last.Next()
	if !a.last.IsValid() || !start.IsValid() || start.Less(first) || last.Less(start) {
		start = first
	}
	// Round the range once from after the last reservation; the taken
	// addresses are few, so even an IPv6 range finds a free one at once.
	for cand := start; ; {
		if _, taken := a.cached[cand]; !taken {
			err := a.reserve(cand, id)
			if err == nil {
				a.cached[cand], a.last = id, cand
				return net.IP(cand.AsSlice()), nil
			}
			if !errors.Is(err, os.ErrExist) {
				return nil, err
			}
		}
		if cand == last {
			cand = first
		} else {
			cand = cand.Next()
		}
		if cand == start {
			break
		}
	}
	return nil, fmt.Errorf("allocate address in %s for %s: %w (all %d taken)", a.subnet, id, ErrExhausted, len(a.cached))
}

func (a *allocator) reserve(ip netip.Addr, id string) error {
	path := filepath.Join(a.dir, ip.String())
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("reserve %s: %w", ip, err)
	}
	_, werr := f.WriteString(id)
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		os.Remove(path)
		return fmt.Errorf("reserve %s: %w", ip, werr)
	}
	// Only an optimisation of the order: a lost write reuses an address
	// earlier than it would have, never twice.
	_ = os.WriteFile(filepath.Join(a.dir, "last_reserved"), []byte(ip.String()), 0o600)
	return nil
}

func (a *allocator) lastReserved() netip.Addr {
	b, err := os.ReadFile(filepath.Join(a.dir, "last_reserved"))
	if err != nil {
		return netip.Addr{}
	}
	ip, err := netip.ParseAddr(strings.TrimSpace(string(b)))
	if err != nil || ip.Is4() != a.subnet.Addr().Is4() {
		return netip.Addr{}
	}
	return ip
}

// Release frees every address id holds. Releasing nothing is not an error.
func (a *allocator) Release(id string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if err := a.load(); err != nil {
		return err
	}
	for ip, owner := range a.cached {
		if owner != id {
			continue
		}
		if err := os.Remove(filepath.Join(a.dir, ip.String())); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("release %s of %s: %w", ip, id, err)
		}
		delete(a.cached, ip)
	}
	return nil
}

// Owners rereads the reservations from disk and returns address -> owner.
func (a *allocator) Owners() (map[string]string, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	owners, err := a.readOwners()
	if err != nil {
		return nil, err
	}
	a.cached = owners
	out := make(map[string]string, len(owners))
	for ip, owner := range owners {
		out[ip.String()] = owner
	}
	return out, nil
}

func (a *allocator) readOwners() (map[netip.Addr]string, error) {
	entries, err := os.ReadDir(a.dir)
	if err != nil {
		return nil, fmt.Errorf("ipam: %w", err)
	}
	owners := make(map[netip.Addr]string, len(entries))
	for _, e := range entries {
		ip, err := netip.ParseAddr(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join(a.dir, e.Name()))
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				continue
			}
			return nil, fmt.Errorf("ipam: %w", err)
		}
		owners[ip] = strings.TrimSpace(string(b))
	}
	return owners, nil
}

func ipToU32(ip net.IP) uint32 {
	v4 := ip.To4()
	return uint32(v4[0])<<24 | uint32(v4[1])<<16 | uint32(v4[2])<<8 | uint32(v4[3])
}

func u32ToIP(v uint32) net.IP { return net.IPv4(byte(v>>24), byte(v>>16), byte(v>>8), byte(v)).To4() }
