package network

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"golang.org/x/sys/unix"
)

// ErrExhausted is returned when every address of the pod CIDR is taken.
var ErrExhausted = errors.New("no free address")

// allocator is a host-local IPv4 allocator. A reservation is a file named by
// the address holding the owner's ID, created exclusively before the address
// is handed out, so that no address goes to two owners even across a crash
// of the runtime (see file.go on durability); the last address handed out is
// remembered so that released addresses are reused last.
type allocator struct {
	dir    string
	subnet *net.IPNet
	mu     sync.Mutex
}

func newAllocator(stateDir string, subnet *net.IPNet) (*allocator, error) {
	dir := filepath.Join(stateDir, "ipam", strings.ReplaceAll(subnet.String(), "/", "_"))
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("ipam: %w", err)
	}
	return &allocator{dir: dir, subnet: subnet}, nil
}

// gateway is the first address of the subnet, the bridge's.
func (a *allocator) gateway() net.IP { return u32ToIP(ipToU32(a.subnet.IP) + 1) }

// bounds are the first and last address a pod may get.
func (a *allocator) bounds() (first, last uint32) {
	ones, bits := a.subnet.Mask.Size()
	base := ipToU32(a.subnet.IP)
	return base + 2, base + uint32(1)<<(bits-ones) - 2
}

// lock serializes allocators of other processes sharing the directory.
func (a *allocator) lock() (func(), error) {
	a.mu.Lock()
	f, err := os.OpenFile(filepath.Join(a.dir, "lock"), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		a.mu.Unlock()
		return nil, fmt.Errorf("ipam lock: %w", err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX); err != nil {
		f.Close()
		a.mu.Unlock()
		return nil, fmt.Errorf("ipam lock: %w", err)
	}
	return func() { f.Close(); a.mu.Unlock() }, nil
}

// Allocate reserves an address for id, or returns the one id already holds.
func (a *allocator) Allocate(id string) (net.IP, error) {
	unlock, err := a.lock()
	if err != nil {
		return nil, err
	}
	defer unlock()
	owners, err := a.owners()
	if err != nil {
		return nil, err
	}
	for ip, owner := range owners {
		if owner == id {
			return net.ParseIP(ip).To4(), nil
		}
	}
	first, last := a.bounds()
	start := a.lastReserved() + 1
	if start < first || start > last {
		start = first
	}
	size := last - first + 1
	for i := uint32(0); i < size; i++ {
		cand := first + (start-first+i)%size
		ip := u32ToIP(cand)
		if _, taken := owners[ip.String()]; taken {
			continue
		}
		if err := a.reserve(ip, id); err != nil {
			if errors.Is(err, os.ErrExist) {
				continue
			}
			return nil, err
		}
		return ip, nil
	}
	return nil, fmt.Errorf("allocate address in %s for %s: %w (all %d taken)", a.subnet, id, ErrExhausted, size)
}

func (a *allocator) reserve(ip net.IP, id string) error {
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

func (a *allocator) lastReserved() uint32 {
	b, err := os.ReadFile(filepath.Join(a.dir, "last_reserved"))
	if err != nil {
		return 0
	}
	ip := net.ParseIP(strings.TrimSpace(string(b))).To4()
	if ip == nil {
		return 0
	}
	return ipToU32(ip)
}

// Release frees every address id holds. Releasing nothing is not an error.
func (a *allocator) Release(id string) error {
	unlock, err := a.lock()
	if err != nil {
		return err
	}
	defer unlock()
	owners, err := a.owners()
	if err != nil {
		return err
	}
	for ip, owner := range owners {
		if owner != id {
			continue
		}
		if err := os.Remove(filepath.Join(a.dir, ip)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("release %s of %s: %w", ip, id, err)
		}
	}
	return nil
}

// Owners returns address -> owner ID of every reservation.
func (a *allocator) Owners() (map[string]string, error) {
	unlock, err := a.lock()
	if err != nil {
		return nil, err
	}
	defer unlock()
	return a.owners()
}

func (a *allocator) owners() (map[string]string, error) {
	entries, err := os.ReadDir(a.dir)
	if err != nil {
		return nil, fmt.Errorf("ipam: %w", err)
	}
	owners := make(map[string]string, len(entries))
	for _, e := range entries {
		if net.ParseIP(e.Name()) == nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join(a.dir, e.Name()))
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				continue
			}
			return nil, fmt.Errorf("ipam: %w", err)
		}
		owners[e.Name()] = strings.TrimSpace(string(b))
	}
	return owners, nil
}

func ipToU32(ip net.IP) uint32 { return binary.BigEndian.Uint32(ip.To4()) }

func u32ToIP(v uint32) net.IP {
	ip := make(net.IP, 4)
	binary.BigEndian.PutUint32(ip, v)
	return ip
}
