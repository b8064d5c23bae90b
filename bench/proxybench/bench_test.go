package proxybench

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/kemudi/kemudi/bench/harness"
	"github.com/kemudi/kemudi/internal/cluster/clustertest"
)

const endpointsPerService = 10

// BenchmarkProxy measures kemudi's proxy and upstream's kube-proxy in
// nftables mode, one after the other on the same API server and services,
// each in a network namespace of its own, and prints them side by side.
func BenchmarkProxy(b *testing.B) {
	if os.Geteuid() != 0 {
		b.Skip("needs root: a network namespace")
	}
	n, changes, peerWait := 1000, 500, 600
	if err := harness.EnvInts(map[string]*int{"KEMUDI_BENCH_PROXY_SERVICES": &n, "KEMUDI_BENCH_PROXY_CHANGES": &changes,
		"KEMUDI_BENCH_PROXY_PEER_WAIT": &peerWait}); err != nil {
		b.Fatal(err)
	}
	only := os.Getenv("KEMUDI_BENCH_ONLY") // kemudi or kube-proxy: one column
	// kube-proxy is found (or built: minutes, cold) before anything is
	// measured, so that the build runs beside no measurement.
	var peer kubeProxy
	if only != "kemudi" {
		peer = findKubeProxy()
	}
	s := clustertest.Start(b)
	cfg := rest.CopyConfig(s.Config)
	cfg.QPS, cfg.Burst = 5000, 5000
	client := kubernetes.NewForConfigOrDie(cfg)
	start := time.Now()
	writeServices(b, client, n)
	b.Logf("wrote %d services and %d endpoint slices in %v", n, n, time.Since(start).Round(time.Millisecond))

	loadBefore := harness.LoadAvg()
	var results []*result
	if only == "" || only == "kemudi" {
		results = append(results, runKemudi(b, s, client, n, changes))
	}
	var host hostCheck
	if only == "" || only == "kube-proxy" {
		r := &result{name: "kube-proxy " + peer.version}
		if peer.skip != "" {
			r.skipped = peer.skip
		} else {
			before := readHost(b)
			runKubeProxy(b, s, client, peer.bin, n, changes, time.Duration(peerWait)*time.Second, r)
			host = before.compare(readHost(b))
		}
		results = append(results, r)
	}
	printResults(os.Stdout, n, loadBefore, harness.LoadAvg(), results)
	if host.ran {
		fmt.Println(host.String())
		if !host.same() {
			b.Error("kube-proxy changed the host's network settings (see above)")
		}
	}
	b.ReportMetric(0, "ns/op")
	for _, r := range results {
		r.reportMetrics(b)
	}
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
	ip(b, "-n", name, "link", "set", "lo", "up")
	return name
}

func ip(b *testing.B, args ...string) {
	if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
		b.Fatalf("ip %v: %v %s", args, err, out)
	}
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
