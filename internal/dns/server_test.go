package dns_test

import (
	"context"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miekg/dns"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/kemudi/kemudi/internal/cluster/clustertest"
	clusterdns "github.com/kemudi/kemudi/internal/dns"
)

// fakeUpstream is a resolver on loopback that knows example.test. and
// denies everything else, counting the questions it gets.
type fakeUpstream struct {
	addr    string
	queries atomic.Int64
}

func startUpstream(t *testing.T) *fakeUpstream {
	t.Helper()
	u := &fakeUpstream{}
	started := make(chan struct{})
	srv := &dns.Server{Addr: "127.0.0.1:0", Net: "udp", NotifyStartedFunc: func() { close(started) },
		Handler: dns.HandlerFunc(func(w dns.ResponseWriter, r *dns.Msg) {
			u.queries.Add(1)
			m := new(dns.Msg)
			m.SetReply(r)
			q := r.Question[0]
			if q.Name == "example.test." && q.Qtype == dns.TypeA {
				m.Answer = []dns.RR{&dns.A{Hdr: dns.RR_Header{Name: q.Name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 60}, A: []byte{192, 0, 2, 7}}}
			} else {
				m.Rcode = dns.RcodeNameError
				m.Ns = []dns.RR{&dns.SOA{Hdr: dns.RR_Header{Name: "test.", Rrtype: dns.TypeSOA, Class: dns.ClassINET, Ttl: 30},
					Ns: "ns.test.", Mbox: "h.test.", Serial: 1, Refresh: 1, Retry: 1, Expire: 1, Minttl: 30}}
			}
			_ = w.WriteMsg(m)
		})}
	go func() { _ = srv.ListenAndServe() }()
	<-started
	t.Cleanup(func() { _ = srv.Shutdown() })
	u.addr = srv.PacketConn.LocalAddr().String()
	return u
}

type running struct {
	dnsAddr, httpAddr string
}

func startDNS(t *testing.T, s *clustertest.Server, upstream string) running {
	t.Helper()
	o := clusterdns.DefaultOptions()
	o.Listen = []string{"127.0.0.1:0"}
	o.HTTPAddress = "127.0.0.1:0"
	o.Upstreams = []string{upstream}
	started := make(chan running, 1)
	o.Started = func(d []string, h string) { started <- running{d[0], h} }
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- clusterdns.Run(ctx, s.Config, o) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	select {
	case r := <-started:
		return r
	case err := <-done:
		t.Fatalf("Run ended: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("DNS did not start in 30s")
	}
	return running{}
}

func ask(t *testing.T, addr, net, name string, qtype uint16) *dns.Msg {
	t.Helper()
	c := &dns.Client{Net: net, Timeout: 2 * time.Second}
	m := new(dns.Msg)
	m.SetQuestion(name, qtype)
	r, _, err := c.Exchange(m, addr)
	if err != nil {
		t.Fatalf("%s %s over %s: %v", name, dns.TypeToString[qtype], net, err)
	}
	return r
}

// eventually retries ask until cond holds (informers are asynchronous).
func eventually(t *testing.T, addr, name string, qtype uint16, cond func(*dns.Msg) bool) *dns.Msg {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		r := ask(t, addr, "udp", name, qtype)
		if cond(r) {
			return r
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s %s: last answer %v", name, dns.TypeToString[qtype], r)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func addrs(m *dns.Msg) []string {
	var out []string
	for _, rr := range m.Answer {
		if a, ok := rr.(*dns.A); ok {
			out = append(out, a.A.String())
		}
	}
	slices.Sort(out)
	return out
}

func TestServer(t *testing.T) {
	s := clustertest.Start(t)
	up := startUpstream(t)
	ctx := context.Background()
	svc, err := s.Client.CoreV1().Services("default").Create(ctx, &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec:       corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "http", Port: 80, Protocol: corev1.ProtocolTCP}}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Client.CoreV1().Services("default").Create(ctx, &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "db"},
		Spec:       corev1.ServiceSpec{ClusterIP: "None", Ports: []corev1.ServicePort{{Name: "pg", Port: 5432}}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	slice := &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Name: "db-1", Labels: map[string]string{discoveryv1.LabelServiceName: "db"}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Ports:       []discoveryv1.EndpointPort{{Name: ptr.To("pg"), Port: ptr.To[int32](5432), Protocol: ptr.To(corev1.ProtocolTCP)}},
		Endpoints: []discoveryv1.Endpoint{
			{Addresses: []string{"10.42.0.11"}, Hostname: ptr.To("db-0"), Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true)}},
		},
	}
	if slice, err = s.Client.DiscoveryV1().EndpointSlices("default").Create(ctx, slice, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	r := startDNS(t, s, up.addr)

	t.Run("ready", func(t *testing.T) {
		resp, err := http.Get("http://" + r.httpAddr + "/ready")
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("/ready: %v %v", resp, err)
		}
		resp.Body.Close()
	})
	t.Run("cluster IP over UDP and TCP", func(t *testing.T) {
		for _, n := range []string{"udp", "tcp"} {
			m := ask(t, r.dnsAddr, n, "web.default.svc.cluster.local.", dns.TypeA)
			if got := addrs(m); !slices.Equal(got, []string{svc.Spec.ClusterIP}) || !m.Authoritative {
				t.Errorf("%s: %v, want %s", n, m, svc.Spec.ClusterIP)
			}
		}
		m := ask(t, r.dnsAddr, "udp", "_http._tcp.web.default.svc.cluster.local.", dns.TypeSRV)
		if len(m.Answer) != 1 || m.Answer[0].(*dns.SRV).Port != 80 || len(m.Extra) != 1 {
			t.Errorf("SRV: %v", m)
		}
	})
	t.Run("headless follows its EndpointSlice", func(t *testing.T) {
		eventually(t, r.dnsAddr, "db-0.db.default.svc.cluster.local.", dns.TypeA, func(m *dns.Msg) bool {
			return slices.Equal(addrs(m), []string{"10.42.0.11"})
		})
		slice.Endpoints = append(slice.Endpoints, discoveryv1.Endpoint{Addresses: []string{"10.42.0.12"}, Hostname: ptr.To("db-1")})
		if _, err := s.Client.DiscoveryV1().EndpointSlices("default").Update(ctx, slice, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		eventually(t, r.dnsAddr, "db.default.svc.cluster.local.", dns.TypeA, func(m *dns.Msg) bool {
			return slices.Equal(addrs(m), []string{"10.42.0.11", "10.42.0.12"})
		})
		if err := s.Client.CoreV1().Services("default").Delete(ctx, "db", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		eventually(t, r.dnsAddr, "db.default.svc.cluster.local.", dns.TypeA, func(m *dns.Msg) bool {
			return m.Rcode == dns.RcodeNameError && len(m.Ns) == 1
		})
	})
	t.Run("other names go upstream once, then come from the cache", func(t *testing.T) {
		before := up.queries.Load()
		for range 3 {
			m := ask(t, r.dnsAddr, "udp", "example.test.", dns.TypeA)
			if got := addrs(m); !slices.Equal(got, []string{"192.0.2.7"}) || m.Authoritative {
				t.Fatalf("forwarded: %v", m)
			}
			if ttl := m.Answer[0].Header().Ttl; ttl > 60 || ttl < 55 {
				t.Errorf("cached TTL %d, want ≤ 60 and close to it", ttl)
			}
			m = ask(t, r.dnsAddr, "tcp", "missing.test.", dns.TypeA)
			if m.Rcode != dns.RcodeNameError {
				t.Fatalf("negative: %v", m)
			}
		}
		if got := up.queries.Load() - before; got != 2 {
			t.Errorf("upstream got %d questions, want 2 (one positive, one negative; the rest cached)", got)
		}
	})
	t.Run("metrics", func(t *testing.T) {
		resp, err := http.Get("http://" + r.httpAddr + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		for _, want := range []string{
			`kemudi_dns_requests_total{proto="udp",rcode="NOERROR",type="A"}`,
			`kemudi_dns_requests_total{proto="tcp",rcode="NXDOMAIN",type="A"}`,
			"kemudi_dns_cache_hits_total 4",
			"kemudi_dns_cache_misses_total 2",
			"kemudi_dns_request_duration_seconds_bucket",
		} {
			if !strings.Contains(string(body), want) {
				t.Errorf("/metrics lacks %s", want)
			}
		}
	})
}
