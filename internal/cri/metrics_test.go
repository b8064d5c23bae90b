package cri

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/kemudi/kemudi/internal/cri/network"
	"github.com/kemudi/kemudi/internal/cri/supervisor"
)

func TestSandboxMetrics(t *testing.T) {
	now := time.Unix(1_700_000_100, 0)
	stats := &supervisor.Stats{Timestamp: now, CPUUsageNanos: 2_700_000_000, MemoryUsage: 9000, MemoryWorkingSet: 7000, MemoryRSS: 5000, MemoryLimit: 1 << 26, Pids: 3}
	sample := sandboxSample{
		id: "sb1", pod: "web-1", namespace: "shop",
		interfaces: []network.InterfaceStats{{Name: "lo", RxBytes: 99}, {Name: "eth0", RxBytes: 100, RxPackets: 2, RxErrors: 1, TxBytes: 200, TxPackets: 4, TxErrors: 0}},
		containers: []containerSample{
			{id: "c1", name: "app", image: "registry.local/app:1", startedAt: time.Unix(1_700_000_000, 5).UnixNano(), stats: stats, fs: &fsSample{device: "/var/lib/kemudi", bytes: 4096, inodes: 12}},
			{id: "c2", name: "side", image: "busybox"},
		},
	}
	got := sandboxMetrics(sample, now)
	if got.PodSandboxId != "sb1" {
		t.Errorf("sandbox id %q", got.PodSandboxId)
	}
	lines := func(ms []*runtimeapi.Metric) []string {
		var out []string
		for _, m := range ms {
			out = append(out, fmt.Sprintf("%s{%s} %d %s", m.Name, strings.Join(m.LabelValues, ","), m.Value.GetValue(), m.MetricType))
		}
		return out
	}
	wantPod := []string{
		"container_network_receive_bytes_total{web-1,shop,,sb1,,eth0} 100 COUNTER",
		"container_network_receive_packets_total{web-1,shop,,sb1,,eth0} 2 COUNTER",
		"container_network_receive_errors_total{web-1,shop,,sb1,,eth0} 1 COUNTER",
		"container_network_transmit_bytes_total{web-1,shop,,sb1,,eth0} 200 COUNTER",
		"container_network_transmit_packets_total{web-1,shop,,sb1,,eth0} 4 COUNTER",
		"container_network_transmit_errors_total{web-1,shop,,sb1,,eth0} 0 COUNTER",
	}
	if l := lines(got.Metrics); !slices.Equal(l, wantPod) {
		t.Errorf("pod metrics:\n%s\nwant\n%s", strings.Join(l, "\n"), strings.Join(wantPod, "\n"))
	}
	if len(got.ContainerMetrics) != 2 {
		t.Fatalf("%d containers' metrics, want 2", len(got.ContainerMetrics))
	}
	app := "web-1,shop,app,c1,registry.local/app:1"
	wantApp := []string{
		"container_last_seen{" + app + "} 1700000100 GAUGE",
		"container_start_time_seconds{" + app + "} 1700000000 GAUGE",
		"container_cpu_usage_seconds_total{" + app + "} 2 COUNTER",
		"container_memory_usage_bytes{" + app + "} 9000 GAUGE",
		"container_memory_working_set_bytes{" + app + "} 7000 GAUGE",
		"container_memory_rss{" + app + "} 5000 GAUGE",
		"container_spec_memory_limit_bytes{" + app + "} 67108864 GAUGE",
		"container_processes{" + app + "} 3 GAUGE",
		"container_fs_usage_bytes{" + app + ",/var/lib/kemudi} 4096 GAUGE",
		"container_fs_inodes_total{" + app + ",/var/lib/kemudi} 12 GAUGE",
	}
	if l := lines(got.ContainerMetrics[0].Metrics); !slices.Equal(l, wantApp) {
		t.Errorf("container metrics:\n%s\nwant\n%s", strings.Join(l, "\n"), strings.Join(wantApp, "\n"))
	}
	// A container whose figures could not be read is still seen.
	if l := lines(got.ContainerMetrics[1].Metrics); !slices.Equal(l, []string{"container_last_seen{web-1,shop,side,c2,busybox} 1700000100 GAUGE"}) {
		t.Errorf("container without stats: %v", l)
	}

	// Every metric is described, with as many label keys as it has values.
	described := map[string]int{}
	for _, d := range metricDescriptors {
		described[d.Name] = len(d.LabelKeys)
	}
	all := slices.Clone(got.Metrics)
	for _, c := range got.ContainerMetrics {
		all = append(all, c.Metrics...)
	}
	for _, m := range all {
		if n, ok := described[m.Name]; !ok || n != len(m.LabelValues) {
			t.Errorf("%s: %d label values, descriptor has %d (described %v)", m.Name, len(m.LabelValues), n, ok)
		}
	}
}
