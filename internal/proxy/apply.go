package proxy

import (
	"fmt"
	"maps"
	"math/bits"
	"net/netip"
	"slices"

	"github.com/google/nftables"
	"github.com/google/nftables/binaryutil"
	"github.com/google/nftables/expr"
)

// hook says where a base chain hangs in the packet path.
type hook struct {
	typ      nftables.ChainType
	hooknum  *nftables.ChainHook
	priority *nftables.ChainPriority
}

func priority(p int32) *nftables.ChainPriority {
	v := nftables.ChainPriority(p)
	return &v
}

// hookOf says where a base chain hangs: filter chains before DNAT
// (dstnat - 10, as upstream) reject services without endpoints; the one
// after it rejects what no rule translated.
func hookOf(name string) (hook, bool) {
	switch name {
	case "nat-prerouting":
		return hook{nftables.ChainTypeNAT, nftables.ChainHookPrerouting, nftables.ChainPriorityNATDest}, true
	case "nat-output":
		return hook{nftables.ChainTypeNAT, nftables.ChainHookOutput, nftables.ChainPriorityNATDest}, true
	case "nat-postrouting":
		return hook{nftables.ChainTypeNAT, nftables.ChainHookPostrouting, nftables.ChainPriorityNATSource}, true
	case "filter-prerouting":
		return hook{nftables.ChainTypeFilter, nftables.ChainHookPrerouting, priority(-110)}, true
	case "filter-output":
		return hook{nftables.ChainTypeFilter, nftables.ChainHookOutput, priority(-110)}, true
	case "filter-output-post-dnat":
		return hook{nftables.ChainTypeFilter, nftables.ChainHookOutput, nftables.ChainPriorityFilter}, true
	}
	return hook{}, false
}

// applier writes changes to one table: transactions through conn, whose
// batcher sends them, queries through query.
type applier struct {
	conn  *nftables.Conn
	batch *batcher
	query *nftables.Conn
	table *nftables.Table
	// hairpin counts the owners of each address in the hairpin set.
	hairpin map[netip.Addr]int
	// slots places the load-balancing chains' endpoints in the maps.
	slots *slotAllocator
}

// newApplier writes to the table in the network namespace nsFd (0: the
// caller's own); query reads from the same namespace.
func newApplier(query *nftables.Conn, nsFd int) (*applier, error) {
	b, conn, err := newBatcher(nsFd)
	if err != nil {
		return nil, err
	}
	return &applier{conn: conn, batch: b, query: query, table: &nftables.Table{Name: TableName, Family: nftables.TableFamilyIPv4},
		hairpin: map[netip.Addr]int{}, slots: newSlotAllocator()}, nil
}

func (a *applier) Close() error { return a.batch.Close() }

func (a *applier) chain(name string) *nftables.Chain {
	c := &nftables.Chain{Name: name, Table: a.table}
	if h, ok := hookOf(name); ok {
		c.Type, c.Hooknum, c.Priority = h.typ, h.hooknum, h.priority
	}
	return c
}

func (a *applier) set(name string) *nftables.Set {
	return &nftables.Set{Table: a.table, Name: name}
}

// sharedSets are the maps and sets every service puts elements into.
func (a *applier) sharedSets() []*nftables.Set {
	withAddr := nftables.MustConcatSetType(nftables.TypeIPAddr, nftables.TypeInetProto, nftables.TypeInetService)
	portOnly := nftables.MustConcatSetType(nftables.TypeInetProto, nftables.TypeInetService)
	mk := func(name string, key nftables.SetDatatype) *nftables.Set {
		return &nftables.Set{Table: a.table, Name: name, IsMap: true, Concatenation: true, KeyType: key, DataType: nftables.TypeVerdict}
	}
	hairpin := &nftables.Set{Table: a.table, Name: setHairpin, Concatenation: true,
		KeyType: nftables.MustConcatSetType(nftables.TypeIPAddr, nftables.TypeIPAddr)}
	return []*nftables.Set{mk(mapServiceIPs, withAddr), mk(mapServiceNodePorts, portOnly), mk(mapNoEndpointIPs, withAddr),
		mk(mapNoEndpointPorts, portOnly), mk(mapFirewallIPs, withAddr), hairpin}
}

// Rebuild replaces the whole table with rulesets in one transaction: the
// table is never seen half-built, and anything changed behind the proxy's
// back is gone.
func (a *applier) Rebuild(rulesets []*Ruleset) error {
	a.conn.AddTable(a.table) // so that deleting it cannot fail
	a.conn.DelTable(a.table)
	a.conn.AddTable(a.table)
	for _, s := range a.sharedSets() {
		if err := a.conn.AddSet(s, nil); err != nil {
			return fmt.Errorf("add map %s: %w", s.Name, err)
		}
	}
	changes := make([]*Change, len(rulesets))
	for i, rs := range rulesets {
		changes[i] = Diff(nil, rs)
	}
	slots := newSlotAllocator()
	if err := a.apply(changes, map[netip.Addr]int{}, slots); err != nil {
		return err
	}
	a.slots = slots
	return nil
}

// Apply sends changes in one transaction, ordered so that nothing is
// deleted while still referenced and nothing is referenced before it exists.
func (a *applier) Apply(changes []*Change) error { return a.apply(changes, a.hairpin, a.slots) }

// apply sends changes to a table whose hairpin set holds the addresses
// counted in hairpin and whose endpoint maps are slots'; the counts and
// the ranges given are kept only if the kernel takes it.
func (a *applier) apply(changes []*Change, hairpin map[netip.Addr]int, slots *slotAllocator) error {
	err := a.send(changes, hairpin, slots)
	if err != nil {
		slots.abort()
		return err
	}
	slots.commit()
	return nil
}

func (a *applier) send(changes []*Change, hairpin map[netip.Addr]int, slots *slotAllocator) error {
	addHairpin, delHairpin, changed := hairpinChanges(changes, hairpin)
	if err := a.setElems(setHairpin, delHairpin, true); err != nil {
		return err
	}
	// Elements go in as few messages as they fit, whichever change they
	// come from: the kernel finds the set by name for each message.
	var delElems []ElemKey
	delBackends, addElems, addBackends := map[BackendKey]Backend{}, map[ElemKey]Verdict{}, map[BackendKey]Backend{}
	for _, c := range changes {
		delElems = append(delElems, c.DelElems...)
		maps.Copy(delBackends, c.DelBackends)
		maps.Copy(addElems, c.AddElems)
		maps.Copy(addBackends, c.AddBackends)
	}
	if err := a.delElems(delElems); err != nil {
		return err
	}
	if err := a.delBackends(delBackends, slots); err != nil {
		return err
	}
	for _, c := range changes {
		for _, name := range c.FlushChains {
			a.conn.FlushChain(a.chain(name))
		}
	}
	for _, c := range changes {
		for _, name := range c.DelChains {
			a.conn.FlushChain(a.chain(name))
		}
	}
	for _, c := range changes {
		for _, name := range c.DelChains {
			a.conn.DelChain(a.chain(name))
		}
		for _, name := range c.DelSets {
			a.conn.DelSet(a.set(name))
		}
		for _, name := range c.DelMaps {
			slots.release(name)
		}
	}
	// Endpoint maps first: the kernel finds sets by name in a list, in
	// the order they came.
	for _, c := range changes {
		for _, name := range c.AddMaps {
			if r, isNew := slots.get(name); isNew {
				if err := a.conn.AddSet(a.endpointMap(r.mapName()), nil); err != nil {
					return fmt.Errorf("add map %s: %w", r.mapName(), err)
				}
			}
		}
	}
	for _, c := range changes {
		for _, name := range sortedKeys(c.AddSets) {
			s := &nftables.Set{Table: a.table, Name: name, KeyType: nftables.TypeIPAddr, HasTimeout: true, Dynamic: true, Timeout: c.AddSets[name]}
			if err := a.conn.AddSet(s, nil); err != nil {
				return fmt.Errorf("add set %s: %w", name, err)
			}
		}
		for _, name := range c.AddChains {
			a.conn.AddChain(a.chain(name))
		}
	}
	b := &exprBuilder{conn: a.conn, table: a.table, slots: slots}
	for _, c := range anonymousFirst(changes) {
		for _, name := range append(c.AddChains, c.FlushChains...) {
			ch := a.chain(name)
			for _, r := range c.Rules[name] {
				var exprs []expr.Any
				for _, s := range r {
					exprs = append(exprs, s.exprs(b)...)
				}
				a.conn.AddRule(&nftables.Rule{Table: a.table, Chain: ch, Exprs: exprs})
			}
		}
		if b.err != nil {
			return b.err
		}
	}
	if err := a.addElems(addElems); err != nil {
		return err
	}
	if err := a.addBackends(addBackends, slots); err != nil {
		return err
	}
	if err := a.setElems(setHairpin, addHairpin, false); err != nil {
		return err
	}
	if err := a.batch.Flush(a.conn); err != nil {
		return fmt.Errorf("nftables transaction: %w", err)
	}
	setCounts(hairpin, changed)
	a.hairpin = hairpin
	return nil
}

// anonymousFirst puts first the changes with rules that bind anonymous
// maps (numgen's, of session affinity): binding one, the kernel walks the
// whole transaction so far, so the earlier the cheaper.
func anonymousFirst(changes []*Change) []*Change {
	out := make([]*Change, 0, len(changes))
	var rest []*Change
	for _, c := range changes {
		if bindsAnonymous(c) {
			out = append(out, c)
		} else {
			rest = append(rest, c)
		}
	}
	return append(out, rest...)
}

func bindsAnonymous(c *Change) bool {
	for _, rules := range c.Rules {
		for _, r := range rules {
			for _, s := range r {
				if _, ok := s.(numgenVmap); ok {
					return true
				}
			}
		}
	}
	return false
}

// hairpinChanges counts the changes' hairpin addresses against counts
// (left as they are): the addresses whose first owner comes are added,
// those whose last owner goes are deleted, and changed holds the new
// counts of the addresses changed (0: gone), for setCounts once the
// kernel took the transaction. (A copy of counts was most of a partial
// sync's CPU at 10,000 services.)
func hairpinChanges(changes []*Change, counts map[netip.Addr]int) (add, del []netip.Addr, changed map[netip.Addr]int) {
	delta := map[netip.Addr]int{}
	for _, c := range changes {
		for _, x := range c.DelHairpin {
			delta[x]--
		}
		for _, x := range c.AddHairpin {
			delta[x]++
		}
	}
	changed = make(map[netip.Addr]int, len(delta))
	for x, d := range delta {
		before, n := counts[x], counts[x]+d
		switch {
		case before <= 0 && n > 0:
			add = append(add, x)
		case before > 0 && n <= 0:
			del = append(del, x)
		}
		changed[x] = max(n, 0)
	}
	return add, del, changed
}

// setCounts writes hairpinChanges' changed counts into counts.
func setCounts(counts, changed map[netip.Addr]int) {
	for x, n := range changed {
		if n > 0 {
			counts[x] = n
		} else {
			delete(counts, x)
		}
	}
}

func (a *applier) setElems(set string, addrs []netip.Addr, del bool) error {
	if len(addrs) == 0 {
		return nil
	}
	elems := make([]nftables.SetElement, len(addrs))
	for i, x := range addrs {
		elems[i] = nftables.SetElement{Key: hairpinKeyBytes(x)}
	}
	if del {
		if err := a.delElements(a.mapSet(set), elems); err != nil {
			return fmt.Errorf("delete elements of %s: %w", set, err)
		}
		return nil
	}
	if err := a.addElements(a.mapSet(set), elems); err != nil {
		return fmt.Errorf("add elements to %s: %w", set, err)
	}
	return nil
}

// endpointMap is a map of load-balancing chains' ranges of slots (see
// slots.go) → address . port. The key is typed mark (4 bytes, host order, as numgen writes it): nft
// lists a plain integer key only with userdata it would have written.
func (a *applier) endpointMap(name string) *nftables.Set {
	return &nftables.Set{Table: a.table, Name: name, IsMap: true, Interval: true, KeyType: nftables.TypeMark,
		KeyByteOrder: binaryutil.BigEndian, DataType: nftables.MustConcatSetType(nftables.TypeIPAddr, nftables.TypeInetService)}
}

// delBackends deletes ranges: an interval is its start and end elements.
func (a *applier) delBackends(keys map[BackendKey]Backend, slots *slotAllocator) error {
	by := map[string][]nftables.SetElement{}
	for _, k := range slices.SortedFunc(maps.Keys(keys), cmpBackendKey) {
		r, ok := slots.byChain[k.Map]
		if !ok {
			return fmt.Errorf("delete endpoint %s: the chain has no slots", k)
		}
		by[r.mapName()] = append(by[r.mapName()], nftables.SetElement{Key: slotKeyBytes(r, k.Slot)},
			nftables.SetElement{Key: slotKeyBytes(r, keys[k].End), IntervalEnd: true})
	}
	for _, m := range sortedKeys(by) {
		if err := a.delElements(a.endpointMap(m), by[m]); err != nil {
			return fmt.Errorf("delete elements of %s: %w", m, err)
		}
	}
	return nil
}

func (a *applier) addBackends(backends map[BackendKey]Backend, slots *slotAllocator) error {
	by := map[string][]nftables.SetElement{}
	for _, k := range slices.SortedFunc(maps.Keys(backends), cmpBackendKey) {
		r, ok := slots.byChain[k.Map]
		if !ok {
			return fmt.Errorf("add endpoint %s: the chain has no slots", k)
		}
		v := backends[k]
		by[r.mapName()] = append(by[r.mapName()], nftables.SetElement{Key: slotKeyBytes(r, k.Slot), Val: backendData(v.To)},
			nftables.SetElement{Key: slotKeyBytes(r, v.End), IntervalEnd: true})
	}
	for _, m := range sortedKeys(by) {
		if err := a.addElements(a.endpointMap(m), by[m]); err != nil {
			return fmt.Errorf("add elements to %s: %w", m, err)
		}
	}
	return nil
}

func (a *applier) delElems(keys []ElemKey) error {
	by := map[string][]nftables.SetElement{}
	for _, k := range keys {
		by[k.Map] = append(by[k.Map], nftables.SetElement{Key: elemKeyBytes(k)})
	}
	for _, m := range sortedKeys(by) {
		if err := a.delElements(a.mapSet(m), by[m]); err != nil {
			return fmt.Errorf("delete elements of %s: %w", m, err)
		}
	}
	return nil
}

func (a *applier) addElems(elems map[ElemKey]Verdict) error {
	by := map[string][]nftables.SetElement{}
	for k, v := range elems {
		by[k.Map] = append(by[k.Map], nftables.SetElement{Key: elemKeyBytes(k), VerdictData: verdictExpr(v)})
	}
	for _, m := range sortedKeys(by) {
		if err := a.addElements(a.mapSet(m), by[m]); err != nil {
			return fmt.Errorf("add elements to %s: %w", m, err)
		}
	}
	return nil
}

func (a *applier) mapSet(name string) *nftables.Set {
	for _, s := range a.sharedSets() {
		if s.Name == name {
			return s
		}
	}
	return a.set(name)
}

// Present reports whether the table exists holding the objects (chains
// and named sets) the proxy applied: a cheap check,
// one small message whatever the table's size, that nothing deleted it
// or a part of it. (Listing every chain took seconds at 10,000 services
// and held up the syncs queued behind it.)
func (a *applier) Present(objects int) (bool, error) {
	t, err := a.query.ListTableOfFamily(TableName, nftables.TableFamilyIPv4)
	if err != nil {
		return false, fmt.Errorf("get table: %w", err)
	}
	// google/nftables v0.3.0 decodes NFTA_TABLE_USE in host order; the
	// kernel sends it big-endian.
	return int(t.Use) == objects || int(bits.ReverseBytes32(t.Use)) == objects, nil
}

// elemsPerMessage bounds one message's elements: their list is a netlink
// attribute, whose length is 16 bits. google/nftables v0.3.0 puts any
// number in one message, and past 64 KiB the length wraps and the kernel
// reads the rest of the message as garbage (at 10,000 services the
// rebuild failed with ENOENT on the hairpin set's elements).
const elemsPerMessage = 256

func (a *applier) addElements(s *nftables.Set, elems []nftables.SetElement) error {
	for len(elems) > 0 {
		n := min(len(elems), elemsPerMessage)
		if err := a.conn.SetAddElements(s, elems[:n]); err != nil {
			return err
		}
		elems = elems[n:]
	}
	return nil
}

func (a *applier) delElements(s *nftables.Set, elems []nftables.SetElement) error {
	for len(elems) > 0 {
		n := min(len(elems), elemsPerMessage)
		if err := a.conn.SetDeleteElements(s, elems[:n]); err != nil {
			return err
		}
		elems = elems[n:]
	}
	return nil
}
