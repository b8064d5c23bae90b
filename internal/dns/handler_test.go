package dns

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/miekg/dns"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	corev1 "k8s.io/api/core/v1"
)

// bigHeadless is a headless service with n ready endpoints: its A and
// SRV answers do not fit in 512 bytes.
func bigHeadless(n int) *Snapshot {
	svcs := []*corev1.Service{{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "big"}, Spec: corev1.ServiceSpec{ClusterIP: "None"}}}
	es := &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Namespace: "default", Name: "big-1", Labels: map[string]string{discoveryv1.LabelServiceName: "big"}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Ports:       []discoveryv1.EndpointPort{{Name: ptr.To("http"), Port: ptr.To[int32](80)}},
	}
	for i := range n {
		es.Endpoints = append(es.Endpoints, discoveryv1.Endpoint{Addresses: []string{fmt.Sprintf("10.42.%d.%d", i/250, i%250+1)}})
	}
	return BuildSnapshot(SnapshotConfig{Zone: "cluster.local", TTL: 5}, svcs, []*discoveryv1.EndpointSlice{es})
}

// stubResolver answers every forwarded question with one A record.
type stubResolver struct{}

func (stubResolver) Resolve(_ context.Context, q dns.Question) (*dns.Msg, error) {
	m := new(dns.Msg)
	m.Answer = []dns.RR{&dns.A{Hdr: dns.RR_Header{Name: q.Name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 60}, A: []byte{192, 0, 2, 1}}}
	return m, nil
}

func newTestHandler(s *Snapshot) *handler {
	h := &handler{up: stubResolver{}, metrics: newMetrics(), timeout: time.Second}
	h.snap.Store(s)
	return h
}

// exchange runs raw through h, forwarding inline, and unpacks the answer.
func exchange(t *testing.T, h *handler, raw []byte, tr transport) (*dns.Msg, int) {
	t.Helper()
	out, later := h.handle(context.Background(), raw, tr, nil)
	if later != nil {
		out = later()
	}
	if out == nil {
		return nil, 0
	}
	m := new(dns.Msg)
	if err := m.Unpack(out); err != nil {
		t.Fatalf("unpack answer: %v", err)
	}
	return m, len(out)
}

func query(name string, qtype uint16, edns int) *dns.Msg {
	m := new(dns.Msg)
	m.SetQuestion(name, qtype)
	if edns > 0 {
		m.SetEdns0(uint16(edns), false)
	}
	return m
}

func pack(t *testing.T, m *dns.Msg) []byte {
	t.Helper()
	b, err := m.Pack()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestTruncation(t *testing.T) {
	h := newTestHandler(bigHeadless(100))
	tests := []struct {
		name      string
		edns      int
		tr        transport
		truncated bool
		maxSize   int
		answers   int
	}{
		{name: "UDP without EDNS0: 512 bytes, TC", tr: udp, truncated: true, maxSize: 512},
		{name: "UDP with EDNS0 1024: 1024 bytes, TC", edns: 1024, tr: udp, truncated: true, maxSize: 1024},
		{name: "UDP with EDNS0 65000: capped at 1232, TC", edns: 65000, tr: udp, truncated: true, maxSize: 1232},
		{name: "TCP: everything", tr: tcp, maxSize: 65535, answers: 100},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, size := exchange(t, h, pack(t, query("big.default.svc.cluster.local.", dns.TypeA, tt.edns)), tt.tr)
			if m.Truncated != tt.truncated {
				t.Errorf("TC = %v, want %v", m.Truncated, tt.truncated)
			}
			if size > tt.maxSize {
				t.Errorf("answer is %d bytes, more than %d", size, tt.maxSize)
			}
			if tt.answers > 0 && len(m.Answer) != tt.answers {
				t.Errorf("%d answers, want %d", len(m.Answer), tt.answers)
			}
			if (tt.edns > 0) != (m.IsEdns0() != nil) {
				t.Errorf("OPT in answer = %v, want %v", m.IsEdns0() != nil, tt.edns > 0)
			}
		})
	}
}

func TestBadQueries(t *testing.T) {
	h := newTestHandler(testSnapshot())
	good := pack(t, query("kubernetes.default.svc.cluster.local.", dns.TypeA, 0))
	twoQuestions := query("a.cluster.local.", dns.TypeA, 0)
	twoQuestions.Question = append(twoQuestions.Question, twoQuestions.Question[0])
	notify := query("cluster.local.", dns.TypeSOA, 0)
	notify.Opcode = dns.OpcodeNotify
	chaos := query("version.bind.", dns.TypeTXT, 0)
	chaos.Question[0].Qclass = dns.ClassCHAOS
	response := query("cluster.local.", dns.TypeSOA, 0)
	response.Response = true
	ednsV1 := query("cluster.local.", dns.TypeSOA, 1232)
	ednsV1.IsEdns0().SetVersion(1)
	tests := []struct {
		name  string
		raw   []byte
		drop  bool
		rcode int
	}{
		{name: "empty", raw: nil, drop: true},
		{name: "shorter than a header", raw: good[:11], drop: true},
		{name: "oversized", raw: make([]byte, maxQuerySize+1), drop: true},
		{name: "truncated question", raw: good[:len(good)-3], rcode: dns.RcodeFormatError},
		{name: "garbage after a header", raw: append([]byte{0xab, 0xcd, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0}, 0xff, 0xff), rcode: dns.RcodeFormatError},
		{name: "a response", raw: pack(t, response), drop: true},
		{name: "two questions", raw: pack(t, twoQuestions), rcode: dns.RcodeFormatError},
		{name: "NOTIFY", raw: pack(t, notify), rcode: dns.RcodeNotImplemented},
		{name: "CHAOS class", raw: pack(t, chaos), rcode: dns.RcodeNotImplemented},
		{name: "EDNS version 1", raw: pack(t, ednsV1), rcode: dns.RcodeBadVers},
		{name: "AXFR", raw: pack(t, query("cluster.local.", dns.TypeAXFR, 0)), rcode: dns.RcodeRefused},
		{name: "ANY outside the zone is not forwarded", raw: pack(t, query("example.com.", dns.TypeANY, 0)), rcode: dns.RcodeSuccess},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, _ := exchange(t, h, tt.raw, udp)
			if tt.drop {
				if m != nil {
					t.Fatalf("answered %v, want dropped", m)
				}
				return
			}
			if m == nil {
				t.Fatal("dropped, want an answer")
			}
			if m.Rcode != tt.rcode {
				t.Errorf("rcode %s, want %s", dns.RcodeToString[m.Rcode], dns.RcodeToString[tt.rcode])
			}
			if len(tt.raw) >= 2 && m.Id != uint16(tt.raw[0])<<8|uint16(tt.raw[1]) {
				t.Errorf("id %d does not echo the query's", m.Id)
			}
		})
	}
}

func TestAnswerFlags(t *testing.T) {
	h := newTestHandler(testSnapshot())
	m, _ := exchange(t, h, pack(t, query("kubernetes.default.svc.cluster.local.", dns.TypeA, 0)), udp)
	if !m.Authoritative || !m.RecursionAvailable || !m.Response || m.Rcode != dns.RcodeSuccess || len(m.Answer) != 1 {
		t.Fatalf("cluster answer: %v", m)
	}
	m, _ = exchange(t, h, pack(t, query("www.example.com.", dns.TypeA, 0)), udp)
	if m.Authoritative || len(m.Answer) != 1 || m.Answer[0].(*dns.A).A.String() != "192.0.2.1" {
		t.Fatalf("forwarded answer: %v", m)
	}
}
