package announce

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
)

// ARP for IPv4 over Ethernet (RFC 826), as AF_PACKET reads and writes
// it: whole Ethernet frames.
const (
	etherTypeARP  = 0x0806
	etherTypeIPv4 = 0x0800
	ethHeaderLen  = 14
	arpLen        = 28
	// minFrameLen is Ethernet's shortest frame without its checksum:
	// shorter ones are padded, as a NIC would.
	minFrameLen = 60

	arpOpRequest = 1
	arpOpReply   = 2
)

var broadcastMAC = net.HardwareAddr{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}

// arpPacket is one ARP message for IPv4 over Ethernet.
type arpPacket struct {
	Op        uint16
	SenderMAC net.HardwareAddr
	SenderIP  netip.Addr
	TargetMAC net.HardwareAddr
	TargetIP  netip.Addr
}

var errNotARP = errors.New("not an ARP packet for IPv4 over Ethernet")

// parseARP reads an Ethernet frame; padding after the message is
// ignored.
func parseARP(frame []byte) (arpPacket, error) {
	if len(frame) < ethHeaderLen+arpLen {
		return arpPacket{}, fmt.Errorf("%w: %d bytes", errNotARP, len(frame))
	}
	if binary.BigEndian.Uint16(frame[12:14]) != etherTypeARP {
		return arpPacket{}, fmt.Errorf("%w: ethertype %#04x", errNotARP, binary.BigEndian.Uint16(frame[12:14]))
	}
	b := frame[ethHeaderLen:]
	if binary.BigEndian.Uint16(b[0:2]) != 1 || binary.BigEndian.Uint16(b[2:4]) != etherTypeIPv4 || b[4] != 6 || b[5] != 4 {
		return arpPacket{}, fmt.Errorf("%w: hardware type %d, protocol %#04x, lengths %d/%d", errNotARP,
			binary.BigEndian.Uint16(b[0:2]), binary.BigEndian.Uint16(b[2:4]), b[4], b[5])
	}
	return arpPacket{
		Op:        binary.BigEndian.Uint16(b[6:8]),
		SenderMAC: net.HardwareAddr(bytes.Clone(b[8:14])),
		SenderIP:  netip.AddrFrom4([4]byte(b[14:18])),
		TargetMAC: net.HardwareAddr(bytes.Clone(b[18:24])),
		TargetIP:  netip.AddrFrom4([4]byte(b[24:28])),
	}, nil
}

// frame is p in an Ethernet frame from p's sender to dst.
func (p arpPacket) frame(dst net.HardwareAddr) []byte {
	f := make([]byte, minFrameLen)
	copy(f[0:6], dst)
	copy(f[6:12], p.SenderMAC)
	binary.BigEndian.PutUint16(f[12:14], etherTypeARP)
	b := f[ethHeaderLen:]
	binary.BigEndian.PutUint16(b[0:2], 1)
	binary.BigEndian.PutUint16(b[2:4], etherTypeIPv4)
	b[4], b[5] = 6, 4
	binary.BigEndian.PutUint16(b[6:8], p.Op)
	copy(b[8:14], p.SenderMAC)
	s, t := p.SenderIP.As4(), p.TargetIP.As4()
	copy(b[14:18], s[:])
	copy(b[18:24], p.TargetMAC)
	copy(b[24:28], t[:])
	return f
}

// arpAnswer is the reply, from mac, to req if it asks for an address
// owns says is announced; ok is false for anything else: replies,
// probes of the address by its own holder (sender and target one
// address: gratuitous ARP), and the node's own requests.
func arpAnswer(req arpPacket, mac net.HardwareAddr, owns func(netip.Addr) bool) (reply arpPacket, ok bool) {
	if req.Op != arpOpRequest || req.SenderIP == req.TargetIP || string(req.SenderMAC) == string(mac) || !owns(req.TargetIP) {
		return arpPacket{}, false
	}
	return arpPacket{Op: arpOpReply, SenderMAC: mac, SenderIP: req.TargetIP, TargetMAC: req.SenderMAC, TargetIP: req.SenderIP}, true
}

// gratuitousARP are the frames that tell the LAN mac now has ip: a
// request and a reply, broadcast, sender and target both ip (MetalLB
// sends both, as hosts differ in which they heed).
func gratuitousARP(ip netip.Addr, mac net.HardwareAddr) [][]byte {
	var out [][]byte
	for _, op := range []uint16{arpOpRequest, arpOpReply} {
		p := arpPacket{Op: op, SenderMAC: mac, SenderIP: ip, TargetMAC: broadcastMAC, TargetIP: ip}
		out = append(out, p.frame(broadcastMAC))
	}
	return out
}
