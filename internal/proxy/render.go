package proxy

import (
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strings"
)

// Render prints a ruleset in nft's style, sorted, for golden files and logs.
func (rs *Ruleset) Render() string {
	var b strings.Builder
	for _, name := range sortedKeys(rs.Sets) {
		fmt.Fprintf(&b, "set %s { type ipv4_addr; flags dynamic,timeout; timeout %s }\n", name, rs.Sets[name])
	}
	keys := slices.SortedFunc(maps.Keys(rs.Elems), func(a, b ElemKey) int { return cmpString(a.String(), b.String()) })
	for _, k := range keys {
		if v := rs.Elems[k]; v.Kind != "" {
			fmt.Fprintf(&b, "element %s : %s\n", k, v)
		} else {
			fmt.Fprintf(&b, "element %s\n", k) // of a set
		}
	}
	bkeys := slices.SortedFunc(maps.Keys(rs.Backends), cmpBackendKey)
	for _, k := range bkeys {
		be := rs.Backends[k]
		fmt.Fprintf(&b, "slots %s[%d-%d] : %s . %d\n", k.Map, k.Slot, be.End-1, be.To.Addr(), be.To.Port())
	}
	for _, a := range slices.SortedFunc(maps.Keys(rs.Hairpin), netip.Addr.Compare) {
		fmt.Fprintf(&b, "element %s[%s . %s]\n", setHairpin, a, a)
	}
	for _, name := range sortedKeys(rs.Chains) {
		fmt.Fprintf(&b, "chain %s {\n", name)
		for _, r := range rs.Chains[name] {
			fmt.Fprintf(&b, "\t%s\n", r)
		}
		b.WriteString("}\n")
	}
	return b.String()
}

func cmpBackendKey(a, b BackendKey) int {
	if c := cmpString(a.Map, b.Map); c != 0 {
		return c
	}
	return int(a.Slot) - int(b.Slot)
}
