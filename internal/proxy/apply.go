package proxy

import (
	"fmt"
	"math/bits"

	"github.com/google/nftables"
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

// applier writes changes to one table through one netlink connection.
type applier struct {
	conn  *nftables.Conn
	table *nftables.Table
}

func newApplier(conn *nftables.Conn) *applier {
	return &applier{conn: conn, table: &nftables.Table{Name: TableName, Family: nftables.TableFamilyIPv4}}
}

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

// verdictMaps are the shared maps every service puts elements into.
func (a *applier) verdictMaps() []*nftables.Set {
	withAddr := nftables.MustConcatSetType(nftables.TypeIPAddr, nftables.TypeInetProto, nftables.TypeInetService)
	portOnly := nftables.MustConcatSetType(nftables.TypeInetProto, nftables.TypeInetService)
	mk := func(name string, key nftables.SetDatatype) *nftables.Set {
		return &nftables.Set{Table: a.table, Name: name, IsMap: true, Concatenation: true, KeyType: key, DataType: nftables.TypeVerdict}
	}
	return []*nftables.Set{mk(mapServiceIPs, withAddr), mk(mapServiceNodePorts, portOnly), mk(mapNoEndpointIPs, withAddr), mk(mapNoEndpointPorts, portOnly), mk(mapFirewallIPs, withAddr)}
}

// Rebuild replaces the whole table with rulesets in one transaction: the
// table is never seen half-built, and anything changed behind the proxy's
// back is gone.
func (a *applier) Rebuild(rulesets []*Ruleset) error {
	a.conn.AddTable(a.table) // so that deleting it cannot fail
	a.conn.DelTable(a.table)
	a.conn.AddTable(a.table)
	for _, s := range a.verdictMaps() {
		if err := a.conn.AddSet(s, nil); err != nil {
			return fmt.Errorf("add map %s: %w", s.Name, err)
		}
	}
	changes := make([]*Change, len(rulesets))
	for i, rs := range rulesets {
		changes[i] = Diff(nil, rs)
	}
	return a.Apply(changes)
}

// Apply sends changes in one transaction, ordered so that nothing is
// deleted while still referenced and nothing is referenced before it exists.
func (a *applier) Apply(changes []*Change) error {
	for _, c := range changes {
		if err := a.delElems(c.DelElems); err != nil {
			return err
		}
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
	b := &exprBuilder{conn: a.conn, table: a.table}
	for _, c := range changes {
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
		if err := a.addElems(c.AddElems); err != nil {
			return err
		}
	}
	if err := a.conn.Flush(); err != nil {
		return fmt.Errorf("nftables transaction: %w", err)
	}
	return nil
}

func (a *applier) delElems(keys []ElemKey) error {
	by := map[string][]nftables.SetElement{}
	for _, k := range keys {
		by[k.Map] = append(by[k.Map], nftables.SetElement{Key: elemKeyBytes(k)})
	}
	for _, m := range sortedKeys(by) {
		if err := a.conn.SetDeleteElements(a.mapSet(m), by[m]); err != nil {
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
		if err := a.conn.SetAddElements(a.mapSet(m), by[m]); err != nil {
			return fmt.Errorf("add elements to %s: %w", m, err)
		}
	}
	return nil
}

func (a *applier) mapSet(name string) *nftables.Set {
	for _, s := range a.verdictMaps() {
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
	t, err := a.conn.ListTableOfFamily(TableName, nftables.TableFamilyIPv4)
	if err != nil {
		return false, fmt.Errorf("get table: %w", err)
	}
	// google/nftables v0.3.0 decodes NFTA_TABLE_USE in host order; the
	// kernel sends it big-endian.
	return int(t.Use) == objects || int(bits.ReverseBytes32(t.Use)) == objects, nil
}
