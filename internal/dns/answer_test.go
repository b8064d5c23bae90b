package dns

import (
	"slices"
	"strings"
	"testing"

	"github.com/miekg/dns"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

// specFixture mirrors the examples of the specification (section 2):
// a ClusterIP service "kubernetes" in "default" with a named port
// "https", a headless service "headless" in "default" with two ready
// endpoints (one with hostname "my-pet") and one not ready, an
// ExternalName service, and the kube-dns service.
func specFixture() ([]*corev1.Service, []*discoveryv1.EndpointSlice) {
	svcs := []*corev1.Service{
		clusterIPService("default", "kubernetes", "10.43.0.1", corev1.ServicePort{Name: "https", Protocol: corev1.ProtocolTCP, Port: 443}),
		clusterIPService("kube-system", "kube-dns", "10.43.0.10",
			corev1.ServicePort{Name: "dns", Protocol: corev1.ProtocolUDP, Port: 53},
			corev1.ServicePort{Name: "dns-tcp", Protocol: corev1.ProtocolTCP, Port: 53}),
		clusterIPService("default", "dual", "10.43.0.20", corev1.ServicePort{Port: 80}),
		{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "headless"}, Spec: corev1.ServiceSpec{ClusterIP: "None"}},
		{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "ext"}, Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName, ExternalName: "www.example.com"}},
		{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "badext"}, Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName, ExternalName: "not a name!"}},
	}
	svcs[2].Spec.ClusterIPs = []string{"10.43.0.20", "fd00:43::20"}
	slice := &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Namespace: "default", Name: "headless-abc", Labels: map[string]string{discoveryv1.LabelServiceName: "headless"}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Ports:       []discoveryv1.EndpointPort{{Name: ptr.To("http"), Protocol: ptr.To(corev1.ProtocolTCP), Port: ptr.To[int32](8080)}},
		Endpoints: []discoveryv1.Endpoint{
			{Addresses: []string{"10.42.0.5"}, Hostname: ptr.To("my-pet"), Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true)}},
			{Addresses: []string{"10.42.0.6"}, Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true)}},
			{Addresses: []string{"10.42.0.7"}, Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(false)}},
		},
	}
	return svcs, []*discoveryv1.EndpointSlice{slice}
}

func clusterIPService(ns, name, ip string, ports ...corev1.ServicePort) *corev1.Service {
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec:       corev1.ServiceSpec{Type: corev1.ServiceTypeClusterIP, ClusterIP: ip, ClusterIPs: []string{ip}, Ports: ports},
	}
}

func testSnapshot() *Snapshot {
	svcs, eps := specFixture()
	return BuildSnapshot(SnapshotConfig{Zone: "cluster.local", TTL: 5, DNSService: "kube-system/kube-dns", Serial: 1}, svcs, eps)
}

func TestAnswer(t *testing.T) {
	s := testSnapshot()
	const soa = "cluster.local.\t5\tIN\tSOA\tns.dns.cluster.local. hostmaster.cluster.local. 1 7200 1800 86400 5"
	tests := []struct {
		name   string
		q      string
		qtype  uint16
		rcode  int
		answer []string
		ns     []string
		extra  []string
		fwd    bool
	}{
		{name: "schema version", q: "dns-version.cluster.local.", qtype: dns.TypeTXT,
			answer: []string{"dns-version.cluster.local.\t5\tIN\tTXT\t\"1.1.0\""}},
		{name: "cluster IP A", q: "kubernetes.default.svc.cluster.local.", qtype: dns.TypeA,
			answer: []string{"kubernetes.default.svc.cluster.local.\t5\tIN\tA\t10.43.0.1"}},
		{name: "case preserved, matched without case", q: "KuberNetes.Default.svc.cluster.local.", qtype: dns.TypeA,
			answer: []string{"KuberNetes.Default.svc.cluster.local.\t5\tIN\tA\t10.43.0.1"}},
		{name: "cluster IP AAAA of a single-stack service is NODATA", q: "kubernetes.default.svc.cluster.local.", qtype: dns.TypeAAAA,
			ns: []string{soa}},
		{name: "dual-stack AAAA", q: "dual.default.svc.cluster.local.", qtype: dns.TypeAAAA,
			answer: []string{"dual.default.svc.cluster.local.\t5\tIN\tAAAA\tfd00:43::20"}},
		{name: "SRV of a named port with the target's A", q: "_https._tcp.kubernetes.default.svc.cluster.local.", qtype: dns.TypeSRV,
			answer: []string{"_https._tcp.kubernetes.default.svc.cluster.local.\t5\tIN\tSRV\t0 100 443 kubernetes.default.svc.cluster.local."},
			extra:  []string{"kubernetes.default.svc.cluster.local.\t5\tIN\tA\t10.43.0.1"}},
		{name: "SRV of the wrong protocol is NXDOMAIN", q: "_https._udp.kubernetes.default.svc.cluster.local.", qtype: dns.TypeSRV,
			rcode: dns.RcodeNameError, ns: []string{soa}},
		{name: "_proto.service is an empty non-terminal", q: "_tcp.kubernetes.default.svc.cluster.local.", qtype: dns.TypeA,
			ns: []string{soa}},
		{name: "unnamed port has no SRV", q: "dual.default.svc.cluster.local.", qtype: dns.TypeSRV, ns: []string{soa}},
		{name: "headless: one A per ready endpoint", q: "headless.default.svc.cluster.local.", qtype: dns.TypeA,
			answer: []string{
				"headless.default.svc.cluster.local.\t5\tIN\tA\t10.42.0.5",
				"headless.default.svc.cluster.local.\t5\tIN\tA\t10.42.0.6",
			}},
		{name: "headless: hostname record", q: "my-pet.headless.default.svc.cluster.local.", qtype: dns.TypeA,
			answer: []string{"my-pet.headless.default.svc.cluster.local.\t5\tIN\tA\t10.42.0.5"}},
		{name: "headless: endpoint without hostname by dashed address", q: "10-42-0-6.headless.default.svc.cluster.local.", qtype: dns.TypeA,
			answer: []string{"10-42-0-6.headless.default.svc.cluster.local.\t5\tIN\tA\t10.42.0.6"}},
		{name: "headless: not-ready endpoint has no name", q: "10-42-0-7.headless.default.svc.cluster.local.", qtype: dns.TypeA,
			rcode: dns.RcodeNameError, ns: []string{soa}},
		{name: "headless SRV: one per endpoint, with A records", q: "_http._tcp.headless.default.svc.cluster.local.", qtype: dns.TypeSRV,
			answer: []string{
				"_http._tcp.headless.default.svc.cluster.local.\t5\tIN\tSRV\t0 50 8080 my-pet.headless.default.svc.cluster.local.",
				"_http._tcp.headless.default.svc.cluster.local.\t5\tIN\tSRV\t0 50 8080 10-42-0-6.headless.default.svc.cluster.local.",
			},
			extra: []string{
				"my-pet.headless.default.svc.cluster.local.\t5\tIN\tA\t10.42.0.5",
				"10-42-0-6.headless.default.svc.cluster.local.\t5\tIN\tA\t10.42.0.6",
			}},
		{name: "PTR of a cluster IP", q: "1.0.43.10.in-addr.arpa.", qtype: dns.TypePTR,
			answer: []string{"1.0.43.10.in-addr.arpa.\t5\tIN\tPTR\tkubernetes.default.svc.cluster.local."}},
		{name: "PTR of an IPv6 cluster IP", q: "0.2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.3.4.0.0.0.0.d.f.ip6.arpa.", qtype: dns.TypePTR,
			answer: []string{"0.2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.3.4.0.0.0.0.d.f.ip6.arpa.\t5\tIN\tPTR\tdual.default.svc.cluster.local."}},
		{name: "PTR of a headless endpoint", q: "5.0.42.10.in-addr.arpa.", qtype: dns.TypePTR,
			answer: []string{"5.0.42.10.in-addr.arpa.\t5\tIN\tPTR\tmy-pet.headless.default.svc.cluster.local."}},
		{name: "PTR of an unknown address is forwarded", q: "8.8.8.8.in-addr.arpa.", qtype: dns.TypePTR, fwd: true},
		{name: "ExternalName CNAME", q: "ext.default.svc.cluster.local.", qtype: dns.TypeA,
			answer: []string{"ext.default.svc.cluster.local.\t5\tIN\tCNAME\twww.example.com."}},
		{name: "ExternalName that is not a DNS name: exists, no records", q: "badext.default.svc.cluster.local.", qtype: dns.TypeCNAME,
			ns: []string{soa}},
		{name: "pod A (insecure)", q: "10-42-1-9.default.pod.cluster.local.", qtype: dns.TypeA,
			answer: []string{"10-42-1-9.default.pod.cluster.local.\t5\tIN\tA\t10.42.1.9"}},
		{name: "pod AAAA", q: "fd00-42--9.default.pod.cluster.local.", qtype: dns.TypeAAAA,
			answer: []string{"fd00-42--9.default.pod.cluster.local.\t5\tIN\tAAAA\tfd00:42::9"}},
		{name: "pod name asked for AAAA is NODATA", q: "10-42-1-9.default.pod.cluster.local.", qtype: dns.TypeAAAA, ns: []string{soa}},
		{name: "pod name that is no address", q: "foo.default.pod.cluster.local.", qtype: dns.TypeA, rcode: dns.RcodeNameError, ns: []string{soa}},
		{name: "SOA at the apex", q: "cluster.local.", qtype: dns.TypeSOA, answer: []string{soa}},
		{name: "NS at the apex with the server's address", q: "cluster.local.", qtype: dns.TypeNS,
			answer: []string{"cluster.local.\t5\tIN\tNS\tns.dns.cluster.local."},
			extra:  []string{"ns.dns.cluster.local.\t5\tIN\tA\t10.43.0.10"}},
		{name: "namespace name exists (NODATA)", q: "default.svc.cluster.local.", qtype: dns.TypeA, ns: []string{soa}},
		{name: "svc exists (NODATA)", q: "svc.cluster.local.", qtype: dns.TypeA, ns: []string{soa}},
		{name: "unknown service NXDOMAIN", q: "nope.default.svc.cluster.local.", qtype: dns.TypeA, rcode: dns.RcodeNameError, ns: []string{soa}},
		{name: "unknown namespace NXDOMAIN", q: "kubernetes.nope.svc.cluster.local.", qtype: dns.TypeA, rcode: dns.RcodeNameError, ns: []string{soa}},
		{name: "existing name, other type: NODATA", q: "kubernetes.default.svc.cluster.local.", qtype: dns.TypeMX, ns: []string{soa}},
		{name: "ANY answered minimally (RFC 8482)", q: "kubernetes.default.svc.cluster.local.", qtype: dns.TypeANY,
			answer: []string{"kubernetes.default.svc.cluster.local.\t5\tIN\tHINFO\t\"RFC8482\" \"\""}},
		{name: "outside the zone: forward", q: "www.example.com.", qtype: dns.TypeA, fwd: true},
		{name: "zone look-alike: forward", q: "notcluster.local.", qtype: dns.TypeA, fwd: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := s.Answer(dns.Question{Name: tt.q, Qtype: tt.qtype, Qclass: dns.ClassINET})
			if r.Forward != tt.fwd {
				t.Fatalf("Forward = %v, want %v", r.Forward, tt.fwd)
			}
			if tt.fwd {
				return
			}
			if r.Rcode != tt.rcode {
				t.Errorf("rcode = %s, want %s", dns.RcodeToString[r.Rcode], dns.RcodeToString[tt.rcode])
			}
			if !r.Authoritative {
				t.Errorf("not authoritative")
			}
			check(t, "answer", r.Answer, tt.answer)
			check(t, "authority", r.Ns, tt.ns)
			check(t, "additional", r.Extra, tt.extra)
		})
	}
}

func check(t *testing.T, section string, got []dns.RR, want []string) {
	t.Helper()
	var g []string
	for _, rr := range got {
		g = append(g, rr.String())
	}
	slices.Sort(g)
	w := slices.Clone(want)
	slices.Sort(w)
	if !slices.Equal(g, w) {
		t.Errorf("%s:\n got  %s\n want %s", section, strings.Join(g, "\n      "), strings.Join(w, "\n      "))
	}
}

func TestPodsDisabled(t *testing.T) {
	svcs, eps := specFixture()
	s := BuildSnapshot(SnapshotConfig{Zone: "cluster.local", TTL: 5, Pods: PodsDisabled}, svcs, eps)
	r := s.Answer(dns.Question{Name: "10-42-1-9.default.pod.cluster.local.", Qtype: dns.TypeA, Qclass: dns.ClassINET})
	if r.Rcode != dns.RcodeNameError {
		t.Fatalf("rcode = %s, want NXDOMAIN", dns.RcodeToString[r.Rcode])
	}
}

func TestCustomZone(t *testing.T) {
	svcs, eps := specFixture()
	s := BuildSnapshot(SnapshotConfig{Zone: "Example.Internal", TTL: 30}, svcs, eps)
	r := s.Answer(dns.Question{Name: "kubernetes.default.svc.example.internal.", Qtype: dns.TypeA, Qclass: dns.ClassINET})
	check(t, "answer", r.Answer, []string{"kubernetes.default.svc.example.internal.\t30\tIN\tA\t10.43.0.1"})
	if r := s.Answer(dns.Question{Name: "kubernetes.default.svc.cluster.local.", Qtype: dns.TypeA, Qclass: dns.ClassINET}); !r.Forward {
		t.Fatalf("cluster.local is not ours under another zone: %+v", r)
	}
}
