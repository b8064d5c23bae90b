package proxy

import (
	"fmt"
	"math/bits"
	"net/netip"

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

// applier writes changes to one table: transactions through batch,
// queries through query.
type applier struct {
	batch *batcher
	txn   txn
	query *nftables.Conn
	// hairpin counts the owners of each address in the hairpin set.
	hairpin map[netip.Addr]int
	// slots places the load-balancing chains' endpoints in the maps.
	slots *slotAllocator
}

// newApplier writes to the table in the network namespace nsFd (0: the
// caller's own); query reads from the same namespace.
func newApplier(query *nftables.Conn, nsFd int) (*applier, error) {
	b, err := newBatcher(nsFd)
	if err != nil {
		return nil, err
	}
	return &applier{batch: b, txn: txn{table: TableName}, query: query,
		hairpin: map[netip.Addr]int{}, slots: newSlotAllocator()}, nil
}

func (a *applier) Close() error { return a.batch.Close() }

// sharedMaps are the verdict maps (and the set) keyed by service that
// every service puts elements into.
var sharedMaps = []string{mapServiceIPs, mapServiceNodePorts, mapNoEndpointIPs, mapNoEndpointPorts, mapFirewallIPs, setMasqClusterIPs}

// sharedSets are the maps and sets every service puts elements into.
func (a *applier) sharedSets() []*nftables.Set {
	withAddr := nftables.MustConcatSetType(nftables.TypeIPAddr, nftables.TypeInetProto, nftables.TypeInetService)
	portOnly := nftables.MustConcatSetType(nftables.TypeInetProto, nftables.TypeInetService)
	mk := func(name string, key nftables.SetDatatype) *nftables.Set {
		return &nftables.Set{Name: name, IsMap: true, Concatenation: true, KeyType: key, DataType: nftables.TypeVerdict}
	}
	hairpin := &nftables.Set{Name: setHairpin, Concatenation: true,
		KeyType: nftables.MustConcatSetType(nftables.TypeIPAddr, nftables.TypeIPAddr)}
	masq := &nftables.Set{Name: setMasqClusterIPs, Concatenation: true, KeyType: withAddr}
	return []*nftables.Set{mk(mapServiceIPs, withAddr), mk(mapServiceNodePorts, portOnly), mk(mapNoEndpointIPs, withAddr),
		mk(mapNoEndpointPorts, portOnly), mk(mapFirewallIPs, withAddr), hairpin, masq}
}

// Rebuild replaces the whole table with rulesets in one transaction: the
// table is never seen half-built, and anything changed behind the proxy's
// back is gone.
func (a *applier) Rebuild(rulesets []*Ruleset) error {
	t := &a.txn
	a.batch.begin(t)
	t.newTable() // so that deleting it cannot fail
	t.delTable()
	t.newTable()
	for _, s := range a.sharedSets() {
		t.newSet(s, 0)
	}
	changes := make([]*Change, len(rulesets))
	size := 0
	for i, rs := range rulesets {
		changes[i] = Diff(nil, rs)
		size += rebuildBytes(rs)
	}
	t.grow(size)
	slots := newSlotAllocator()
	if err := a.apply(t, changes, map[netip.Addr]int{}, slots); err != nil {
		return err
	}
	a.slots = slots
	return nil
}

// rebuildBytes is about the size of rs's messages in a rebuild, so that
// the buffer is made once rather than grown through its doublings
// (which were a third of a full sync's allocations).
func rebuildBytes(rs *Ruleset) int {
	n := 48 * (len(rs.Elems) + 2*len(rs.Backends) + len(rs.Hairpin))
	for _, rules := range rs.Chains {
		n += 120 + 300*len(rules)
	}
	return n
}

// Apply sends changes in one transaction, ordered so that nothing is
// deleted while still referenced and nothing is referenced before it exists.
func (a *applier) Apply(changes []*Change) error {
	a.batch.begin(&a.txn)
	return a.apply(&a.txn, changes, a.hairpin, a.slots)
}

// apply adds changes to t and sends it, to a table whose hairpin set
// holds the addresses counted in hairpin and whose endpoint maps are
// slots'; the counts and the ranges given are kept only if the kernel
// takes it.
func (a *applier) apply(t *txn, changes []*Change, hairpin map[netip.Addr]int, slots *slotAllocator) error {
	err := a.send(t, changes, hairpin, slots)
	if cap(t.buf) > keptBuffer {
		t.buf = nil // a full sync's buffer is not held until the next one
	}
	if err != nil {
		slots.abort()
		return err
	}
	slots.commit()
	return nil
}

// keptBuffer is the most of a transaction's buffer kept for the next.
const keptBuffer = 4 << 20

func (a *applier) send(t *txn, changes []*Change, hairpin map[netip.Addr]int, slots *slotAllocator) error {
	addHairpin, delHairpin, changed := hairpinChanges(changes, hairpin)
	hairpinElems(t, elemDel, delHairpin)
	sharedElems(t, elemDel, changes)
	if err := backendElems(t, elemDel, changes, func(c *Change) map[BackendKey]Backend { return c.DelBackends }, slots); err != nil {
		return err
	}
	for _, c := range changes {
		for _, name := range c.FlushChains {
			t.flushChain(name)
		}
	}
	for _, c := range changes {
		for _, name := range c.DelChains {
			t.flushChain(name)
		}
	}
	for _, c := range changes {
		for _, name := range c.DelChains {
			t.delChain(name)
		}
		for _, name := range c.DelSets {
			t.delSet(name)
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
				t.newSet(endpointMap(r.mapName()), 0)
			}
		}
	}
	for _, c := range changes {
		for _, name := range sortedKeys(c.AddSets) {
			t.newSet(&nftables.Set{Name: name, KeyType: nftables.TypeIPAddr, HasTimeout: true, Dynamic: true, Timeout: c.AddSets[name]}, 0)
		}
		for _, name := range c.AddChains {
			t.newChain(name)
		}
	}
	if err := addRules(t, changes, slots); err != nil {
		return err
	}
	sharedElems(t, elemAdd, changes)
	// The hairpin addresses go in among the ranges, a share after each
	// batch of changes: the kernel grows a hash set (from 4 buckets) in a
	// worker, which runs at the interval maps' rescheduling points. In one
	// run at the end, 100,000 addresses each walked a chain of tables the
	// worker had not merged: a sixth of a full sync's kernel time.
	const perShare = 64
	for i := 0; i < len(changes); i += perShare {
		end := min(i+perShare, len(changes))
		if err := backendElems(t, elemAdd, changes[i:end], func(c *Change) map[BackendKey]Backend { return c.AddBackends }, slots); err != nil {
			return err
		}
		hairpinElems(t, elemAdd, addHairpin[len(addHairpin)*i/len(changes):len(addHairpin)*end/len(changes)])
	}
	if err := a.batch.send(t); err != nil {
		return fmt.Errorf("nftables transaction: %w", err)
	}
	if len(hairpin) == 0 {
		hairpin = changed // a full sync's: the counts themselves
	}
	setCounts(hairpin, changed)
	a.hairpin = hairpin
	return nil
}

// sharedElems adds or deletes the changes' elements of the maps keyed by
// service, map by map: elements go in as few messages as they fit,
// whichever change they come from (the kernel finds the set by name for
// each message).
func sharedElems(t *txn, op uint16, changes []*Change) {
	for _, m := range sharedMaps {
		elem := func(k ElemKey, v Verdict) {
			if k.Map != m {
				return
			}
			t.elems(op, m, 0)
			key, n := elemKey(k)
			if v.Kind == "" { // deleted, or of a set
				t.elem(key[:n], false, nil, nil)
			} else {
				t.elem(key[:n], false, nil, &v)
			}
		}
		for _, c := range changes {
			if op == elemDel {
				for _, k := range c.DelElems {
					elem(k, Verdict{})
				}
				continue
			}
			for k, v := range c.AddElems {
				elem(k, v)
			}
		}
	}
}

// addRules writes the rules of the changes' new and changed chains.
func addRules(t *txn, changes []*Change, slots *slotAllocator) error {
	b := &exprBuilder{t: t, slots: slots}
	var exprs []expr.Any
	for _, c := range anonymousFirst(changes) {
		for _, names := range [][]string{c.AddChains, c.FlushChains} {
			for _, name := range names {
				for _, r := range c.Rules[name] {
					exprs = exprs[:0]
					for _, s := range r {
						exprs = append(exprs, s.exprs(b)...)
					}
					if b.err != nil {
						return b.err
					}
					if err := t.newRule(name, exprs); err != nil {
						return err
					}
				}
			}
		}
	}
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
	n := 0
	for _, c := range changes {
		n += len(c.AddHairpin) + len(c.DelHairpin)
	}
	delta := make(map[netip.Addr]int, n)
	for _, c := range changes {
		for _, x := range c.DelHairpin {
			delta[x]--
		}
		for _, x := range c.AddHairpin {
			delta[x]++
		}
	}
	for x, d := range delta {
		before, n := counts[x], counts[x]+d
		switch {
		case before <= 0 && n > 0:
			add = append(add, x)
		case before > 0 && n <= 0:
			del = append(del, x)
		}
		delta[x] = max(n, 0)
	}
	return add, del, delta
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

func hairpinElems(t *txn, op uint16, addrs []netip.Addr) {
	for _, x := range addrs {
		t.elems(op, setHairpin, 0)
		a := x.As4()
		t.elem([]byte{a[0], a[1], a[2], a[3], a[0], a[1], a[2], a[3]}, false, nil, nil)
	}
}

// endpointMap is a map of load-balancing chains' ranges of slots (see
// slots.go) → address . port. The key is typed mark (4 bytes, host order, as numgen writes it): nft
// lists a plain integer key only with userdata it would have written.
func endpointMap(name string) *nftables.Set {
	return &nftables.Set{Name: name, IsMap: true, Interval: true, KeyType: nftables.TypeMark,
		KeyByteOrder: binaryutil.BigEndian, DataType: nftables.MustConcatSetType(nftables.TypeIPAddr, nftables.TypeInetService)}
}

// backendElems adds or deletes the ranges of (the deleted ones: as they
// were, for their ends) the changes' backends: an interval is its start
// and end elements.
func backendElems(t *txn, op uint16, changes []*Change, of func(*Change) map[BackendKey]Backend, slots *slotAllocator) error {
	var chain, mapName string
	var r slotRange
	for _, c := range changes {
		for k, v := range of(c) {
			if k.Map != chain {
				var ok bool
				if r, ok = slots.byChain[k.Map]; !ok {
					return fmt.Errorf("endpoint %s: the chain has no slots", k)
				}
				chain, mapName = k.Map, r.mapName()
			}
			t.elems(op, mapName, 0)
			var data []byte
			if op == elemAdd {
				data = backendData(v.To)
			}
			start, end := slotKey(r, k.Slot), slotKey(r, v.End)
			t.elem(start[:], false, data, nil)
			t.elem(end[:], true, nil, nil)
		}
	}
	return nil
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
