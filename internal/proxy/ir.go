package proxy

import (
	"fmt"
	"net/netip"
	"strings"
	"time"
)

// Verdict is where a rule or a map element sends a packet.
type Verdict struct {
	Kind  string // "goto", "jump", "drop", "return"
	Chain string
}

func (v Verdict) String() string {
	if v.Chain == "" {
		return v.Kind
	}
	return v.Kind + " " + v.Chain
}

func gotoChain(c string) Verdict { return Verdict{Kind: "goto", Chain: c} }
func jumpChain(c string) Verdict { return Verdict{Kind: "jump", Chain: c} }

// Rule is one nftables rule: statements evaluated in order.
type Rule []Stmt

func (r Rule) String() string {
	parts := make([]string, len(r))
	for i, s := range r {
		parts[i] = s.String()
	}
	return strings.Join(parts, " ")
}

// ElemKey is a key of one of the verdict maps. Addr is invalid for the
// node-port maps, which are keyed by protocol . port only.
type ElemKey struct {
	Map   string
	Addr  netip.Addr
	Proto uint8
	Port  uint16
}

func (k ElemKey) String() string {
	if k.Addr.IsValid() {
		return fmt.Sprintf("%s[%s . %s . %d]", k.Map, k.Addr, protoName(k.Proto), k.Port)
	}
	return fmt.Sprintf("%s[%s . %d]", k.Map, protoName(k.Proto), k.Port)
}

// BackendKey is one endpoint's range of a load-balancing chain's slots
// (Map names the chain): numgen picks a slot at random, and the range
// holding it gives the endpoint. Slot is the range's first slot.
type BackendKey struct {
	Map  string
	Slot uint32
}

func (k BackendKey) String() string { return fmt.Sprintf("%s[%d]", k.Map, k.Slot) }

// Backend is the address and port a range of slots DNATs to; End is the
// slot after the range.
type Backend struct {
	To  netip.AddrPort
	End uint32
}

// Ruleset is the part of the table one owner (a service, or the base) needs:
// its chains, its elements in the shared maps and its affinity sets.
type Ruleset struct {
	Chains map[string][]Rule
	Elems  map[ElemKey]Verdict
	// Backends are the load-balancing chains' ranges of slots: where each
	// range DNATs to.
	Backends map[BackendKey]Backend
	// Hairpin are the endpoints' addresses: a connection DNATed back to
	// its own source is masqueraded. Several services may share an
	// endpoint, so the applier counts them.
	Hairpin map[netip.Addr]bool
	// Sets are session-affinity sets of client addresses, with the timeout
	// of their elements.
	Sets map[string]time.Duration
}

// objects counts the chains and named sets the ruleset makes in the
// kernel (the table's use count; anonymous maps are not counted there,
// nor the endpoint maps, which are shared: see slots.go).
func (rs *Ruleset) objects() int { return len(rs.Chains) + len(rs.Sets) }

// endpointMaps are the load-balancing chains with backends: each has its
// range of slots in the endpoint maps.
func (rs *Ruleset) endpointMaps() map[string]bool {
	m := map[string]bool{}
	for k := range rs.Backends {
		m[k.Map] = true
	}
	return m
}

func newRuleset() *Ruleset {
	return &Ruleset{Chains: map[string][]Rule{}, Elems: map[ElemKey]Verdict{}, Backends: map[BackendKey]Backend{},
		Hairpin: map[netip.Addr]bool{}, Sets: map[string]time.Duration{}}
}

func protoName(p uint8) string {
	switch p {
	case protoTCP:
		return "tcp"
	case protoUDP:
		return "udp"
	case protoSCTP:
		return "sctp"
	}
	return fmt.Sprint(p)
}

const (
	protoTCP  uint8 = 6
	protoUDP  uint8 = 17
	protoSCTP uint8 = 132
)
