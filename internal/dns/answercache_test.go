package dns

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/miekg/dns"
	corev1 "k8s.io/api/core/v1"
)

func TestAnswerKey(t *testing.T) {
	plain := func(mod func(m *dns.Msg)) []byte {
		m := query("web.default.svc.cluster.local.", dns.TypeA, 0)
		if mod != nil {
			mod(m)
		}
		b, err := m.Pack()
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	withEDNS := plain(func(m *dns.Msg) { m.SetEdns0(1232, true) })
	cookie := plain(func(m *dns.Msg) {
		m.SetEdns0(1232, false)
		m.IsEdns0().Option = append(m.IsEdns0().Option, &dns.EDNS0_COOKIE{Code: dns.EDNS0COOKIE, Cookie: "0123456789abcdef"})
	})
	for _, tc := range []struct {
		name string
		raw  []byte
		ok   bool
	}{
		{"plain question", plain(nil), true},
		{"checking disabled, authentic data", plain(func(m *dns.Msg) { m.CheckingDisabled, m.AuthenticatedData = true, true }), true},
		{"with an OPT", withEDNS, true},
		{"an OPT with an option", cookie, false},
		{"EDNS version 1", plain(func(m *dns.Msg) { m.SetEdns0(1232, false); m.IsEdns0().SetVersion(1) }), false},
		{"a response", plain(func(m *dns.Msg) { m.Response = true }), false},
		{"another opcode", plain(func(m *dns.Msg) { m.Opcode = dns.OpcodeNotify }), false},
		{"two questions", plain(func(m *dns.Msg) { m.Question = append(m.Question, m.Question[0]) }), false},
		{"an answer record", plain(func(m *dns.Msg) {
			m.Answer = []dns.RR{&dns.A{Hdr: dns.RR_Header{Name: "x.", Rrtype: dns.TypeA, Class: dns.ClassINET}, A: []byte{1, 2, 3, 4}}}
		}), false},
		{"class CH", plain(func(m *dns.Msg) { m.Question[0].Qclass = dns.ClassCHAOS }), false},
		{"AXFR", plain(func(m *dns.Msg) { m.Question[0].Qtype = dns.TypeAXFR }), false},
		{"bytes after the question", append(plain(nil), 0), false},
		{"cut short", plain(nil)[:20], false},
		{"a compression pointer", append(append(plain(nil)[:12], 0xC0, 12), 0, 1, 0, 1), false},
		{"header only", plain(nil)[:12], false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, _, ok := answerKey(nil, tc.raw, udp)
			if ok != tc.ok {
				t.Errorf("answerKey ok = %v, want %v", ok, tc.ok)
			}
		})
	}

	// Letter case does not make another key; transport, flags and OPT do.
	lower, _, _, _ := answerKey(nil, plain(nil), udp)
	upper, n, qtype, _ := answerKey(nil, plain(func(m *dns.Msg) { m.Question[0].Name = "WEB.Default.SVC.cluster.local." }), udp)
	if !bytes.Equal(lower, upper) || n != len("web.default.svc.cluster.local.")+1 || qtype != dns.TypeA {
		t.Errorf("mixed case: key %q (name %d bytes, type %d), want %q", upper, n, qtype, lower)
	}
	overTCP, _, _, _ := answerKey(nil, plain(nil), tcp)
	edns, _, _, _ := answerKey(nil, withEDNS, udp)
	noRD, _, _, _ := answerKey(nil, plain(func(m *dns.Msg) { m.RecursionDesired = false }), udp)
	for name, k := range map[string][]byte{"over TCP": overTCP, "with an OPT": edns, "recursion not desired": noRD} {
		if bytes.Equal(k, lower) {
			t.Errorf("%s: the same key as the plain question", name)
		}
	}
}

// A question asked again is answered from the cache: the same answer,
// with the asker's ID and letter case, until the snapshot changes.
func TestAnswerCache(t *testing.T) {
	snap := func(ip string) *Snapshot {
		return BuildSnapshot(SnapshotConfig{Zone: "cluster.local", TTL: 5}, []*corev1.Service{clusterIPService("default", "web", ip)}, nil)
	}
	h := newTestHandler(snap("10.43.0.7"))
	ask := func(name string, id uint16, edns int) (*dns.Msg, []byte) {
		t.Helper()
		q := query(name, dns.TypeA, edns)
		q.Id = id
		out, later := h.handle(context.Background(), pack(t, q), udp, make([]byte, 0, maxUDPSize))
		if later != nil || out == nil {
			t.Fatalf("%s: no answer from the snapshot", name)
		}
		m := new(dns.Msg)
		if err := m.Unpack(out); err != nil {
			t.Fatalf("unpack: %v", err)
		}
		return m, append([]byte(nil), out...)
	}
	first, firstRaw := ask("web.default.svc.cluster.local.", 1, 0)
	again, againRaw := ask("web.default.svc.cluster.local.", 2, 0)
	if again.Id != 2 || !bytes.Equal(firstRaw[2:], againRaw[2:]) {
		t.Errorf("asked again: id %d, bytes %x; want id 2 and the first answer's bytes %x", again.Id, againRaw[2:], firstRaw[2:])
	}
	if c := h.answers.cur.Load(); c == nil || len(c.m) != 1 {
		t.Fatalf("answer cache: %v, want one answer", c)
	}
	upper, _ := ask("WEB.default.svc.cluster.local.", 3, 0)
	if upper.Id != 3 || upper.Question[0].Name != "WEB.default.svc.cluster.local." || len(upper.Answer) != 1 ||
		!strings.EqualFold(upper.Answer[0].Header().Name, "web.default.svc.cluster.local.") || upper.Answer[0].(*dns.A).A.String() != "10.43.0.7" {
		t.Errorf("asked in upper case: %v", upper)
	}
	if first.Answer[0].(*dns.A).A.String() != "10.43.0.7" || !first.Authoritative {
		t.Errorf("first answer: %v", first)
	}
	// An OPT in the question is another question: the answer carries ours.
	withOPT, _ := ask("web.default.svc.cluster.local.", 4, 1232)
	if withOPT.IsEdns0() == nil {
		t.Errorf("a question with an OPT got an answer without one: %v", withOPT)
	}
	if plain, _ := ask("web.default.svc.cluster.local.", 5, 0); plain.IsEdns0() != nil {
		t.Errorf("a question without an OPT got an answer with one: %v", plain)
	}
	// A name that is not there: NXDOMAIN, kept too.
	if nx, _ := ask("nope.default.svc.cluster.local.", 6, 0); nx.Rcode != dns.RcodeNameError {
		t.Errorf("nope: rcode %d, want NXDOMAIN", nx.Rcode)
	}
	if nx, _ := ask("nope.default.svc.cluster.local.", 7, 0); nx.Rcode != dns.RcodeNameError || nx.Id != 7 {
		t.Errorf("nope again: %v", nx)
	}

	// The service moves: the next answer is the new snapshot's.
	h.snap.Store(snap("10.43.0.8"))
	if moved, _ := ask("web.default.svc.cluster.local.", 8, 0); len(moved.Answer) != 1 || moved.Answer[0].(*dns.A).A.String() != "10.43.0.8" {
		t.Errorf("after the snapshot changed: %v, want 10.43.0.8", moved)
	}
}

// Over UDP a big answer is truncated, over TCP it is whole; each is
// answered again the same from the cache.
func TestAnswerCacheTransports(t *testing.T) {
	h := newTestHandler(bigHeadless(100))
	raw := pack(t, query("big.default.svc.cluster.local.", dns.TypeA, 0))
	for range 2 {
		u, _ := exchange(t, h, raw, udp)
		if !u.Truncated {
			t.Errorf("over UDP: not truncated (%d answers)", len(u.Answer))
		}
		c, _ := exchange(t, h, raw, tcp)
		if c.Truncated || len(c.Answer) != 100 {
			t.Errorf("over TCP: truncated %v, %d answers, want 100", c.Truncated, len(c.Answer))
		}
	}
	if c := h.answers.cur.Load(); c == nil || len(c.m) != 2 {
		t.Errorf("answer cache after UDP and TCP: %v, want two answers", c)
	}
}

// Forwarded names are not the snapshot's to keep.
func TestAnswerCacheSkipsForwarded(t *testing.T) {
	h := newTestHandler(testSnapshot())
	raw := pack(t, query("example.com.", dns.TypeA, 0))
	for range 2 {
		if m, _ := exchange(t, h, raw, udp); m == nil || len(m.Answer) != 1 {
			t.Fatalf("example.com: %v", m)
		}
	}
	if c := h.answers.cur.Load(); c != nil && len(c.m) != 0 {
		t.Errorf("a forwarded answer was kept: %d answers", len(c.m))
	}
}
