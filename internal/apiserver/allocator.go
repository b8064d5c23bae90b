package apiserver

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"math/rand/v2"
	"net/netip"
	"sync"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/kemudi/kemudi/internal/registry/core/service"
	"github.com/kemudi/kemudi/internal/storage"
)

// PortRange is an inclusive range of node ports.
type PortRange struct{ Base, Max int32 }

// servicePools hands out cluster IPs from the service CIDR and node ports
// from their range. The truth is the stored services: the pools are
// loaded from them on first use and then kept in step by every service
// write this server makes. (Several API servers on one etcd would need the
// pools themselves in etcd, as upstream's allocators keep them.)
type servicePools struct {
	store  *storage.Store
	cidr   netip.Prefix
	ports  PortRange
	mu     sync.Mutex
	loaded bool
	ips    map[netip.Addr]bool
	used   map[int32]bool
}

var errFull = errors.New("range is full")

func newServicePools(store *storage.Store, cidr netip.Prefix, ports PortRange) *servicePools {
	return &servicePools{store: store, cidr: cidr.Masked(), ports: ports, ips: map[netip.Addr]bool{}, used: map[int32]bool{}}
}

// load fills the pools from the stored services, once.
func (p *servicePools) load(ctx context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.loaded {
		return nil
	}
	res, err := p.store.List(ctx, storage.Prefix+"services/", storage.ListOptions{})
	if err != nil {
		return fmt.Errorf("load service allocations: %w", err)
	}
	for _, obj := range res.Items {
		held := service.HoldsOf(obj.(*corev1.Service))
		for _, ip := range held.IPs {
			if a, err := netip.ParseAddr(ip); err == nil {
				p.ips[a] = true
			}
		}
		for _, port := range held.NodePorts {
			p.used[port] = true
		}
	}
	p.loaded = true
	return nil
}

// first and size give the allocatable addresses: the CIDR without its
// network and broadcast addresses.
func (p *servicePools) first() netip.Addr { return p.cidr.Addr().Next() }

func (p *servicePools) size() int {
	bits := p.cidr.Addr().BitLen() - p.cidr.Bits()
	if bits > 20 {
		bits = 20 // at most a million candidates to scan
	}
	return 1<<bits - 2
}

func offset(from, to netip.Addr) int {
	f, t := new(big.Int).SetBytes(from.AsSlice()), new(big.Int).SetBytes(to.AsSlice())
	return int(new(big.Int).Sub(t, f).Int64())
}

func addOffset(a netip.Addr, n int) netip.Addr {
	v := new(big.Int).Add(new(big.Int).SetBytes(a.AsSlice()), big.NewInt(int64(n)))
	b := v.FillBytes(make([]byte, len(a.AsSlice())))
	out, _ := netip.AddrFromSlice(b)
	return out
}

// ReserveIP implements service.Allocator.
func (p *servicePools) ReserveIP(ip string) error {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return fmt.Errorf("failed to parse IP %s", ip)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.cidr.Contains(a) || a == p.cidr.Addr() || offset(p.first(), a) >= p.size() {
		return fmt.Errorf("the provided IP (%s) is not in the valid range. The range of valid IPs is %s", ip, p.cidr)
	}
	if p.ips[a] {
		return errors.New("provided IP is already allocated")
	}
	p.ips[a] = true
	return nil
}

// NextIP implements service.Allocator: a random free address, as
// upstream, so that deleted services' addresses are not reused at once.
func (p *servicePools) NextIP() (string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := p.size()
	start := rand.IntN(n)
	for i := 0; i < n; i++ {
		a := addOffset(p.first(), (start+i)%n)
		if !p.ips[a] {
			p.ips[a] = true
			return a.String(), nil
		}
	}
	return "", errFull
}

// ReleaseIP implements service.Allocator.
func (p *servicePools) ReleaseIP(ip string) {
	if a, err := netip.ParseAddr(ip); err == nil {
		p.mu.Lock()
		delete(p.ips, a)
		p.mu.Unlock()
	}
}

// ReserveNodePort implements service.Allocator.
func (p *servicePools) ReserveNodePort(port int32) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if port < p.ports.Base || port > p.ports.Max {
		return fmt.Errorf("provided port is not in the valid range. The range of valid ports is %d-%d", p.ports.Base, p.ports.Max)
	}
	if p.used[port] {
		return errors.New("provided port is already allocated")
	}
	p.used[port] = true
	return nil
}

// NextNodePort implements service.Allocator.
func (p *servicePools) NextNodePort() (int32, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := int(p.ports.Max - p.ports.Base + 1)
	start := rand.IntN(n)
	for i := 0; i < n; i++ {
		port := p.ports.Base + int32((start+i)%n)
		if !p.used[port] {
			p.used[port] = true
			return port, nil
		}
	}
	return 0, errFull
}

// ReleaseNodePort implements service.Allocator.
func (p *servicePools) ReleaseNodePort(port int32) {
	p.mu.Lock()
	delete(p.used, port)
	p.mu.Unlock()
}

func (p *servicePools) release(h service.Held) {
	for _, ip := range h.IPs {
		p.ReleaseIP(ip)
	}
	for _, port := range h.NodePorts {
		p.ReleaseNodePort(port)
	}
}

// allocation lets a resource take from shared pools as it is written.
type allocation interface {
	// allocate takes what obj needs (old is nil on create). undo gives it
	// back if the write fails; commit gives back what old held and obj no
	// longer does, once the write succeeded.
	allocate(ctx context.Context, obj, old runtime.Object) (undo, commit func(), err error)
	// released is called once obj is gone from storage.
	released(obj runtime.Object)
}

// serviceAllocation gives services their cluster IPs and node ports.
type serviceAllocation struct{ pools *servicePools }

func (a serviceAllocation) allocate(ctx context.Context, obj, old runtime.Object) (func(), func(), error) {
	if err := a.pools.load(ctx); err != nil {
		return nil, nil, err
	}
	var oldSvc *corev1.Service
	if old != nil {
		oldSvc = old.(*corev1.Service)
	}
	taken, release, err := service.Allocate(obj.(*corev1.Service), oldSvc, a.pools)
	if err != nil {
		return nil, nil, err
	}
	return func() { a.pools.release(taken) }, func() { a.pools.release(release) }, nil
}

func (a serviceAllocation) released(obj runtime.Object) {
	if svc, ok := obj.(*corev1.Service); ok && a.pools.loaded {
		a.pools.release(service.HoldsOf(svc))
	}
}
