package proxybench

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"text/tabwriter"
	"time"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/vishvananda/netns"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/kemudi/kemudi/bench/harness"
	"github.com/kemudi/kemudi/internal/cluster/clustertest"
	"github.com/kemudi/kemudi/internal/netnsrun"
	"github.com/kemudi/kemudi/internal/proxy"
)

const endpointsPerService = 10

func BenchmarkProxy(b *testing.B) {
	if os.Geteuid() != 0 {
		b.Skip("needs root: a network namespace")
	}
	n, changes := 1000, 500
	if err := harness.EnvInts(map[string]*int{"KEMUDI_BENCH_PROXY_SERVICES": &n, "KEMUDI_BENCH_PROXY_CHANGES": &changes}); err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	s := clustertest.Start(b)
	cfg := rest.CopyConfig(s.Config)
	cfg.QPS, cfg.Burst = 5000, 5000
	client := kubernetes.NewForConfigOrDie(cfg)

	ns := newNetns(b)
	start := time.Now()
	writeServices(b, client, n)
	b.Logf("wrote %d services and %d endpoint slices in %v", n, n, time.Since(start).Round(time.Millisecond))

	// The proxy, alone in its process.
	cmd := exec.Command(clustertest.Binary(b), "proxy", "--kubeconfig", filepath.Join(s.DataDir, "admin.kubeconfig"),
		"--node-name", "bench", "--netns", "/var/run/netns/"+ns, "--healthz-bind-address", metricsAddr, "--cluster-cidr", "10.42.0.0/16")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		b.Fatal(err)
	}
	launched := time.Now()
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	fullSync := make(chan fullSyncLog, 1)
	exited := make(chan string, 1)
	go watchLog(stderr, fullSync, exited)
	var full fullSyncLog
	select {
	case full = <-fullSync:
	case last := <-exited:
		b.Fatalf("the proxy exited: %s", last)
	case <-time.After(10 * time.Minute):
		b.Fatal("no full sync within 10 minutes")
	}
	firstRules := time.Since(launched)
	cpuSync := cpuTime(b, cmd.Process.Pid)

	conn := nftConn(b, ns)
	table := &nftables.Table{Name: proxy.TableName, Family: nftables.TableFamilyIPv4}
	before := proxyMetrics(b, "/var/run/netns/"+ns)
	// lat is API write → kernel; acked is the API's answer → kernel,
	// without the write itself (the API server and etcd commit it).
	var lat, acked []time.Duration
	for i := range changes {
		svc := fmt.Sprintf("svc-%d", (i*7919)%n)
		addr := netip.AddrFrom4([4]byte{10, 44, byte(i >> 8), byte(i)})
		chain := &nftables.Chain{Name: proxy.ClusterChain("default", svc, "tcp", "http"), Table: table}
		set := endpointMap(b, conn, table, chain)
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
		for {
			// The new endpoint has its range in the service's map: the
			// ranges are redrawn in the transaction that adds it.
			if holds(conn, set, addr) {
				break
			}
			if time.Since(wrote) > 30*time.Second {
				b.Fatalf("endpoint %s of %s not in the kernel after 30s", addr, svc)
			}
			// Each look dumps the map's 1,280 elements: looking every
			// 200 µs took much of a core from the proxy and the API
			// server.
			time.Sleep(time.Millisecond)
		}
		lat, acked = append(lat, time.Since(wrote)), append(acked, time.Since(ack))
		if d := lat[len(lat)-1]; d > 50*time.Millisecond {
			fmt.Fprintf(os.Stderr, "%s change %d (%s) took %v, %v of it after the API's answer\n", wrote.Format("15:04:05.000"),
				i, svc, d.Round(time.Millisecond), acked[len(acked)-1].Round(time.Millisecond))
		}
	}
	cpuAll := cpuTime(b, cmd.Process.Pid)
	rss, hwm := memory(b, cmd.Process.Pid)
	chains := countChains(b, conn)
	// The proxy's own view of the changes: from the event it was handed
	// (the bench's slices carry no trigger time) to the kernel.
	after := proxyMetrics(b, "/var/run/netns/"+ns)
	programmed := histogramSince(before, after, "kubeproxy_network_programming_duration_seconds")
	syncs := histogramSince(before, after, "kubeproxy_sync_proxy_rules_duration_seconds")

	slices.Sort(lat)
	slices.Sort(acked)
	pctOf := func(l []time.Duration, p float64) time.Duration { return l[min(len(l)-1, int(float64(len(l))*p))] }
	pct := func(p float64) time.Duration { return pctOf(lat, p) }
	var out strings.Builder
	w := tabwriter.NewWriter(&out, 0, 0, 2, ' ', 0)
	fmt.Fprintf(w, "services\t%d × %d endpoints (%d chains in the table)\n", n, endpointsPerService, chains)
	fmt.Fprintf(w, "full sync (compute + one transaction)\t%v, CPU %v\ttarget ≤ 2s at 10,000\n", full.took.Round(time.Millisecond), full.cpu)
	fmt.Fprintf(w, "proxy start to rules in the kernel\t%v\t(includes listing the API)\n", firstRules.Round(time.Millisecond))
	fmt.Fprintf(w, "endpoint change, API write → kernel\tp50 %v  p99 %v  max %v (%d changes)\ttarget p99 ≤ 50ms at 10,000\n",
		pct(0.5).Round(10*time.Microsecond), pct(0.99).Round(10*time.Microsecond), lat[len(lat)-1].Round(10*time.Microsecond), len(lat))
	fmt.Fprintf(w, "  of it after the API's answer (watch, proxy, kernel)\tp50 %v  p99 %v\n",
		pctOf(acked, 0.5).Round(10*time.Microsecond), pctOf(acked, 0.99).Round(10*time.Microsecond))
	fmt.Fprintf(w, "  of it in the proxy, event → kernel (its metric)\tp50 ≤ %v  p99 ≤ %v\n",
		bucketQuantile(programmed, 0.5), bucketQuantile(programmed, 0.99))
	fmt.Fprintf(w, "  its syncs\t%d for %d changes, p50 ≤ %v  p99 ≤ %v\n", syncs.GetSampleCount(), changes,
		bucketQuantile(syncs, 0.5), bucketQuantile(syncs, 0.99))
	fmt.Fprintf(w, "proxy CPU\t%v to the first full sync, %v in all\n", cpuSync.Round(time.Millisecond), cpuAll.Round(time.Millisecond))
	fmt.Fprintf(w, "proxy RSS\t%d MiB now, %d MiB peak\n", rss>>20, hwm>>20)
	w.Flush()
	b.Log("\n" + out.String())
	b.ReportMetric(0, "ns/op")
	b.ReportMetric(full.took.Seconds(), "fullsync-s")
	b.ReportMetric(full.cpu.Seconds(), "fullsync-cpu-s")
	b.ReportMetric(float64(pct(0.99).Microseconds())/1000, "change-p99-ms")
	b.ReportMetric(float64(hwm>>20), "peak-rss-MiB")
}

// endpointMap is the map the chain's DNAT rule picks endpoints from.
func endpointMap(b *testing.B, conn *nftables.Conn, table *nftables.Table, chain *nftables.Chain) *nftables.Set {
	rules, err := conn.GetRules(table, chain)
	if err != nil {
		b.Fatalf("rules of %s: %v", chain.Name, err)
	}
	for _, r := range rules {
		for _, e := range r.Exprs {
			if l, ok := e.(*expr.Lookup); ok && l.IsDestRegSet {
				set, err := conn.GetSetByName(table, l.SetName)
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

// holds reports whether one of set's elements DNATs to addr.
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

func newNetns(b *testing.B) string {
	buf := make([]byte, 3)
	_, _ = rand.Read(buf)
	name := "kpbench" + hex.EncodeToString(buf)
	if out, err := exec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil {
		b.Fatalf("ip netns add: %v %s", err, out)
	}
	b.Cleanup(func() { _ = exec.Command("ip", "netns", "del", name).Run() })
	// Loopback for the proxy's metrics.
	if out, err := exec.Command("ip", "-n", name, "link", "set", "lo", "up").CombinedOutput(); err != nil {
		b.Fatalf("ip link set lo up: %v %s", err, out)
	}
	return name
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

// writeServices creates n selector-less services and a slice of
// endpointsPerService endpoints for each, from 16 writers.
func writeServices(b *testing.B, client kubernetes.Interface, n int) {
	ctx := context.Background()
	work := make(chan int)
	errs := make(chan error, 16)
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			for i := range work {
				if err := writeService(ctx, client, i); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	for i := range n {
		select {
		case work <- i:
		case err := <-errs:
			close(work)
			b.Fatal(err)
		}
	}
	close(work)
	wg.Wait()
	select {
	case err := <-errs:
		b.Fatal(err)
	default:
	}
}

func writeService(ctx context.Context, client kubernetes.Interface, i int) error {
	name := fmt.Sprintf("svc-%d", i)
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"},
		Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "http", Protocol: corev1.ProtocolTCP, Port: 80, TargetPort: intstr.FromInt32(8080)}}}}
	if _, err := client.CoreV1().Services("default").Create(ctx, svc, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("create service %s: %w", name, err)
	}
	port, proto, portName := int32(8080), corev1.ProtocolTCP, "http"
	sl := &discoveryv1.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", Labels: map[string]string{
			discoveryv1.LabelServiceName: name, discoveryv1.LabelManagedBy: "proxybench"}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Ports:       []discoveryv1.EndpointPort{{Name: &portName, Protocol: &proto, Port: &port}},
	}
	for e := range endpointsPerService {
		k := i*endpointsPerService + e
		sl.Endpoints = append(sl.Endpoints, discoveryv1.Endpoint{Addresses: []string{fmt.Sprintf("10.%d.%d.%d", 42+k>>16, k>>8&0xff, k&0xff)}})
	}
	if _, err := client.DiscoveryV1().EndpointSlices("default").Create(ctx, sl, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("create slice %s: %w", name, err)
	}
	return nil
}

// fullSyncLog is what the proxy logs of a full sync: its wall time and
// the process's CPU time in it.
type fullSyncLog struct{ took, cpu time.Duration }

// watchLog passes on the first full sync's figures from the proxy's log.
func watchLog(r io.Reader, full chan<- fullSyncLog, exited chan<- string) {
	var last string
	defer func() { exited <- last }()
	re := regexp.MustCompile(`msg="full sync" .*took=(\S+) cpu=(\S+)`)
	sent := false
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		last = sc.Text()
		if m := re.FindStringSubmatch(sc.Text()); m != nil && !sent {
			took, err1 := time.ParseDuration(m[1])
			cpu, err2 := time.ParseDuration(m[2])
			if err1 == nil && err2 == nil {
				full <- fullSyncLog{took, cpu}
				sent = true
			}
		} else if strings.Contains(sc.Text(), "level=ERROR") || strings.Contains(sc.Text(), "level=WARN") || strings.Contains(sc.Text(), `msg="full sync"`) ||
			strings.Contains(sc.Text(), "slow to program") {
			fmt.Fprintln(os.Stderr, sc.Text())
		}
	}
}

// cpuTime is the process's user + system time (clock ticks of 10 ms).
func cpuTime(b *testing.B, pid int) time.Duration {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		b.Fatal(err)
	}
	f := strings.Fields(string(data[strings.LastIndexByte(string(data), ')')+2:]))
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * 10 * time.Millisecond
}

// memory is the process's resident and peak resident bytes.
func memory(b *testing.B, pid int) (rss, hwm int64) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		b.Fatal(err)
	}
	for _, l := range strings.Split(string(data), "\n") {
		f := strings.Fields(l)
		if len(f) < 2 {
			continue
		}
		v, _ := strconv.ParseInt(f[1], 10, 64)
		switch f[0] {
		case "VmRSS:":
			rss = v << 10
		case "VmHWM:":
			hwm = v << 10
		}
	}
	return rss, hwm
}

// metricsAddr is where the proxy serves /metrics, inside its namespace.
const metricsAddr = "127.0.0.1:10256"

// proxyMetrics reads the proxy's metrics from inside the namespace at
// nsPath.
func proxyMetrics(b *testing.B, nsPath string) map[string]*dto.MetricFamily {
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			var c net.Conn
			err := netnsrun.Run(nsPath, func() error {
				var err error
				c, err = (&net.Dialer{}).DialContext(ctx, network, addr)
				return err
			})
			return c, err
		}}}
	resp, err := client.Get("http://" + metricsAddr + "/metrics")
	if err != nil {
		b.Fatalf("proxy metrics: %v", err)
	}
	defer resp.Body.Close()
	p := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		b.Fatalf("proxy metrics: %v", err)
	}
	return mfs
}

// histogramSince is histogram name's observations between two scrapes:
// the changes', without the first full sync's.
func histogramSince(before, after map[string]*dto.MetricFamily, name string) *dto.Histogram {
	get := func(mfs map[string]*dto.MetricFamily) *dto.Histogram {
		if mf := mfs[name]; mf != nil && len(mf.GetMetric()) > 0 {
			return mf.GetMetric()[0].GetHistogram()
		}
		return &dto.Histogram{}
	}
	b, a := get(before), get(after)
	count := a.GetSampleCount() - b.GetSampleCount()
	h := &dto.Histogram{SampleCount: &count}
	for i, bk := range a.GetBucket() {
		n := bk.GetCumulativeCount()
		if i < len(b.GetBucket()) {
			n -= b.GetBucket()[i].GetCumulativeCount()
		}
		h.Bucket = append(h.Bucket, &dto.Bucket{UpperBound: bk.UpperBound, CumulativeCount: &n})
	}
	return h
}

// bucketQuantile is the upper bound of the histogram's bucket holding
// quantile q (the histogram's resolution).
func bucketQuantile(h *dto.Histogram, q float64) time.Duration {
	if h == nil || h.GetSampleCount() == 0 {
		return 0
	}
	want := uint64(q * float64(h.GetSampleCount()))
	for _, bk := range h.GetBucket() {
		if bk.GetCumulativeCount() >= want {
			return time.Duration(bk.GetUpperBound() * float64(time.Second))
		}
	}
	return time.Duration(math.MaxInt64)
}
