package proxy

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// The transactions the proxy writes itself carry, for tables, chains,
// sets and rules, the bytes google/nftables would send (flags aside: the
// proxy asks for one acknowledgement per batch and no echo), so the
// kernel makes the same objects.
func TestTxnMatchesLibrary(t *testing.T) {
	table := &nftables.Table{Name: TableName, Family: nftables.TableFamilyIPv4}
	a := &applier{}
	rule := Rule{matchAddr{Src: true, Negate: true, Prefix: netip.MustParsePrefix("10.42.0.0/16")}, matchProto{Proto: protoTCP},
		dnat{Addr: netip.MustParseAddr("10.42.0.5"), Port: 8080}, verdict{gotoChain(chainReject)}}
	sets := append(a.sharedSets(), endpointMap("endpoints-0"),
		&nftables.Set{Name: "affinity-x", KeyType: nftables.TypeIPAddr, HasTimeout: true, Dynamic: true, Timeout: 3 * time.Hour})
	tests := []struct {
		name string
		lib  func(c *nftables.Conn)
		own  func(t *txn) error
	}{
		{"tables", func(c *nftables.Conn) { c.AddTable(table); c.DelTable(table) },
			func(t *txn) error { t.newTable(); t.delTable(); return nil }},
		{"chains", func(c *nftables.Conn) {
			for _, name := range []string{"services", "nat-prerouting", "filter-output-post-dnat"} {
				ch := &nftables.Chain{Name: name, Table: table}
				if h, ok := hookOf(name); ok {
					ch.Type, ch.Hooknum, ch.Priority = h.typ, h.hooknum, h.priority
				}
				c.AddChain(ch)
				c.FlushChain(ch)
				c.DelChain(ch)
			}
		}, func(t *txn) error {
			for _, name := range []string{"services", "nat-prerouting", "filter-output-post-dnat"} {
				t.newChain(name)
				t.flushChain(name)
				t.delChain(name)
			}
			return nil
		}},
		{"sets", func(c *nftables.Conn) {
			for i, s := range sets {
				s := *s
				s.Table, s.ID = table, uint32(i+1)
				if err := c.AddSet(&s, nil); err != nil {
					panic(err)
				}
				c.DelSet(&s)
			}
		}, func(t *txn) error {
			for _, s := range sets {
				t.newSet(s, 0)
				t.delSet(s.Name)
			}
			return nil
		}},
		{"rules", func(c *nftables.Conn) {
			var exprs []expr.Any
			for _, s := range rule {
				exprs = append(exprs, s.exprs(nil)...)
			}
			c.AddRule(&nftables.Rule{Table: table, Chain: &nftables.Chain{Name: "services", Table: table}, Exprs: exprs})
		}, func(t *txn) error {
			var exprs []expr.Any
			for _, s := range rule {
				exprs = append(exprs, s.exprs(nil)...)
			}
			return t.newRule("services", exprs)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var sent []netlink.Message
			c, err := nftables.New(nftables.WithTestDial(func(req []netlink.Message) ([]netlink.Message, error) {
				sent = append(sent, req...)
				return []netlink.Message{{Header: netlink.Header{Type: netlink.Error}, Data: make([]byte, 20)}}, nil
			}))
			if err != nil {
				t.Fatal(err)
			}
			tt.lib(c)
			if err := c.Flush(); err != nil {
				t.Fatal(err)
			}
			own := &txn{table: TableName}
			own.reset(1)
			if err := tt.own(own); err != nil {
				t.Fatal(err)
			}
			own.finish()
			got := messages(t, own.buf)
			if len(got) != len(sent) {
				t.Fatalf("%d messages, the library's %d", len(got), len(sent))
			}
			for i, m := range sent {
				if got[i].Header.Type != m.Header.Type || !bytes.Equal(got[i].Data, m.Data) {
					t.Errorf("message %d: type %#x\n% x\nthe library's: type %#x\n% x", i, got[i].Header.Type, got[i].Data, m.Header.Type, m.Data)
				}
			}
		})
	}
}

// messages splits a batch into its messages.
func messages(t *testing.T, buf []byte) []netlink.Message {
	var out []netlink.Message
	for len(buf) > 0 {
		n := int(binary.NativeEndian.Uint32(buf))
		if n < unix.NLMSG_HDRLEN || n > len(buf) {
			t.Fatalf("message of %d bytes in %d", n, len(buf))
		}
		var m netlink.Message
		if err := m.UnmarshalBinary(buf[:n]); err != nil {
			t.Fatal(err)
		}
		out = append(out, m)
		buf = buf[min(nlmsgAlign(n), len(buf)):]
	}
	return out
}

// Element lists are split before their attribute's 16-bit length wraps,
// and a kernel error names the set of the message it refused.
func TestTxnElementLists(t *testing.T) {
	own := &txn{table: TableName}
	own.reset(1)
	v := gotoChain(chainReject)
	for i := range 20000 {
		own.elems(elemAdd, mapServiceIPs, 0)
		key, n := elemKey(ElemKey{Addr: netip.MustParseAddr(fmt.Sprintf("10.43.%d.%d", i>>8&0xff, i&0xff)), Proto: protoTCP, Port: uint16(i >> 16)})
		own.elem(key[:n], false, nil, &v)
	}
	_, last := own.finish()
	msgs := messages(t, own.buf)
	elems := 0
	for _, m := range msgs[1 : len(msgs)-1] {
		ad, err := netlink.NewAttributeDecoder(m.Data[4:])
		if err != nil {
			t.Fatal(err)
		}
		for ad.Next() {
			if ad.Type() == unix.NFTA_SET_ELEM_LIST_ELEMENTS {
				inner, err := netlink.NewAttributeDecoder(ad.Bytes())
				if err != nil {
					t.Fatal(err)
				}
				for inner.Next() {
					elems++
				}
			}
		}
		if err := ad.Err(); err != nil {
			t.Fatal(err)
		}
	}
	if elems != 20000 || len(msgs) < 4 {
		t.Errorf("%d elements in %d messages, want 20000 in several", elems, len(msgs)-2)
	}
	if got := objectName(own.message(last)); got != mapServiceIPs {
		t.Errorf("the last message names %q", got)
	}
}
