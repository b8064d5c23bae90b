package proxy

import (
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"

	"github.com/google/nftables"
	"github.com/google/nftables/binaryutil"
	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"
)

// exprBuilder turns statements into netlink expressions. Anonymous maps
// (numgen's) must be added to the same transaction before the rule using
// them.
type exprBuilder struct {
	t     *txn
	slots *slotAllocator
	err   error
}

const (
	regConcat0 = 8 // NFT_REG32_00: 4-byte registers for concatenations
	regConcat1 = 9
	regConcat2 = 10
)

func verdictExpr(v Verdict) *expr.Verdict {
	switch v.Kind {
	case "goto":
		return &expr.Verdict{Kind: expr.VerdictGoto, Chain: v.Chain}
	case "jump":
		return &expr.Verdict{Kind: expr.VerdictJump, Chain: v.Chain}
	case "return":
		return &expr.Verdict{Kind: expr.VerdictReturn}
	case "accept":
		return &expr.Verdict{Kind: expr.VerdictAccept}
	}
	return &expr.Verdict{Kind: expr.VerdictDrop}
}

func (m matchAddr) exprs(*exprBuilder) []expr.Any {
	off := uint32(16)
	if m.Src {
		off = 12
	}
	op := expr.CmpOpEq
	if m.Negate {
		op = expr.CmpOpNeq
	}
	addr := m.Prefix.Addr().As4()
	out := []expr.Any{&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: off, Len: 4}}
	if m.Prefix.Bits() < 32 {
		mask := net.CIDRMask(m.Prefix.Bits(), 32)
		out = append(out, &expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4, Mask: mask, Xor: []byte{0, 0, 0, 0}})
		addr = m.Prefix.Masked().Addr().As4()
	}
	return append(out, &expr.Cmp{Op: op, Register: 1, Data: addr[:]})
}

func (m matchFibLocal) exprs(*exprBuilder) []expr.Any {
	return []expr.Any{
		&expr.Fib{Register: 1, ResultADDRTYPE: true, FlagSADDR: m.Src, FlagDADDR: !m.Src},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: binaryutil.NativeEndian.PutUint32(unix.RTN_LOCAL)},
	}
}

func (m matchProto) exprs(*exprBuilder) []expr.Any {
	return []expr.Any{
		&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{m.Proto}},
	}
}

func (matchCtNew) exprs(*exprBuilder) []expr.Any {
	return []expr.Any{
		&expr.Ct{Register: 1, Key: expr.CtKeySTATE},
		&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4,
			Mask: binaryutil.NativeEndian.PutUint32(expr.CtStateBitNEW), Xor: binaryutil.NativeEndian.PutUint32(0)},
		&expr.Cmp{Op: expr.CmpOpNeq, Register: 1, Data: binaryutil.NativeEndian.PutUint32(0)},
	}
}

func (m matchMarkClear) exprs(*exprBuilder) []expr.Any {
	return []expr.Any{
		&expr.Meta{Key: expr.MetaKeyMARK, Register: 1},
		&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4,
			Mask: binaryutil.NativeEndian.PutUint32(m.Bit), Xor: binaryutil.NativeEndian.PutUint32(0)},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: binaryutil.NativeEndian.PutUint32(0)},
	}
}

func (m setMark) exprs(*exprBuilder) []expr.Any {
	mask, xor := ^m.Bit, m.Bit // (mark & ^bit) ^ bit == mark | bit
	if m.Toggle {
		mask = 0xffffffff
	}
	return []expr.Any{
		&expr.Meta{Key: expr.MetaKeyMARK, Register: 1},
		&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4,
			Mask: binaryutil.NativeEndian.PutUint32(mask), Xor: binaryutil.NativeEndian.PutUint32(xor)},
		&expr.Meta{Key: expr.MetaKeyMARK, SourceRegister: true, Register: 1},
	}
}

func (m matchServiceInSet) exprs(*exprBuilder) []expr.Any {
	return []expr.Any{
		&expr.Payload{DestRegister: regConcat0, Base: expr.PayloadBaseNetworkHeader, Offset: 16, Len: 4},
		&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: regConcat1},
		&expr.Payload{DestRegister: regConcat2, Base: expr.PayloadBaseTransportHeader, Offset: 2, Len: 2},
		&expr.Lookup{SourceRegister: regConcat0, SetName: m.Set},
	}
}

func (v vmapService) exprs(*exprBuilder) []expr.Any {
	var out []expr.Any
	reg := uint32(regConcat0)
	if v.WithAddr {
		out = append(out, &expr.Payload{DestRegister: regConcat0, Base: expr.PayloadBaseNetworkHeader, Offset: 16, Len: 4})
		reg = regConcat1
	}
	out = append(out,
		&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: reg},
		&expr.Payload{DestRegister: reg + 1, Base: expr.PayloadBaseTransportHeader, Offset: 2, Len: 2},
		&expr.Lookup{SourceRegister: regConcat0, DestRegister: 0, IsDestRegSet: true, SetName: v.Map},
	)
	return out
}

func (m matchSaddrInSet) exprs(*exprBuilder) []expr.Any {
	return []expr.Any{
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: 12, Len: 4},
		&expr.Lookup{SourceRegister: 1, SetName: m.Set},
	}
}

func (u updateSaddr) exprs(*exprBuilder) []expr.Any {
	return []expr.Any{
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: 12, Len: 4},
		&expr.Dynset{SrcRegKey: 1, SetName: u.Set, Operation: unix.NFT_DYNSET_OP_UPDATE, Timeout: u.Timeout},
	}
}

func (n numgenVmap) exprs(b *exprBuilder) []expr.Any {
	set := &nftables.Set{Anonymous: true, Constant: true, IsMap: true, KeyType: nftables.TypeInteger, DataType: nftables.TypeVerdict}
	id := b.t.newSet(set, len(n.Chains))
	for i, c := range n.Chains {
		b.t.elems(elemAdd, anonymousMap, id)
		v := gotoChain(c)
		b.t.elem(binary.NativeEndian.AppendUint32(nil, uint32(i)), false, nil, &v)
	}
	b.t.closeElems()
	return []expr.Any{
		&expr.Numgen{Register: 1, Modulus: uint32(len(n.Chains)), Type: unix.NFT_NG_RANDOM},
		&expr.Lookup{SourceRegister: 1, DestRegister: 0, IsDestRegSet: true, SetName: anonymousMap, SetID: id},
	}
}

// anonymousMap is the name of an anonymous map: the kernel numbers it.
const anonymousMap = "__map%d"

func (d dnat) exprs(*exprBuilder) []expr.Any {
	a := d.Addr.As4()
	port := make([]byte, 2)
	binary.BigEndian.PutUint16(port, d.Port)
	return []expr.Any{
		&expr.Immediate{Register: 1, Data: a[:]},
		&expr.Immediate{Register: 2, Data: port},
		&expr.NAT{Type: expr.NATTypeDestNAT, Family: unix.NFPROTO_IPV4, RegAddrMin: 1, RegProtoMin: 2, Specified: true},
	}
}

func (masquerade) exprs(*exprBuilder) []expr.Any {
	return []expr.Any{&expr.Masq{FullyRandom: true}}
}

func (r reject) exprs(*exprBuilder) []expr.Any {
	if r.TCPReset {
		return []expr.Any{&expr.Reject{Type: unix.NFT_REJECT_TCP_RST, Code: unix.NFT_REJECT_TCP_RST}}
	}
	return []expr.Any{&expr.Reject{Type: unix.NFT_REJECT_ICMP_UNREACH, Code: 3}} // port unreachable
}

func (v verdict) exprs(*exprBuilder) []expr.Any { return []expr.Any{verdictExpr(v.V)} }

// elemKey lays a map key out as the kernel wants a concatenation: every
// field padded to 4 bytes; n is its length.
func elemKey(k ElemKey) (key [12]byte, n int) {
	if k.Addr.IsValid() {
		a := k.Addr.As4()
		n = copy(key[:], a[:])
	}
	key[n], key[n+4], key[n+5] = k.Proto, byte(k.Port>>8), byte(k.Port)
	return key, n + 8
}

func (d dnatSlot) exprs(b *exprBuilder) []expr.Any {
	r, ok := b.slots.byChain[d.Map]
	if !ok && b.err == nil {
		b.err = fmt.Errorf("rule of %s: the chain has no slots", d.Map)
	}
	return []expr.Any{
		&expr.Numgen{Register: regConcat0, Modulus: d.Modulus, Offset: r.base(), Type: unix.NFT_NG_RANDOM},
		&expr.Byteorder{SourceRegister: regConcat0, DestRegister: regConcat0, Op: expr.ByteorderHton, Len: 4, Size: 4},
		&expr.Lookup{SourceRegister: regConcat0, DestRegister: regConcat0, IsDestRegSet: true, SetName: r.mapName()},
		&expr.NAT{Type: expr.NATTypeDestNAT, Family: unix.NFPROTO_IPV4, RegAddrMin: regConcat0, RegProtoMin: regConcat1, Specified: true},
	}
}

func (matchCtDNAT) exprs(*exprBuilder) []expr.Any {
	return []expr.Any{
		&expr.Ct{Register: 1, Key: expr.CtKeySTATUS},
		&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4,
			Mask: binaryutil.NativeEndian.PutUint32(ctStatusDNAT), Xor: binaryutil.NativeEndian.PutUint32(0)},
		&expr.Cmp{Op: expr.CmpOpNeq, Register: 1, Data: binaryutil.NativeEndian.PutUint32(0)},
	}
}

func (m matchHairpin) exprs(*exprBuilder) []expr.Any {
	return []expr.Any{
		&expr.Payload{DestRegister: regConcat0, Base: expr.PayloadBaseNetworkHeader, Offset: 12, Len: 4},
		&expr.Payload{DestRegister: regConcat1, Base: expr.PayloadBaseNetworkHeader, Offset: 16, Len: 4},
		&expr.Lookup{SourceRegister: regConcat0, SetName: m.Set},
	}
}

// slotKey and backendData lay out an endpoints map element.
func slotKey(r slotRange, slot uint32) [4]byte {
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], r.key(slot))
	return b
}

func backendData(ap netip.AddrPort) []byte {
	a := ap.Addr().As4()
	return []byte{a[0], a[1], a[2], a[3], byte(ap.Port() >> 8), byte(ap.Port()), 0, 0}
}

// ctStatusDNAT is IPS_DST_NAT of the conntrack status bits.
const ctStatusDNAT = 1 << 5
