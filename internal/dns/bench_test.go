package dns

import (
	"context"
	"fmt"
	"runtime"
	"testing"

	"github.com/miekg/dns"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
)

// benchSnapshot is 10,000 ClusterIP services, each with a named port,
// in 100 namespaces.
func benchSnapshot(n int) *Snapshot {
	svcs := make([]*corev1.Service, n)
	for i := range n {
		svcs[i] = clusterIPService(fmt.Sprintf("ns-%d", i%100), fmt.Sprintf("svc-%d", i),
			fmt.Sprintf("10.43.%d.%d", i/250, i%250+1), corev1.ServicePort{Name: "http", Protocol: corev1.ProtocolTCP, Port: 80})
	}
	return BuildSnapshot(SnapshotConfig{Zone: "cluster.local", TTL: 5}, svcs, []*discoveryv1.EndpointSlice{})
}

func BenchmarkBuildSnapshot10k(b *testing.B) {
	for b.Loop() {
		benchSnapshot(10000)
	}
}

func BenchmarkAnswer10k(b *testing.B) {
	s := benchSnapshot(10000)
	q := dns.Question{Name: "svc-4242.ns-42.svc.cluster.local.", Qtype: dns.TypeA, Qclass: dns.ClassINET}
	for b.Loop() {
		if r := s.Answer(q); len(r.Answer) != 1 {
			b.Fatal(r)
		}
	}
}

// BenchmarkHandle10k is the whole request path but the sockets, as a
// UDP reader runs it: a question asked before, answered from the answer
// cache into the reader's buffer.
func BenchmarkHandle10k(b *testing.B) {
	benchmarkHandle(b, false)
}

// BenchmarkHandle10kUncached is the path of a question not asked since
// the snapshot changed: unpack, answer, pack, metrics.
func BenchmarkHandle10kUncached(b *testing.B) {
	benchmarkHandle(b, true)
}

func benchmarkHandle(b *testing.B, uncached bool) {
	h := newTestHandler(benchSnapshot(10000))
	m := new(dns.Msg)
	m.SetQuestion("svc-4242.ns-42.svc.cluster.local.", dns.TypeA)
	raw, _ := m.Pack()
	ctx := context.Background()
	dst := make([]byte, 0, maxUDPSize)
	for b.Loop() {
		if uncached {
			h.answers.cur.Store(nil)
		}
		if out, _ := h.handle(ctx, raw, udp, dst); out == nil {
			b.Fatal("no answer")
		}
	}
}

// TestSnapshotHeap reports the heap a 10,000-service snapshot holds.
func TestSnapshotHeap(t *testing.T) {
	var m0, m1 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m0)
	s := benchSnapshot(10000)
	runtime.GC()
	runtime.ReadMemStats(&m1)
	t.Logf("snapshot of %d names: %.1f MiB in %d objects", s.Len(), float64(m1.HeapAlloc-m0.HeapAlloc)/(1<<20), m1.HeapObjects-m0.HeapObjects)
	runtime.KeepAlive(s)
}
