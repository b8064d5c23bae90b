package proxy

import (
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/google/nftables/expr"
)

// Stmt is one statement of a rule: its text in nft's syntax (what golden
// files and diffs compare) and the netlink expressions it becomes.
type Stmt interface {
	String() string
	exprs(b *exprBuilder) []expr.Any
}

// matchAddr is "ip saddr|daddr [!=] ADDR|PREFIX".
type matchAddr struct {
	Src    bool
	Negate bool
	Prefix netip.Prefix
}

func (m matchAddr) String() string {
	s := "ip daddr "
	if m.Src {
		s = "ip saddr "
	}
	if m.Negate {
		s += "!= "
	}
	if m.Prefix.Bits() == 32 {
		return s + m.Prefix.Addr().String()
	}
	return s + m.Prefix.String()
}

// matchFibLocal is "fib saddr|daddr type local".
type matchFibLocal struct{ Src bool }

func (m matchFibLocal) String() string {
	if m.Src {
		return "fib saddr type local"
	}
	return "fib daddr type local"
}

// matchProto is "meta l4proto P".
type matchProto struct{ Proto uint8 }

func (m matchProto) String() string { return "meta l4proto " + protoName(m.Proto) }

// matchCtNew is "ct state new".
type matchCtNew struct{}

func (matchCtNew) String() string { return "ct state new" }

// matchMarkClear is "meta mark & BIT == 0".
type matchMarkClear struct{ Bit uint32 }

func (m matchMarkClear) String() string { return fmt.Sprintf("meta mark & 0x%08x == 0", m.Bit) }

// setMark is "meta mark set meta mark | BIT" or, Toggle, "^ BIT".
type setMark struct {
	Bit    uint32
	Toggle bool
}

func (m setMark) String() string {
	if m.Toggle {
		return fmt.Sprintf("meta mark set meta mark ^ 0x%08x", m.Bit)
	}
	return fmt.Sprintf("meta mark set meta mark | 0x%08x", m.Bit)
}

// vmapService is "ip daddr . meta l4proto . th dport vmap @MAP", or without
// the address for node ports.
type vmapService struct {
	Map      string
	WithAddr bool
}

func (v vmapService) String() string {
	if v.WithAddr {
		return "ip daddr . meta l4proto . th dport vmap @" + v.Map
	}
	return "meta l4proto . th dport vmap @" + v.Map
}

// matchServiceInSet is "ip daddr . meta l4proto . th dport @SET".
type matchServiceInSet struct{ Set string }

func (m matchServiceInSet) String() string { return "ip daddr . meta l4proto . th dport @" + m.Set }

// matchSaddrInSet is "ip saddr @SET".
type matchSaddrInSet struct{ Set string }

func (m matchSaddrInSet) String() string { return "ip saddr @" + m.Set }

// updateSaddr is "update @SET { ip saddr }": it refreshes the client's
// affinity entry.
type updateSaddr struct {
	Set     string
	Timeout time.Duration
}

func (u updateSaddr) String() string { return "update @" + u.Set + " { ip saddr }" }

// numgenVmap is "numgen random mod N vmap { 0 : goto A, 1 : goto B }".
type numgenVmap struct{ Chains []string }

func (n numgenVmap) String() string {
	parts := make([]string, len(n.Chains))
	for i, c := range n.Chains {
		parts[i] = fmt.Sprintf("%d : goto %s", i, c)
	}
	return fmt.Sprintf("numgen random mod %d vmap { %s }", len(n.Chains), strings.Join(parts, ", "))
}

// dnat is "dnat to ADDR:PORT".
type dnat struct {
	Addr netip.Addr
	Port uint16
}

func (d dnat) String() string { return fmt.Sprintf("dnat to %s:%d", d.Addr, d.Port) }

// masquerade is "masquerade fully-random".
type masquerade struct{}

func (masquerade) String() string { return "masquerade fully-random" }

// reject is "reject with tcp reset" (TCP) or "reject" (ICMP port unreachable).
type reject struct{ TCPReset bool }

func (r reject) String() string {
	if r.TCPReset {
		return "reject with tcp reset"
	}
	return "reject"
}

// verdict ends a rule.
type verdict struct{ V Verdict }

func (v verdict) String() string { return v.V.String() }

// dnatSlot is "dnat ip to numgen random mod N map @MAP": the range of
// slots holding a random one gives the address and port.
type dnatSlot struct {
	Map     string
	Modulus uint32
}

func (d dnatSlot) String() string {
	return fmt.Sprintf("dnat ip to numgen random mod %d map @%s", d.Modulus, d.Map)
}

// matchCtDNAT is "ct status dnat".
type matchCtDNAT struct{}

func (matchCtDNAT) String() string { return "ct status dnat" }

// matchHairpin is "ip saddr . ip daddr @SET": the set holds "a . a" for
// every endpoint address a.
type matchHairpin struct{ Set string }

func (m matchHairpin) String() string { return "ip saddr . ip daddr @" + m.Set }
