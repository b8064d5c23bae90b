package proxybench

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"testing"
	"time"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"github.com/vishvananda/netns"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// proxyRun is a proxy that has made its first full sync in a namespace
// of its own, as the change loop sees it.
type proxyRun struct {
	pid     int
	nsPath  string
	conn    *nftables.Conn // in the proxy's namespace
	table   *nftables.Table
	metrics string // address of its /metrics in its namespace
	// chainOf names the chain that spreads service svc's port over its
	// endpoints, through a map the change loop reads.
	chainOf func(svc string) string
	// addrOctet is the second octet of the endpoints the loop adds
	// (10.X.0.0/16): each proxy gets addresses no other added.
	addrOctet byte
	// reportSlow prints each change over the target as it happens.
	reportSlow bool
}

// perChange bounds the wait for one change to reach the kernel.
const perChange = 30 * time.Second

// measureChanges adds one endpoint to each of `changes` services, one at a
// time, timing each from the API write until the service's map in the
// kernel holds it; then it reads the proxy's metrics, CPU and memory into
// r. Past budget (0: none) it stops early. It returns why it stopped
// early, or "".
func measureChanges(b *testing.B, client kubernetes.Interface, run *proxyRun, r *result, n, changes int, budget time.Duration) (note string) {
	ctx := context.Background()
	r.changesWanted = changes
	before := proxyMetrics(b, run.nsPath, run.metrics)
	began := time.Now()
	for i := range changes {
		if budget > 0 && time.Since(began) > budget {
			note = fmt.Sprintf("%d of %d changes made in the %v budget", i, changes, budget)
			break
		}
		svc := fmt.Sprintf("svc-%d", (i*7919)%n)
		addr := netip.AddrFrom4([4]byte{10, run.addrOctet, byte(i >> 8), byte(i)})
		chain := &nftables.Chain{Name: run.chainOf(svc), Table: run.table}
		set := endpointMap(b, run.conn, chain)
		sl, err := client.DiscoveryV1().EndpointSlices("default").Get(ctx, svc, metav1.GetOptions{})
		if err != nil {
			b.Fatal(err)
		}
		sl.Endpoints = append(sl.Endpoints, discoveryv1.Endpoint{Addresses: []string{addr.String()}})
		wrote := time.Now()
		if _, err := client.DiscoveryV1().EndpointSlices("default").Update(ctx, sl, metav1.UpdateOptions{}); err != nil {
			b.Fatal(err)
		}
		ack := time.Now()
		for !holds(run.conn, set, addr) {
			if time.Since(wrote) > perChange {
				note = fmt.Sprintf("endpoint %s of %s not in the kernel after %v (change %d)", addr, svc, perChange, i)
				break
			}
			// Each look dumps the map's elements (1,280 of kemudi's):
			// looking every 200 µs took much of a core from the proxy
			// and the API server.
			time.Sleep(time.Millisecond)
			if set.Anonymous {
				// A map written into the rule is replaced with the rule.
				set = endpointMap(b, run.conn, chain)
			}
		}
		if note != "" {
			break
		}
		r.lat, r.acked = append(r.lat, time.Since(wrote)), append(r.acked, time.Since(ack))
		if d := r.lat[len(r.lat)-1]; run.reportSlow && d > 50*time.Millisecond {
			fmt.Fprintf(os.Stderr, "%s change %d (%s) took %v, %v of it after the API's answer\n", wrote.Format("15:04:05.000"),
				i, svc, d.Round(time.Millisecond), r.acked[len(r.acked)-1].Round(time.Millisecond))
		}
	}
	r.cpuAll = cpuTime(b, run.pid)
	r.rss, r.hwm = memory(b, run.pid)
	// The proxy's own view of the changes: from the event it was handed
	// (the bench's slices carry no trigger time) to the kernel.
	after := proxyMetrics(b, run.nsPath, run.metrics)
	r.programmed = histogramSince(before, after, "kubeproxy_network_programming_duration_seconds")
	r.syncs = histogramSince(before, after, "kubeproxy_sync_proxy_rules_duration_seconds")
	return note
}

// endpointMap is the map the chain's DNAT rule picks endpoints from:
// kemudi's is a named map, kube-proxy's one written in the rule
// (anonymous).
func endpointMap(b *testing.B, conn *nftables.Conn, chain *nftables.Chain) *nftables.Set {
	rules, err := conn.GetRules(chain.Table, chain)
	if err != nil {
		b.Fatalf("rules of %s: %v", chain.Name, err)
	}
	for _, r := range rules {
		for _, e := range r.Exprs {
			if l, ok := e.(*expr.Lookup); ok && l.IsDestRegSet {
				set, err := conn.GetSetByName(chain.Table, l.SetName)
				if err != nil {
					b.Fatalf("map %s: %v", l.SetName, err)
				}
				return set
			}
		}
	}
	b.Fatalf("no DNAT map in %s", chain.Name)
	return nil
}

// holds reports whether one of set's elements DNATs to addr (kemudi's
// value is the address, kube-proxy's the address and port).
func holds(conn *nftables.Conn, set *nftables.Set, addr netip.Addr) bool {
	elems, err := conn.GetSetElements(set)
	if err != nil {
		return false
	}
	a := addr.As4()
	for _, e := range elems {
		if len(e.Val) >= 4 && [4]byte(e.Val[:4]) == a {
			return true
		}
	}
	return false
}

func nftConn(b *testing.B, ns string) *nftables.Conn {
	h, err := netns.GetFromName(ns)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { h.Close() })
	conn, err := nftables.New(nftables.AsLasting(), nftables.WithNetNSFd(int(h)))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = conn.CloseLasting() })
	return conn
}

func countChains(b *testing.B, conn *nftables.Conn) int {
	list, err := conn.ListChainsOfTableFamily(nftables.TableFamilyIPv4)
	if err != nil {
		b.Fatal(err)
	}
	return len(list)
}
