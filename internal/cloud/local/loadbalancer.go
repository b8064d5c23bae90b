package local

import (
	"context"
	"fmt"
	"net/netip"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/tools/cache"
	cloudprovider "k8s.io/cloud-provider"
	"k8s.io/utils/ptr"
)

// CleanupFinalizer is the service controller's finalizer: a service
// that has it holds a load balancer.
const CleanupFinalizer = "service.kubernetes.io/load-balancer-cleanup"

// GetLoadBalancerName is upstream's default name ("a" and the UID).
func (p *Provider) GetLoadBalancerName(_ context.Context, _ string, svc *corev1.Service) string {
	return cloudprovider.DefaultLoadBalancerName(svc)
}

// GetLoadBalancer returns the service's load balancer, if it has one.
func (p *Provider) GetLoadBalancer(_ context.Context, _ string, svc *corev1.Service) (*corev1.LoadBalancerStatus, bool, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	c, ok := p.restored()[keyOf(svc)]
	if !ok {
		return nil, false, nil
	}
	return statusOf(c.Addrs), true, nil
}

// EnsureLoadBalancer gives the service its addresses (Choose) and
// returns them as its status.
func (p *Provider) EnsureLoadBalancer(_ context.Context, _ string, svc *corev1.Service, nodes []*corev1.Node) (*corev1.LoadBalancerStatus, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	c, err := p.ensure(svc, nodes)
	if err != nil {
		return nil, err
	}
	return statusOf(c.Addrs), nil
}

// UpdateLoadBalancer follows a change of the node set: on the node
// addresses, the load balancer's addresses are the new nodes'.
func (p *Provider) UpdateLoadBalancer(_ context.Context, _ string, svc *corev1.Service, nodes []*corev1.Node) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, ok := p.restored()[keyOf(svc)]; !ok {
		return fmt.Errorf("service %s has no load balancer to update", keyOf(svc))
	}
	_, err := p.ensure(svc, nodes)
	return err
}

// EnsureLoadBalancerDeleted frees the service's addresses and ports.
func (p *Provider) EnsureLoadBalancerDeleted(_ context.Context, _ string, svc *corev1.Service) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.restored(), keyOf(svc))
	return nil
}

// ensure chooses the service's addresses and records them; p.mu is
// held.
func (p *Provider) ensure(svc *corev1.Service, nodes []*corev1.Node) (Claim, error) {
	claims := p.restored()
	key := keyOf(svc)
	want, err := wantOf(svc)
	if err != nil {
		return Claim{}, err
	}
	if c, ok := claims[key]; ok {
		want.Current = c.Addrs
	}
	others := make([]Claim, 0, len(claims))
	for k, c := range claims {
		if k != key {
			others = append(others, c)
		}
	}
	env := Env{Pool: p.opts.Pool, NodeAddrs: NodeAddrs(nodes), Reserved: p.opts.Reserved}
	addrs, err := Choose(want, env, others)
	if err != nil {
		return Claim{}, err
	}
	c := Claim{Service: key, Addrs: addrs, Ports: want.Ports}
	claims[key] = c
	return c, nil
}

// restored returns the claims, reading them back from the services'
// status the first time (after a restart the provider knows the load
// balancers it made); p.mu is held.
func (p *Provider) restored() map[string]Claim {
	if p.claims != nil {
		return p.claims
	}
	p.claims = map[string]Claim{}
	if p.services == nil {
		return p.claims
	}
	svcs, err := p.services.List(labels.Everything())
	if err != nil {
		return p.claims
	}
	for _, svc := range svcs {
		if svc.Spec.Type != corev1.ServiceTypeLoadBalancer || svc.Spec.LoadBalancerClass != nil || !hasFinalizer(svc) {
			continue
		}
		var addrs []netip.Addr
		for _, in := range svc.Status.LoadBalancer.Ingress {
			if a, err := netip.ParseAddr(in.IP); err == nil {
				addrs = append(addrs, a)
			}
		}
		if len(addrs) == 0 {
			continue
		}
		p.claims[keyOf(svc)] = Claim{Service: keyOf(svc), Addrs: sorted(addrs), Ports: portsOf(svc)}
	}
	return p.claims
}

// wantOf reads what a service asks of its load balancer.
func wantOf(svc *corev1.Service) (Want, error) {
	w := Want{Service: keyOf(svc), Ports: portsOf(svc), Families: svc.Spec.IPFamilies}
	if ip := svc.Spec.LoadBalancerIP; ip != "" {
		a, err := netip.ParseAddr(ip)
		if err != nil {
			return Want{}, fmt.Errorf("spec.loadBalancerIP %q: %w", ip, err)
		}
		w.Requested = []netip.Addr{a.Unmap()}
	}
	for _, r := range svc.Spec.LoadBalancerSourceRanges {
		if _, err := netip.ParsePrefix(r); err != nil {
			return Want{}, fmt.Errorf("spec.loadBalancerSourceRanges %q: %w", r, err)
		}
	}
	return w, nil
}

func portsOf(svc *corev1.Service) []Port {
	ports := make([]Port, 0, len(svc.Spec.Ports))
	for _, sp := range svc.Spec.Ports {
		proto := sp.Protocol
		if proto == "" {
			proto = corev1.ProtocolTCP
		}
		ports = append(ports, Port{Protocol: proto, Port: sp.Port})
	}
	return ports
}

// NodeAddrs are the addresses load balancers get on the node addresses:
// each ready node's ExternalIPs, or its InternalIPs when it has none.
func NodeAddrs(nodes []*corev1.Node) []netip.Addr {
	var out []netip.Addr
	for _, n := range nodes {
		if !ready(n) {
			continue
		}
		for _, typ := range []corev1.NodeAddressType{corev1.NodeExternalIP, corev1.NodeInternalIP} {
			var found []netip.Addr
			for _, a := range n.Status.Addresses {
				if a.Type != typ {
					continue
				}
				if ip, err := netip.ParseAddr(a.Address); err == nil {
					found = append(found, ip.Unmap())
				}
			}
			if len(found) > 0 {
				out = append(out, found...)
				break
			}
		}
	}
	return sorted(out)
}

func ready(n *corev1.Node) bool {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func statusOf(addrs []netip.Addr) *corev1.LoadBalancerStatus {
	st := &corev1.LoadBalancerStatus{}
	for _, a := range addrs {
		st.Ingress = append(st.Ingress, corev1.LoadBalancerIngress{IP: a.String(), IPMode: ptr.To(corev1.LoadBalancerIPModeVIP)})
	}
	return st
}

func hasFinalizer(svc *corev1.Service) bool {
	for _, f := range svc.Finalizers {
		if f == CleanupFinalizer {
			return true
		}
	}
	return false
}

func keyOf(svc *corev1.Service) string {
	k, _ := cache.MetaNamespaceKeyFunc(svc)
	return k
}
