package network

import (
	"fmt"
	"net"
	"strings"

	"github.com/google/nftables"
	"github.com/google/nftables/binaryutil"
	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"
)

// Small builders for the nftables expressions kemudi's rules are made of,
// each the equivalent of one nft keyword.

// hostPortMark marks DNAT'd hostPort traffic so that the copy coming from a
// pod (hairpin included) is masqueraded on its way back out of the bridge.
// The CNI portmap plugin uses the same bit; kube-proxy uses 0x4000/0x8000.
const hostPortMark = 0x2000

// ipFamily is what differs between kemudi's ip and ip6 tables.
type ipFamily struct {
	name      string
	table     nftables.TableFamily
	nfproto   uint32
	addrLen   uint32
	saddr     uint32 // offsets in the network header
	daddr     uint32
	loopback  *net.IPNet
	localhost bool // hostPorts on the loopback address (IPv4 only: IPv6 has no route_localnet)
}

var (
	familyV4 = ipFamily{
		name: "IPv4", table: nftables.TableFamilyIPv4, nfproto: unix.NFPROTO_IPV4, addrLen: 4, saddr: 12, daddr: 16,
		loopback: &net.IPNet{IP: net.IPv4(127, 0, 0, 0).To4(), Mask: net.CIDRMask(8, 32)}, localhost: true,
	}
	familyV6 = ipFamily{
		name: "IPv6", table: nftables.TableFamilyIPv6, nfproto: unix.NFPROTO_IPV6, addrLen: 16, saddr: 8, daddr: 24,
		loopback: &net.IPNet{IP: net.IPv6loopback, Mask: net.CIDRMask(128, 128)},
	}
)

// familyOf is the family of an address.
func familyOf(ip net.IP) ipFamily {
	if ip.To4() != nil {
		return familyV4
	}
	return familyV6
}

// addr is ip in the family's length.
func (f ipFamily) addr(ip net.IP) []byte {
	if f.addrLen == 4 {
		return ip.To4()
	}
	return ip.To16()
}

// field matches an address field (saddr or daddr offset) against a prefix.
func (f ipFamily) field(offset uint32, n *net.IPNet, op expr.CmpOp) []expr.Any {
	mask := []byte(n.Mask)
	if len(mask) != int(f.addrLen) {
		ones, _ := n.Mask.Size()
		mask = net.CIDRMask(ones, int(f.addrLen)*8)
	}
	return []expr.Any{
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: offset, Len: f.addrLen},
		&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: f.addrLen, Mask: mask, Xor: make([]byte, f.addrLen)},
		&expr.Cmp{Op: op, Register: 1, Data: f.addr(n.IP.Mask(mask))},
	}
}

func (f ipFamily) saddrIn(n *net.IPNet) []expr.Any  { return f.field(f.saddr, n, expr.CmpOpEq) }
func (f ipFamily) daddrIn(n *net.IPNet) []expr.Any  { return f.field(f.daddr, n, expr.CmpOpEq) }
func (f ipFamily) daddrOut(n *net.IPNet) []expr.Any { return f.field(f.daddr, n, expr.CmpOpNeq) }

// dnatTo is "dnat to ip:port".
func (f ipFamily) dnatTo(ip net.IP, port uint16) []expr.Any {
	return []expr.Any{
		&expr.Immediate{Register: 1, Data: f.addr(ip)},
		&expr.Immediate{Register: 2, Data: binaryutil.BigEndian.PutUint16(port)},
		&expr.NAT{Type: expr.NATTypeDestNAT, Family: f.nfproto, RegAddrMin: 1, RegProtoMin: 2, Specified: true},
	}
}

// daddrLocal is "fib daddr type local": a destination that is one of the
// node's own addresses.
func daddrLocal() []expr.Any {
	return []expr.Any{
		&expr.Fib{Register: 1, FlagDADDR: true, ResultADDRTYPE: true},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: binaryutil.NativeEndian.PutUint32(unix.RTN_LOCAL)},
	}
}

func l4proto(proto byte) []expr.Any {
	return []expr.Any{
		&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{proto}},
	}
}

// dport matches the destination port of TCP, UDP and SCTP alike (th dport).
func dport(port uint16) []expr.Any {
	return []expr.Any{
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseTransportHeader, Offset: 2, Len: 2},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: binaryutil.BigEndian.PutUint16(port)},
	}
}

// setMark is "meta mark set meta mark | bit".
func setMark(bit uint32) []expr.Any {
	return []expr.Any{
		&expr.Meta{Key: expr.MetaKeyMARK, Register: 1},
		&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4,
			Mask: binaryutil.NativeEndian.PutUint32(^bit), Xor: binaryutil.NativeEndian.PutUint32(bit)},
		&expr.Meta{Key: expr.MetaKeyMARK, SourceRegister: true, Register: 1},
	}
}

// hasMark is "meta mark & bit == bit".
func hasMark(bit uint32) []expr.Any {
	return []expr.Any{
		&expr.Meta{Key: expr.MetaKeyMARK, Register: 1},
		&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4,
			Mask: binaryutil.NativeEndian.PutUint32(bit), Xor: binaryutil.NativeEndian.PutUint32(0)},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: binaryutil.NativeEndian.PutUint32(bit)},
	}
}

// notFromLoopback is "iifname != lo".
func notFromLoopback() []expr.Any {
	return []expr.Any{
		&expr.Meta{Key: expr.MetaKeyIIFNAME, Register: 1},
		&expr.Cmp{Op: expr.CmpOpNeq, Register: 1, Data: []byte("lo\x00")},
	}
}

// ctNotEstablished is "ct state != established,related" (new or invalid).
func ctNotEstablished() []expr.Any {
	bits := expr.CtStateBitESTABLISHED | expr.CtStateBitRELATED
	return []expr.Any{
		&expr.Ct{Key: expr.CtKeySTATE, Register: 1},
		&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4,
			Mask: binaryutil.NativeEndian.PutUint32(bits), Xor: binaryutil.NativeEndian.PutUint32(0)},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: binaryutil.NativeEndian.PutUint32(0)},
	}
}

func drop() expr.Any { return &expr.Verdict{Kind: expr.VerdictDrop} }

func jump(chain string) expr.Any { return &expr.Verdict{Kind: expr.VerdictJump, Chain: chain} }

func verdictReturn() expr.Any { return &expr.Verdict{Kind: expr.VerdictReturn} }

func masquerade() expr.Any { return &expr.Masq{} }

// protoNumber maps a CRI protocol name to its IP protocol number.
func protoNumber(p string) (byte, error) {
	switch strings.ToLower(p) {
	case "", "tcp":
		return unix.IPPROTO_TCP, nil
	case "udp":
		return unix.IPPROTO_UDP, nil
	case "sctp":
		return unix.IPPROTO_SCTP, nil
	}
	return 0, fmt.Errorf("unknown protocol %q", p)
}

func concat(parts ...[]expr.Any) []expr.Any {
	var out []expr.Any
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}
