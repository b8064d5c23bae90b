package network

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// vethName is the host end of a sandbox's veth: "veth" and 11 hex digits of
// the sandbox ID's hash (15 characters, the longest name Linux takes).
func vethName(id string) string {
	sum := sha256.Sum256([]byte(id))
	return "veth" + hex.EncodeToString(sum[:])[:11]
}

// isVethName tells a name vethName could have made.
func isVethName(name string) bool {
	if len(name) != 15 || name[:4] != "veth" {
		return false
	}
	for _, c := range name[4:] {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// podLink describes the pod end to configure.
type podLink struct {
	hostName string
	bridge   netlink.Link
	mtu      int
	addrs    []*net.IPNet // one per family, IPv4 first
	gateways []net.IP     // in the same order
}

// createVeth makes the veth pair with its pod end, eth0, directly in the
// sandbox's namespace, attaches the host end to the bridge with hairpin on,
// and configures the pod end: address, up, default route through the
// gateway, lo up.
func createVeth(host *netlink.Handle, podNSPath string, p podLink) error {
	podNS, err := netns.GetFromPath(podNSPath)
	if err != nil {
		return fmt.Errorf("open sandbox netns %s: %w", podNSPath, err)
	}
	defer podNS.Close()
	pod, err := netlink.NewHandleAt(podNS)
	if err != nil {
		return fmt.Errorf("netlink in sandbox netns: %w", err)
	}
	defer pod.Delete()

	attrs := netlink.NewLinkAttrs()
	attrs.Name = p.hostName
	attrs.MTU = p.mtu
	veth := netlink.NewVeth(attrs)
	veth.PeerName = podInterface
	veth.PeerMTU = uint32(p.mtu)
	veth.PeerNamespace = netlink.NsFd(podNS)
	err = host.LinkAdd(veth)
	if errors.Is(err, os.ErrExist) {
		// A retried Setup finds the previous attempt's links.
		if err := deleteLink(host, p.hostName); err != nil {
			return err
		}
		if err := deleteLink(pod, podInterface); err != nil {
			return err
		}
		err = host.LinkAdd(veth)
	}
	if err != nil {
		return fmt.Errorf("create veth %s: %w", p.hostName, err)
	}
	hostEnd, err := host.LinkByName(p.hostName)
	if err != nil {
		return fmt.Errorf("veth %s: %w", p.hostName, err)
	}
	if err := host.LinkSetUp(hostEnd); err != nil {
		return fmt.Errorf("set %s up: %w", p.hostName, err)
	}
	if err := configurePod(pod, p); err != nil {
		return err
	}
	// The kernel applies a carrier change asynchronously, and drops packets
	// through the link until it has; a bridge port whose carrier came up
	// after it was attached stays disabled a while longer. So: wait for
	// both ends to be up, then attach, which enables the port at once.
	// Otherwise a pod's first packets (ARP, neighbor solicitation, SYN)
	// were lost and its first connection took a second.
	if err := waitOperUp(pod, podInterface, 2*time.Second); err != nil {
		return err
	}
	if err := waitOperUp(host, p.hostName, 2*time.Second); err != nil {
		return err
	}
	if err := host.LinkSetMaster(hostEnd, p.bridge); err != nil {
		return fmt.Errorf("attach %s to %s: %w", p.hostName, p.bridge.Attrs().Name, err)
	}
	// Hairpin lets a pod reach itself through the bridge (its own hostPort
	// or a service it backs, when the bridge forwards the packet).
	if err := host.LinkSetHairpin(hostEnd, true); err != nil {
		return fmt.Errorf("hairpin on %s: %w", p.hostName, err)
	}
	if hasIPv6(p.addrs) {
		return waitAddrsReady(pod, podInterface, 2*time.Second)
	}
	return nil
}

func configurePod(pod *netlink.Handle, p podLink) error {
	lo, err := pod.LinkByName("lo")
	if err != nil {
		return fmt.Errorf("sandbox lo: %w", err)
	}
	if lo.Attrs().Flags&net.FlagUp == 0 { // CreateNetNS's are up already
		if err := pod.LinkSetUp(lo); err != nil {
			return fmt.Errorf("sandbox lo up: %w", err)
		}
	}
	eth, err := pod.LinkByName(podInterface)
	if err != nil {
		return fmt.Errorf("sandbox %s: %w", podInterface, err)
	}
	if hasIPv6(p.addrs) {
		if err := linkLocalWithoutDAD(pod, eth); err != nil {
			return err
		}
	}
	for _, a := range p.addrs {
		if err := pod.AddrAdd(eth, podAddr(a)); err != nil {
			return fmt.Errorf("sandbox %s address %s: %w", podInterface, a, err)
		}
	}
	if err := pod.LinkSetUp(eth); err != nil {
		return fmt.Errorf("sandbox %s up: %w", podInterface, err)
	}
	for _, gw := range p.gateways {
		bits := 128
		if gw.To4() != nil {
			bits = 32
		}
		def := &netlink.Route{LinkIndex: eth.Attrs().Index, Gw: gw, Dst: &net.IPNet{IP: make(net.IP, bits/8), Mask: net.CIDRMask(0, bits)}}
		if err := pod.RouteReplace(def); err != nil {
			return fmt.Errorf("sandbox default route via %s: %w", gw, err)
		}
	}
	return nil
}

// deleteLink deletes the named link; none is fine.
func deleteLink(h *netlink.Handle, name string) error {
	l, err := h.LinkByName(name)
	if errors.As(err, new(netlink.LinkNotFoundError)) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("find %s: %w", name, err)
	}
	if err := h.LinkDel(l); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("delete %s: %w", name, err)
	}
	return nil
}

// waitAddrsReady waits (bounded) until every IPv6 address of the link can
// receive: not tentative, and with its route in the local table. The kernel
// finishes configuring even a NODAD address asynchronously after the
// carrier comes up; until then packets to it are dropped, and a pod's
// first IPv6 connection lost its neighbor advertisement (a second).
func waitAddrsReady(h *netlink.Handle, name string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	pause := 100 * time.Microsecond
	for {
		pending, err := pendingAddr(h, name)
		if err != nil {
			return fmt.Errorf("wait for %s: %w", name, err)
		}
		if pending == "" {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s: address %s still not ready after %v", name, pending, timeout)
		}
		time.Sleep(pause)
		pause = min(2*pause, 10*time.Millisecond)
	}
}

// pendingAddr is an IPv6 address of the link that cannot receive yet, or "".
func pendingAddr(h *netlink.Handle, name string) (string, error) {
	l, err := h.LinkByName(name)
	if err != nil {
		return "", err
	}
	addrs, err := h.AddrList(l, netlink.FAMILY_V6)
	if err != nil {
		return "", err
	}
	routes, err := h.RouteListFiltered(netlink.FAMILY_V6, &netlink.Route{Table: unix.RT_TABLE_LOCAL}, netlink.RT_FILTER_TABLE)
	if err != nil {
		return "", err
	}
	local := map[string]bool{}
	for _, r := range routes {
		if r.Type == unix.RTN_LOCAL && r.Dst != nil {
			local[r.Dst.IP.String()] = true
		}
	}
	for _, a := range addrs {
		if a.Flags&unix.IFA_F_TENTATIVE != 0 || !local[a.IP.String()] {
			return a.IPNet.String(), nil
		}
	}
	return "", nil
}
