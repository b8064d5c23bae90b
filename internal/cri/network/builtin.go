package network

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/kemudi/kemudi/internal/netnsrun"
)

// setupBuiltin: reserve an address (on disk), record the sandbox, then
// configure veth, addresses, routes and hostPort rules. The caller undoes a
// failure with Teardown, which the reservation and the record make complete.
func (m *Manager) setupBuiltin(_ context.Context, sb SandboxNet) (Result, error) {
	subnets := m.currentPodCIDRs()
	if subnets == nil {
		return Result{}, fmt.Errorf("%w: no pod CIDR yet", ErrNotReady)
	}
	ips, rec, err := m.reserve(sb, subnets)
	if err != nil {
		return Result{}, err
	}
	rules, err := hostPortRules(sb.ID, ips, sb.PortMappings)
	if err != nil {
		return Result{}, err
	}

	h, err := netlink.NewHandleAt(m.hostNS)
	if err != nil {
		return Result{}, fmt.Errorf("netlink in node netns: %w", err)
	}
	defer h.Delete()
	mtu := m.podMTU()
	br, err := m.readyBridge(h, subnets, mtu)
	if err != nil {
		return Result{}, err
	}
	link := podLink{hostName: rec.HostVeth, bridge: br, mtu: mtu}
	for i, s := range subnets {
		link.addrs = append(link.addrs, &net.IPNet{IP: ips[i], Mask: s.Mask})
		link.gateways = append(link.gateways, gatewayOf(s))
	}
	if err := createVeth(h, sb.NetNS, link); err != nil {
		return Result{}, err
	}
	if err := m.nft.setSandbox(sb.ID, rules); errors.Is(err, unix.ENOENT) {
		// Someone deleted kemudi's table or a chain of it: make it again.
		m.log.Warn("nftables table missing, recreating it", "table", TableName)
		m.mu.Lock()
		err = m.configureNode(subnets)
		m.mu.Unlock()
		if err == nil {
			err = m.nft.setSandbox(sb.ID, rules)
		}
		if err != nil {
			return Result{}, err
		}
	} else if err != nil {
		return Result{}, err
	}
	if br.Attrs().OperState != netlink.OperUp {
		// Only within a second of the bridge's creation (see ensureCarrierPort).
		if err := waitOperUp(h, m.opts.Bridge, 2*time.Second); err != nil {
			return Result{}, err
		}
	}
	m.log.Debug("sandbox network up", "sandbox", sb.ID, "ips", ips, "veth", rec.HostVeth)
	return Result{IPs: ips, Gateway: link.gateways[0], Interface: podInterface}, nil
}

// readyBridge returns the bridge as configureNode left it, or makes it
// again if it is gone or down (every netlink request costs: the kernel
// serializes them, and with 30 pods set up at once they added up).
func (m *Manager) readyBridge(h *netlink.Handle, subnets []*net.IPNet, mtu int) (netlink.Link, error) {
	br, err := h.LinkByName(m.opts.Bridge)
	if err == nil && br.Type() == "bridge" && br.Attrs().Flags&net.FlagUp != 0 {
		return br, nil
	}
	return ensureBridge(h, m.opts.Bridge, subnets, mtu)
}

// reserve claims the sandbox's host ports (refusing ones another sandbox
// holds), reserves an address in each pod CIDR and records them.
func (m *Manager) reserve(sb SandboxNet, subnets []*net.IPNet) ([]net.IP, record, error) {
	if err := m.claimHostPorts(sb); err != nil {
		return nil, record{}, err
	}
	rec := record{
		ID: sb.ID, Mode: modeBuiltin, NetNS: sb.NetNS, HostVeth: vethName(sb.ID), PortMappings: sb.PortMappings,
		Name: sb.Name, Namespace: sb.Namespace, UID: sb.UID,
	}
	var ips []net.IP
	for _, s := range subnets {
		alloc, err := m.allocator(s)
		if err != nil {
			return nil, record{}, err
		}
		ip, err := alloc.Allocate(sb.ID)
		if err != nil {
			return nil, record{}, err
		}
		ips = append(ips, ip)
		rec.PodCIDRs = append(rec.PodCIDRs, s.String())
		rec.IPs = append(rec.IPs, ip.String())
	}
	if err := m.records.put(rec); err != nil {
		return nil, record{}, err
	}
	return ips, rec, nil
}

// teardownBuiltin deletes the host end of the veth (the pod end goes with
// it, or went with the namespace), the hostPort rules and the address.
func (m *Manager) teardownBuiltin(rec record) error {
	h, err := netlink.NewHandleAt(m.hostNS)
	if err != nil {
		return fmt.Errorf("netlink in node netns: %w", err)
	}
	defer h.Delete()
	name := rec.HostVeth
	if name == "" {
		name = vethName(rec.ID)
	}
	var errs []error
	errs = append(errs, deleteLink(h, name))
	errs = append(errs, m.nft.removeSandboxes(func(id string) bool { return id == rec.ID }))
	subnets := m.currentPodCIDRs()
	if len(rec.PodCIDRs) > 0 {
		subnets = nil
		for _, c := range rec.PodCIDRs {
			if s, err := parsePodCIDR(c); err == nil {
				subnets = append(subnets, s)
			}
		}
	}
	for _, subnet := range subnets {
		alloc, err := m.allocator(subnet)
		if err == nil {
			err = alloc.Release(rec.ID)
		}
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// checkBuiltin verifies the host end is on the bridge and up, and the pod
// end holds the sandbox's address.
func (m *Manager) checkBuiltin(rec record) error {
	h, err := netlink.NewHandleAt(m.hostNS)
	if err != nil {
		return fmt.Errorf("netlink in node netns: %w", err)
	}
	defer h.Delete()
	br, err := h.LinkByName(m.opts.Bridge)
	if err != nil {
		return fmt.Errorf("network check of sandbox %s: bridge %s: %w", rec.ID, m.opts.Bridge, err)
	}
	host, err := h.LinkByName(rec.HostVeth)
	if err != nil {
		return fmt.Errorf("network check of sandbox %s: %s: %w", rec.ID, rec.HostVeth, err)
	}
	if host.Attrs().MasterIndex != br.Attrs().Index || host.Attrs().Flags&net.FlagUp == 0 {
		return fmt.Errorf("network check of sandbox %s: %s is not up on %s", rec.ID, rec.HostVeth, m.opts.Bridge)
	}
	pod, err := netnsrun.Netlink(rec.NetNS)
	if err != nil {
		return fmt.Errorf("network check of sandbox %s: %w", rec.ID, err)
	}
	defer pod.Delete()
	eth, err := pod.LinkByName(podInterface)
	if err != nil {
		return fmt.Errorf("network check of sandbox %s: %s: %w", rec.ID, podInterface, err)
	}
	addrs, err := pod.AddrList(eth, netlink.FAMILY_ALL)
	if err != nil {
		return fmt.Errorf("network check of sandbox %s: %w", rec.ID, err)
	}
	for _, want := range rec.IPs {
		found := false
		for _, a := range addrs {
			found = found || a.IP.String() == want
		}
		if !found {
			return fmt.Errorf("network check of sandbox %s: %s lost address %s", rec.ID, podInterface, want)
		}
	}
	return nil
}
