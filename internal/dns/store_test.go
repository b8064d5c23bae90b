package dns

import (
	"net/netip"
	"testing"

	"github.com/miekg/dns"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

// TestStoreFollowsEvents: what the reflectors hand the stores (the
// first list compacted by the transform, then typed watch events) is
// what the snapshot answers.
func TestStoreFollowsEvents(t *testing.T) {
	changes := 0
	svcs := newCompactStore(func(s *service) string { return s.key }, func() { changes++ })
	eps := newCompactStore(func(e *endpointSlice) string { return e.namespace + "/" + e.name }, func() {})
	fixture, slices := specFixture()
	var list []any
	for _, s := range fixture {
		s.Annotations = map[string]string{"kubectl.kubernetes.io/last-applied-configuration": "{...}"}
		c, _ := svcs.Transformer()(s)
		list = append(list, c)
	}
	if err := svcs.Replace(list, "1"); err != nil {
		t.Fatal(err)
	}
	if err := eps.Replace([]any{slices[0]}, "1"); err != nil {
		t.Fatal(err)
	}
	select {
	case <-svcs.synced:
	default:
		t.Fatal("store not synced after its first list")
	}
	answer := func(name string, qtype uint16) []dns.RR {
		t.Helper()
		var s *Snapshot
		svcs.view(func(sv map[string]*service) {
			eps.view(func(e map[string]*endpointSlice) {
				s = buildSnapshot(SnapshotConfig{Zone: "cluster.local", TTL: 5}, sv, e)
			})
		})
		return s.Answer(dns.Question{Name: name, Qtype: qtype, Qclass: dns.ClassINET}).Answer
	}
	check(t, "listed", answer("kubernetes.default.svc.cluster.local.", dns.TypeA),
		[]string{"kubernetes.default.svc.cluster.local.\t5\tIN\tA\t10.43.0.1"})

	web := clusterIPService("shop", "web", "10.43.7.7", corev1.ServicePort{Name: "http", Protocol: corev1.ProtocolTCP, Port: 80})
	_ = svcs.Add(web)
	check(t, "added", answer("web.shop.svc.cluster.local.", dns.TypeA), []string{"web.shop.svc.cluster.local.\t5\tIN\tA\t10.43.7.7"})
	check(t, "added PTR", answer("7.7.43.10.in-addr.arpa.", dns.TypePTR), []string{"7.7.43.10.in-addr.arpa.\t5\tIN\tPTR\tweb.shop.svc.cluster.local."})

	web2 := web.DeepCopy()
	web2.Spec.Ports[0].Port = 8080
	_ = svcs.Update(web2)
	check(t, "updated", answer("_http._tcp.web.shop.svc.cluster.local.", dns.TypeSRV),
		[]string{"_http._tcp.web.shop.svc.cluster.local.\t5\tIN\tSRV\t0 100 8080 web.shop.svc.cluster.local."})

	_ = svcs.Delete(web2)
	check(t, "deleted", answer("web.shop.svc.cluster.local.", dns.TypeA), nil)
	check(t, "namespace gone with its last service", answer("shop.svc.cluster.local.", dns.TypeA), nil)

	more := &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Namespace: "default", Name: "headless-def", Labels: map[string]string{discoveryv1.LabelServiceName: "headless"}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Endpoints:   []discoveryv1.Endpoint{{Addresses: []string{"10.42.1.8"}}},
	}
	_ = eps.Add(more)
	check(t, "second slice", answer("headless.default.svc.cluster.local.", dns.TypeA), []string{
		"headless.default.svc.cluster.local.\t5\tIN\tA\t10.42.0.5",
		"headless.default.svc.cluster.local.\t5\tIN\tA\t10.42.0.6",
		"headless.default.svc.cluster.local.\t5\tIN\tA\t10.42.1.8",
	})
	_ = eps.Delete(slices[0])
	check(t, "first slice deleted", answer("headless.default.svc.cluster.local.", dns.TypeA),
		[]string{"headless.default.svc.cluster.local.\t5\tIN\tA\t10.42.1.8"})
	if changes != 4 {
		t.Errorf("services store reported %d changes, want 4 (list, add, update, delete)", changes)
	}
}

// TestCompactDropsWhatRecordsDoNotUse: not-ready endpoints, FQDN slices
// and unnamed ports leave nothing behind.
func TestCompactDropsWhatRecordsDoNotUse(t *testing.T) {
	es := compactSlice(&discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Namespace: "ns", Name: "s", Labels: map[string]string{discoveryv1.LabelServiceName: "Svc"}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Ports:       []discoveryv1.EndpointPort{{Port: ptr.To[int32](80)}, {Name: ptr.To("Web"), Port: ptr.To[int32](8080)}},
		Endpoints: []discoveryv1.Endpoint{
			{Addresses: []string{"10.42.0.1"}, Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(false)}},
			{Addresses: []string{"10.42.0.2"}, Hostname: ptr.To("Pet-0"), NodeName: ptr.To("node-1")},
		},
	})
	if es.service != "svc.ns" || len(es.ports) != 1 || es.ports[0] != (port{name: "web", proto: "tcp", num: 8080}) {
		t.Errorf("slice kept service %q ports %+v", es.service, es.ports)
	}
	if len(es.endpoints) != 1 || es.endpoints[0] != (endpoint{addr: netip.MustParseAddr("10.42.0.2"), host: "pet-0"}) {
		t.Errorf("slice kept endpoints %+v", es.endpoints)
	}
	fqdn := compactSlice(&discoveryv1.EndpointSlice{AddressType: discoveryv1.AddressTypeFQDN,
		Endpoints: []discoveryv1.Endpoint{{Addresses: []string{"example.com"}}}})
	if len(fqdn.endpoints) != 0 {
		t.Errorf("FQDN slice kept %+v", fqdn.endpoints)
	}
}

// TestParseReverse: the address of every name reverseName makes, and
// none for names that spell no whole address.
func TestParseReverse(t *testing.T) {
	for _, s := range []string{"10.43.0.1", "0.0.0.0", "255.255.255.255", "fd00:43::20", "::1", "2001:db8:ffff::abcd"} {
		a := netip.MustParseAddr(s)
		got, ok := parseReverse(reverseName(a))
		if !ok || got != a {
			t.Errorf("parseReverse(%q) = %s, %v; want %s", reverseName(a), got, ok, a)
		}
	}
	for _, name := range []string{
		"43.10.in-addr.arpa.", "01.0.43.10.in-addr.arpa.", "1.0.43.256.in-addr.arpa.", "a.0.43.10.in-addr.arpa.",
		"1.2.ip6.arpa.", "x" + reverseName(netip.MustParseAddr("fd00::1"))[1:], "1.0.43.10.in-addr.arpa.com.",
	} {
		if a, ok := parseReverse(name); ok {
			t.Errorf("parseReverse(%q) = %s, want none", name, a)
		}
	}
}

// TestInZone agrees with dns.IsSubDomain, escaped dots included.
func TestInZone(t *testing.T) {
	for _, zone := range []string{"cluster.local.", "."} {
		s := buildSnapshot(SnapshotConfig{Zone: zone, TTL: 5}, nil, nil)
		for _, name := range []string{
			"cluster.local.", "a.cluster.local.", "a.b.cluster.local.", "notcluster.local.", "local.", "example.com.",
			`a\.cluster.local.`, `a\\.cluster.local.`, `a\\\.cluster.local.`, `cluster\.local.`,
		} {
			if got, want := s.inZone(name), dns.IsSubDomain(zone, name); got != want {
				t.Errorf("zone %s: inZone(%q) = %v, dns.IsSubDomain says %v", zone, name, got, want)
			}
		}
	}
}
