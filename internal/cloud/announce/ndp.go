package announce

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/netip"
)

// IPv6 neighbor discovery (RFC 4861) messages as an ICMPv6 socket reads
// and writes them: the ICMPv6 message without the IPv6 header, whose
// checksum the kernel computes.
const (
	icmpNeighborSolicitation  = 135
	icmpNeighborAdvertisement = 136
	// ndpHopLimit is the only hop limit neighbor discovery accepts: the
	// message cannot have crossed a router.
	ndpHopLimit = 255

	ndpHeaderLen      = 24 // type, code, checksum, flags/reserved, target
	optSourceLinkAddr = 1
	optTargetLinkAddr = 2

	naFlagSolicited = 0x40
	naFlagOverride  = 0x20
)

var errNotNS = errors.New("not a neighbor solicitation")

// neighborSolicitation is what an announcer needs of one.
type neighborSolicitation struct {
	Target netip.Addr
	// SourceMAC is the source link-layer address option's, if any.
	SourceMAC net.HardwareAddr
}

// parseNS validates an ICMPv6 message as RFC 4861 section 7.1.1 asks
// (what it can see of it: the hop limit is the caller's).
func parseNS(b []byte) (neighborSolicitation, error) {
	if len(b) < ndpHeaderLen {
		return neighborSolicitation{}, fmt.Errorf("%w: %d bytes", errNotNS, len(b))
	}
	if b[0] != icmpNeighborSolicitation || b[1] != 0 {
		return neighborSolicitation{}, fmt.Errorf("%w: type %d code %d", errNotNS, b[0], b[1])
	}
	ns := neighborSolicitation{Target: netip.AddrFrom16([16]byte(b[8:24]))}
	if ns.Target.IsMulticast() {
		return neighborSolicitation{}, fmt.Errorf("%w: multicast target %s", errNotNS, ns.Target)
	}
	for opts := b[ndpHeaderLen:]; len(opts) > 0; {
		if len(opts) < 2 || opts[1] == 0 || int(opts[1])*8 > len(opts) {
			return neighborSolicitation{}, fmt.Errorf("%w: malformed option", errNotNS)
		}
		n := int(opts[1]) * 8
		if opts[0] == optSourceLinkAddr && n >= 8 {
			ns.SourceMAC = net.HardwareAddr(bytes.Clone(opts[2:8]))
		}
		opts = opts[n:]
	}
	return ns, nil
}

// neighborAdvertisement says target is at mac: solicited in answer to a
// solicitation, unsolicited (to all nodes) when the node takes the
// address over. Override is set: the address moved, the old entry must
// go.
func neighborAdvertisement(target netip.Addr, mac net.HardwareAddr, solicited bool) []byte {
	b := make([]byte, ndpHeaderLen+8)
	b[0] = icmpNeighborAdvertisement
	b[4] = naFlagOverride
	if solicited {
		b[4] |= naFlagSolicited
	}
	t := target.As16()
	copy(b[8:24], t[:])
	b[24], b[25] = optTargetLinkAddr, 1
	copy(b[26:32], mac)
	return b
}

// solicitedNode is the multicast group solicitations for addr go to
// (ff02::1:ffXX:XXXX, its last 24 bits).
func solicitedNode(addr netip.Addr) netip.Addr {
	a := addr.As16()
	return netip.AddrFrom16([16]byte{0xff, 0x02, 10: 0, 11: 0x01, 12: 0xff, 13: a[13], 14: a[14], 15: a[15]})
}

// allNodes is where unsolicited advertisements go.
var allNodes = netip.MustParseAddr("ff02::1")
