package proxy

import (
	"maps"
	"net/netip"
	"slices"
	"time"
)

// Change is what turns one applied Ruleset into the desired one.
type Change struct {
	AddSets     map[string]time.Duration
	AddChains   []string // new chains (with their rules in Rules)
	FlushChains []string // changed chains, rewritten from Rules
	Rules       map[string][]Rule
	DelElems    []ElemKey
	AddElems    map[ElemKey]Verdict
	// Load-balancing chains whose endpoints come or go: they get or give
	// back a range of slots in the endpoint maps (see slots.go).
	AddMaps     []string
	DelMaps     []string
	DelBackends map[BackendKey]Backend // as they were, for the ranges' ends
	AddBackends map[BackendKey]Backend
	// Hairpin addresses this owner starts or stops using; the applier
	// counts owners per address.
	AddHairpin []netip.Addr
	DelHairpin []netip.Addr
	DelChains  []string
	DelSets    []string
}

// Empty reports whether nothing changes.
func (c *Change) Empty() bool {
	return len(c.AddSets)+len(c.AddChains)+len(c.FlushChains)+len(c.DelElems)+len(c.AddElems)+
		len(c.AddMaps)+len(c.DelMaps)+len(c.DelBackends)+len(c.AddBackends)+len(c.AddHairpin)+len(c.DelHairpin)+len(c.DelChains)+len(c.DelSets) == 0
}

// Diff is the change from old (nil: nothing applied) to new. It is pure;
// the change may share new's maps.
func Diff(old, new *Ruleset) *Change {
	if new == nil {
		new = newRuleset()
	}
	if old == nil {
		return added(new)
	}
	c := &Change{AddSets: map[string]time.Duration{}, Rules: map[string][]Rule{}, AddElems: map[ElemKey]Verdict{},
		AddBackends: map[BackendKey]Backend{}, DelBackends: map[BackendKey]Backend{}}
	for name, t := range new.Sets {
		if ot, ok := old.Sets[name]; !ok || ot != t {
			c.AddSets[name] = t
		}
	}
	for name, t := range old.Sets {
		if nt, ok := new.Sets[name]; !ok || nt != t {
			c.DelSets = append(c.DelSets, name)
		}
	}
	for _, name := range sortedKeys(new.Chains) {
		rules := new.Chains[name]
		oldRules, ok := old.Chains[name]
		switch {
		case !ok:
			c.AddChains = append(c.AddChains, name)
			c.Rules[name] = rules
		case !sameRules(oldRules, rules) || setsChanged(c, rules):
			c.FlushChains = append(c.FlushChains, name)
			c.Rules[name] = rules
		}
	}
	for _, name := range sortedKeys(old.Chains) {
		if _, ok := new.Chains[name]; !ok {
			c.DelChains = append(c.DelChains, name)
		}
	}
	for k, v := range new.Elems {
		if ov, ok := old.Elems[k]; !ok || ov != v {
			c.AddElems[k] = v
			if ok {
				c.DelElems = append(c.DelElems, k)
			}
		}
	}
	for k := range old.Elems {
		if _, ok := new.Elems[k]; !ok {
			c.DelElems = append(c.DelElems, k)
		}
	}
	oldMaps, newMaps := old.endpointMaps(), new.endpointMaps()
	for name := range newMaps {
		if !oldMaps[name] {
			c.AddMaps = append(c.AddMaps, name)
		}
	}
	for name := range oldMaps {
		if !newMaps[name] {
			c.DelMaps = append(c.DelMaps, name)
		}
	}
	slices.Sort(c.AddMaps)
	slices.Sort(c.DelMaps)
	for k, v := range new.Backends {
		if ov, ok := old.Backends[k]; !ok || ov != v {
			c.AddBackends[k] = v
			if ok {
				c.DelBackends[k] = ov
			}
		}
	}
	for k, v := range old.Backends {
		if _, ok := new.Backends[k]; !ok {
			c.DelBackends[k] = v
		}
	}
	for a := range new.Hairpin {
		if !old.Hairpin[a] {
			c.AddHairpin = append(c.AddHairpin, a)
		}
	}
	for a := range old.Hairpin {
		if !new.Hairpin[a] {
			c.DelHairpin = append(c.DelHairpin, a)
		}
	}
	slices.SortFunc(c.DelElems, func(a, b ElemKey) int { return cmpString(a.String(), b.String()) })
	slices.SortFunc(c.AddHairpin, netip.Addr.Compare)
	slices.SortFunc(c.DelHairpin, netip.Addr.Compare)
	slices.Sort(c.DelSets)
	return c
}

// added is the change that adds rs to a table without it: rs's own maps,
// not copies (a full sync at 10,000 services spent a tenth of its CPU
// diffing every service against nothing).
func added(rs *Ruleset) *Change {
	c := &Change{AddSets: rs.Sets, AddChains: sortedKeys(rs.Chains), Rules: rs.Chains, AddElems: rs.Elems,
		AddMaps: sortedKeys(rs.endpointMaps()), AddBackends: rs.Backends, DelBackends: map[BackendKey]Backend{}}
	c.AddHairpin = slices.Collect(maps.Keys(rs.Hairpin))
	return c
}

// setsChanged: a chain using a set that is recreated must be rewritten, as
// the set cannot be deleted while a rule refers to it.
func setsChanged(c *Change, rules []Rule) bool {
	if len(c.DelSets) == 0 {
		return false
	}
	for _, r := range rules {
		for _, s := range r {
			var name string
			switch s := s.(type) {
			case matchSaddrInSet:
				name = s.Set
			case updateSaddr:
				name = s.Set
			}
			if name != "" && slices.Contains(c.DelSets, name) {
				return true
			}
		}
	}
	return false
}

func sameRules(a, b []Rule) bool {
	return slices.EqualFunc(a, b, func(x, y Rule) bool { return x.String() == y.String() })
}

func sortedKeys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
