package announce

import (
	"fmt"
	"net"
	"net/netip"
	"strconv"

	"golang.org/x/net/ipv6"
)

// ndpConn reads neighbor solicitations and sends advertisements on one
// interface (an ICMPv6 socket that lets only solicitations in).
type ndpConn struct {
	c   net.PacketConn
	pc  *ipv6.PacketConn
	ifi *net.Interface
	// groups counts the announced addresses of each solicited-node
	// group joined (addresses may share one).
	groups map[netip.Addr]int
}

// openNDP opens the socket on ifi; the caller's thread decides its
// network namespace.
func openNDP(ifi *net.Interface) (*ndpConn, error) {
	c, err := net.ListenPacket("ip6:ipv6-icmp", "::")
	if err != nil {
		return nil, fmt.Errorf("ndp: icmpv6 socket: %w", err)
	}
	pc := ipv6.NewPacketConn(c)
	var f ipv6.ICMPFilter
	f.SetAll(true)
	f.Accept(ipv6.ICMPTypeNeighborSolicitation)
	for _, set := range []func() error{
		func() error { return pc.SetICMPFilter(&f) },
		func() error { return pc.SetControlMessage(ipv6.FlagHopLimit|ipv6.FlagInterface, true) },
		func() error { return pc.SetHopLimit(ndpHopLimit) },
		func() error { return pc.SetMulticastHopLimit(ndpHopLimit) },
		func() error { return pc.SetMulticastInterface(ifi) },
		func() error { return pc.SetMulticastLoopback(false) },
	} {
		if err := set(); err != nil {
			c.Close()
			return nil, fmt.Errorf("ndp: socket options on %s: %w", ifi.Name, err)
		}
	}
	return &ndpConn{c: c, pc: pc, ifi: ifi, groups: map[netip.Addr]int{}}, nil
}

// join makes the interface receive solicitations for addr (the kernel
// reports the membership by MLD, so snooping switches pass them on).
func (c *ndpConn) join(addr netip.Addr) error {
	g := solicitedNode(addr)
	if c.groups[g]++; c.groups[g] > 1 {
		return nil
	}
	if err := c.pc.JoinGroup(c.ifi, &net.IPAddr{IP: g.AsSlice()}); err != nil {
		c.groups[g]--
		return fmt.Errorf("ndp: join %s on %s: %w", g, c.ifi.Name, err)
	}
	return nil
}

func (c *ndpConn) leave(addr netip.Addr) error {
	g := solicitedNode(addr)
	if c.groups[g]--; c.groups[g] > 0 {
		return nil
	}
	delete(c.groups, g)
	if err := c.pc.LeaveGroup(c.ifi, &net.IPAddr{IP: g.AsSlice()}); err != nil {
		return fmt.Errorf("ndp: leave %s on %s: %w", g, c.ifi.Name, err)
	}
	return nil
}

// read returns the next solicitation that arrived on the interface
// unrouted (hop limit 255), with its source.
func (c *ndpConn) read(b []byte) (neighborSolicitation, netip.Addr, error) {
	for {
		n, cm, src, err := c.pc.ReadFrom(b)
		if err != nil {
			return neighborSolicitation{}, netip.Addr{}, err
		}
		if cm == nil || cm.IfIndex != c.ifi.Index || cm.HopLimit != ndpHopLimit {
			continue
		}
		ns, err := parseNS(b[:n])
		from, ok := netip.AddrFromSlice(ipOf(src))
		if err != nil || !ok {
			continue
		}
		return ns, from, nil
	}
}

func ipOf(a net.Addr) net.IP {
	if ip, ok := a.(*net.IPAddr); ok {
		return ip.IP
	}
	return nil
}

// send writes msg to dst out of the interface (the numeric zone needs no
// name lookup, which would happen in the caller's namespace).
func (c *ndpConn) send(msg []byte, dst netip.Addr) error {
	to := &net.IPAddr{IP: dst.AsSlice(), Zone: strconv.Itoa(c.ifi.Index)}
	if _, err := c.pc.WriteTo(msg, &ipv6.ControlMessage{HopLimit: ndpHopLimit, IfIndex: c.ifi.Index}, to); err != nil {
		return fmt.Errorf("ndp: send to %s on %s: %w", dst, c.ifi.Name, err)
	}
	return nil
}

func (c *ndpConn) Close() error { return c.c.Close() }
