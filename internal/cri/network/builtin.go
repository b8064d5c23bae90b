package network

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// setupBuiltin: reserve an address (on disk), record the sandbox, then
// configure veth, addresses, routes and hostPort rules. The caller undoes a
// failure with Teardown, which the reservation and the record make complete.
func (m *Manager) setupBuiltin(_ context.Context, sb SandboxNet) (Result, error) {
	subnet := m.currentPodCIDR()
	if subnet == nil {
		return Result{}, fmt.Errorf("%w: no pod CIDR yet", ErrNotReady)
	}
	ip, rec, err := m.reserve(sb, subnet)
	if err != nil {
		return Result{}, err
	}
	rules, err := hostPortRules(sb.ID, ip, sb.PortMappings)
	if err != nil {
		return Result{}, err
	}

	h, err := netlink.NewHandleAt(m.hostNS)
	if err != nil {
		return Result{}, fmt.Errorf("netlink in node netns: %w", err)
	}
	defer h.Delete()
	gw := gatewayOf(subnet)
	mtu := uplinkMTU(h)
	br, err := ensureBridge(h, m.opts.Bridge, gw, subnet, mtu)
	if err != nil {
		return Result{}, err
	}
	err = createVeth(h, sb.NetNS, podLink{
		hostName: rec.HostVeth, bridge: br, mtu: mtu,
		addr: &net.IPNet{IP: ip, Mask: subnet.Mask}, gateway: gw,
	})
	if err != nil {
		return Result{}, err
	}
	if err := m.nft.setSandbox(sb.ID, rules); errors.Is(err, unix.ENOENT) {
		// Someone deleted kemudi's table or a chain of it: make it again.
		m.log.Warn("nftables table missing, recreating it", "table", TableName)
		m.mu.Lock()
		err = m.configureNode(subnet)
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
	m.log.Debug("sandbox network up", "sandbox", sb.ID, "ip", ip, "veth", rec.HostVeth)
	return Result{IPs: []net.IP{ip}, Gateway: gw, Interface: podInterface}, nil
}

// reserve checks the sandbox's host ports against other sandboxes,
// reserves its address and records it: one step for concurrent Setups.
func (m *Manager) reserve(sb SandboxNet, subnet *net.IPNet) (net.IP, record, error) {
	if hasHostPorts(sb.PortMappings) {
		m.portMu.Lock()
		defer m.portMu.Unlock()
		if err := m.hostPortConflict(sb); err != nil {
			return nil, record{}, err
		}
	}
	alloc, err := m.allocator(subnet)
	if err != nil {
		return nil, record{}, err
	}
	ip, err := alloc.Allocate(sb.ID)
	if err != nil {
		return nil, record{}, err
	}
	rec := record{
		ID: sb.ID, Mode: modeBuiltin, NetNS: sb.NetNS, HostVeth: vethName(sb.ID),
		PodCIDR: subnet.String(), IPs: []string{ip.String()}, PortMappings: sb.PortMappings,
		Name: sb.Name, Namespace: sb.Namespace, UID: sb.UID,
	}
	if err := m.records.put(rec); err != nil {
		return nil, record{}, err
	}
	return ip, rec, nil
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
	subnet := m.currentPodCIDR()
	if rec.PodCIDR != "" {
		if s, err := parsePodCIDR(rec.PodCIDR); err == nil {
			subnet = s
		}
	}
	if subnet != nil {
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
	pod, err := handleAt(rec.NetNS)
	if err != nil {
		return fmt.Errorf("network check of sandbox %s: %w", rec.ID, err)
	}
	defer pod.Delete()
	eth, err := pod.LinkByName(podInterface)
	if err != nil {
		return fmt.Errorf("network check of sandbox %s: %s: %w", rec.ID, podInterface, err)
	}
	addrs, err := pod.AddrList(eth, netlink.FAMILY_V4)
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
