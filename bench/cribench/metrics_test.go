package cribench

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/kemudi/kemudi/bench/harness"
	"github.com/kemudi/kemudi/internal/kubelet/kubelettest"
)

// BenchmarkPodSandboxMetrics measures one scrape of kemudi runtime's
// ListPodSandboxMetrics (what the kubelet's /metrics/cadvisor asks every
// 10-15 s) with KEMUDI_BENCH_PODS pods running (default 30, one busybox
// container each), through the CRI socket: wall time and the runtime's
// CPU per scrape, and the same for ListPodSandboxStats beside it.
//
// Run as root: go test -run '^$' -bench PodSandboxMetrics -v ./bench/cribench/
func BenchmarkPodSandboxMetrics(b *testing.B) {
	o := Options{Pods: 30}
	if err := harness.EnvInts(map[string]*int{"KEMUDI_BENCH_PODS": &o.Pods}); err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	rt := kubelettest.StartKemudi(b, kemudiBinary(b))
	t := Target{
		Name: "kemudi", Endpoint: rt.Endpoint, Image: rt.Images["busybox"],
		CgroupRoot: rt.CgroupRoot, LogDir: filepath.Join(rt.Dir, "logs"),
		Processes: func() []int { return harness.ProcessesMentioning(rt.Dir) },
	}
	conn, err := grpc.NewClient(t.Endpoint, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { conn.Close() }) // after the pods' removal (cleanups run last first)
	c := &client{rs: runtimeapi.NewRuntimeServiceClient(conn), is: runtimeapi.NewImageServiceClient(conn), t: t}
	if _, err := c.rs.UpdateRuntimeConfig(ctx, &runtimeapi.UpdateRuntimeConfigRequest{
		RuntimeConfig: &runtimeapi.RuntimeConfig{NetworkConfig: &runtimeapi.NetworkConfig{PodCidr: "10.42.0.0/24"}},
	}); err != nil {
		b.Fatal(err)
	}
	if _, err := c.is.PullImage(ctx, &runtimeapi.PullImageRequest{Image: &runtimeapi.ImageSpec{Image: t.Image}}); err != nil {
		b.Fatal(err)
	}
	pods := c.startPods(ctx, b, o.Pods)

	scrape := func() (int, error) {
		resp, err := c.rs.ListPodSandboxMetrics(ctx, &runtimeapi.ListPodSandboxMetricsRequest{})
		n := 0
		for _, p := range resp.GetPodMetrics() {
			n += len(p.GetMetrics())
			for _, cm := range p.GetContainerMetrics() {
				n += len(cm.GetMetrics())
			}
		}
		return n, err
	}
	series, err := scrape()
	if err != nil {
		b.Fatal(err)
	}
	procs := t.Processes()
	cpu0 := cpuByPid(procs)
	b.ResetTimer()
	for b.Loop() {
		if _, err := scrape(); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	cpu := cpuDelta(cpu0, cpuByPid(procs)) / time.Duration(b.N)
	b.ReportMetric(float64(cpu.Microseconds())/1000, "runtime-cpu-ms/scrape")
	b.ReportMetric(float64(series), "series")

	// ListPodSandboxStats, the kubelet's other source, for comparison.
	const statsRounds = 10
	cpu0 = cpuByPid(procs)
	t0 := time.Now()
	for range statsRounds {
		if _, err := c.rs.ListPodSandboxStats(ctx, &runtimeapi.ListPodSandboxStatsRequest{}); err != nil {
			b.Fatal(err)
		}
	}
	b.Logf("%d pods, %d series a scrape; ListPodSandboxStats: %v wall, %v runtime CPU a call; load %s",
		len(pods), series, time.Since(t0)/statsRounds, cpuDelta(cpu0, cpuByPid(procs))/statsRounds, harness.LoadAvg())
}

// startPods runs n pods of one container each, a few at a time; they are
// removed when the benchmark ends.
func (c *client) startPods(ctx context.Context, b *testing.B, n int) []string {
	var (
		mu   sync.Mutex
		pods []string
		errs []error
		wg   sync.WaitGroup
	)
	b.Cleanup(func() {
		for _, p := range pods {
			if err := c.removePod(context.Background(), p); err != nil {
				b.Log(err)
			}
		}
	})
	sem := make(chan struct{}, 4)
	for i := range n {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			id, cfg, err := c.runPod(ctx, fmt.Sprintf("metrics-%d", i))
			if err == nil {
				mu.Lock()
				pods = append(pods, id)
				mu.Unlock()
				err = c.runContainer(ctx, id, cfg)
			}
			if err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(errs) > 0 {
		b.Fatalf("%d pods failed to start, first: %v", len(errs), errs[0])
	}
	return pods
}
