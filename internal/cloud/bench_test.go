package cloud_test

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/kemudi/kemudi/internal/cloud"
	"github.com/kemudi/kemudi/internal/cluster/clustertest"
	"github.com/kemudi/kemudi/internal/simnode"
	"github.com/kemudi/kemudi/internal/simnode/simnodetest"
)

// BenchmarkLoadBalancersAtOnce creates KEMUDI_BENCH_SERVICES (default
// 200) LoadBalancer services at once, from 16 clients, against an
// in-process API server with the local provider's pool, and reports the
// latency from each create returning to its address appearing on a
// watch (p50, p99, max) and the time from the last create to the last
// address.
func BenchmarkLoadBalancersAtOnce(b *testing.B) {
	n := 200
	if v, err := strconv.Atoi(os.Getenv("KEMUDI_BENCH_SERVICES")); err == nil && v > 0 {
		n = v
	}
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		s := clustertest.Start(b)
		simnodetest.Start(b, s.Config, simnode.Options{Count: 3})
		o := cloud.DefaultOptions()
		o.LeaderElect = false
		o.LBAddressPool = "10.99.0.0/20"
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() {
			defer close(done)
			_ = cloud.Run(ctx, s.Config, o)
		}()
		w, err := s.Client.CoreV1().Services("default").Watch(ctx, metav1.ListOptions{})
		if err != nil {
			b.Fatal(err)
		}
		var mu sync.Mutex
		created := map[string]time.Time{}
		addressed := map[string]time.Time{}
		all := make(chan struct{})
		go func() {
			for ev := range w.ResultChan() {
				svc, ok := ev.Object.(*corev1.Service)
				if !ok || ev.Type == watch.Deleted || len(svc.Status.LoadBalancer.Ingress) == 0 {
					continue
				}
				mu.Lock()
				if _, seen := addressed[svc.Name]; !seen {
					addressed[svc.Name] = time.Now()
					if len(addressed) == n {
						close(all)
					}
				}
				mu.Unlock()
			}
		}()
		b.StartTimer()
		var wg sync.WaitGroup
		names := make(chan string)
		for range 16 {
			wg.Go(func() {
				for name := range names {
					svc := lbService(name, 80)
					if _, err := s.Client.CoreV1().Services("default").Create(ctx, svc, metav1.CreateOptions{}); err != nil {
						b.Error(err)
						return
					}
					mu.Lock()
					created[name] = time.Now()
					mu.Unlock()
				}
			})
		}
		for j := range n {
			names <- fmt.Sprintf("lb-%04d", j)
		}
		close(names)
		wg.Wait()
		lastCreate := time.Now()
		select {
		case <-all:
		case <-time.After(2 * time.Minute):
			b.Fatalf("only %d of %d services got an address", len(addressed), n)
		}
		b.StopTimer()
		mu.Lock()
		var lat []time.Duration
		var last time.Time
		for name, at := range addressed {
			// The watch may see the address before the create returned.
			lat = append(lat, max(0, at.Sub(created[name])))
			if at.After(last) {
				last = at
			}
		}
		mu.Unlock()
		slices.Sort(lat)
		b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
		b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
		b.ReportMetric(float64(lat[len(lat)-1].Microseconds())/1000, "max-ms")
		b.ReportMetric(float64(max(0, last.Sub(lastCreate)).Microseconds())/1000, "last-create-to-all-ms")
		w.Stop()
		cancel()
		<-done
	}
}
