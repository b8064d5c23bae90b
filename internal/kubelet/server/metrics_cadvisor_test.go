package server

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

type fixedCollector []prometheus.Metric

func (fixedCollector) Describe(chan<- *prometheus.Desc) {}
func (f fixedCollector) Collect(ch chan<- prometheus.Metric) {
	for _, m := range f {
		ch <- m
	}
}

// exposition renders metrics as /metrics/cadvisor writes them.
func exposition(t *testing.T, ms []prometheus.Metric) string {
	t.Helper()
	reg := prometheus.NewRegistry()
	reg.MustRegister(fixedCollector(ms))
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	enc := expfmt.NewEncoder(&b, expfmt.NewFormat(expfmt.TypeTextPlain))
	for _, f := range families {
		if err := enc.Encode(f); err != nil {
			t.Fatal(err)
		}
	}
	return b.String()
}

// TestCadvisorMetricsFromStats: a runtime without CRI metrics still
// gives cAdvisor's per-container series, made from its stats.
func TestCadvisorMetricsFromStats(t *testing.T) {
	ts := time.Unix(1_700_000_000, 0).UnixNano()
	u := func(v uint64) *runtimeapi.UInt64Value { return &runtimeapi.UInt64Value{Value: v} }
	stats := []*runtimeapi.PodSandboxStats{{
		Attributes: &runtimeapi.PodSandboxAttributes{Id: "sb1", Metadata: &runtimeapi.PodSandboxMetadata{Name: "web", Namespace: "default"}},
		Linux: &runtimeapi.LinuxPodSandboxStats{
			Network: &runtimeapi.NetworkUsage{Timestamp: ts, Interfaces: []*runtimeapi.NetworkInterfaceUsage{{Name: "eth0", RxBytes: u(100), TxBytes: u(200), RxErrors: u(0), TxErrors: u(1)}}},
			Containers: []*runtimeapi.ContainerStats{{
				Attributes: &runtimeapi.ContainerAttributes{Id: "c1", Metadata: &runtimeapi.ContainerMetadata{Name: "app"}},
				Cpu:        &runtimeapi.CpuUsage{Timestamp: ts, UsageCoreNanoSeconds: u(3_500_000_000)},
				Memory:     &runtimeapi.MemoryUsage{Timestamp: ts, WorkingSetBytes: u(4096), UsageBytes: u(8192)},
			}},
		},
	}}
	text := exposition(t, promMetrics(statsMetricDescriptors, metricsFromStats(stats)))
	for _, want := range []string{
		"# TYPE container_cpu_usage_seconds_total counter\n",
		`container_cpu_usage_seconds_total{container="app",id="c1",image="",namespace="default",pod="web"} 3 1700000000000` + "\n",
		"# TYPE container_memory_working_set_bytes gauge\n",
		`container_memory_working_set_bytes{container="app",id="c1",image="",namespace="default",pod="web"} 4096 1700000000000` + "\n",
		`container_memory_usage_bytes{container="app",id="c1",image="",namespace="default",pod="web"} 8192 1700000000000` + "\n",
		`container_network_transmit_errors_total{container="",id="sb1",image="",interface="eth0",namespace="default",pod="web"} 1 1700000000000` + "\n",
		`container_network_receive_bytes_total{container="",id="sb1",image="",interface="eth0",namespace="default",pod="web"} 100 1700000000000` + "\n",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("missing %q in\n%s", want, text)
		}
	}
	// No RSS was reported, so there is no series for it.
	if strings.Contains(text, "container_memory_rss{") {
		t.Errorf("a series for a figure the runtime did not give:\n%s", text)
	}
}

// TestCadvisorMetricsSkipsBadSeries: a metric the runtime did not
// describe, or with the wrong number of label values, is left out and
// the rest is served.
func TestCadvisorMetricsSkipsBadSeries(t *testing.T) {
	descs := []*runtimeapi.MetricDescriptor{{Name: "container_processes", Help: "Processes.", LabelKeys: []string{"pod", "container"}}}
	pods := []*runtimeapi.PodSandboxMetrics{{
		PodSandboxId: "sb1",
		Metrics:      []*runtimeapi.Metric{{Name: "undescribed_total", MetricType: runtimeapi.MetricType_COUNTER, LabelValues: []string{"x"}, Value: &runtimeapi.UInt64Value{Value: 1}}},
		ContainerMetrics: []*runtimeapi.ContainerMetrics{{ContainerId: "c1", Metrics: []*runtimeapi.Metric{
			{Name: "container_processes", MetricType: runtimeapi.MetricType_GAUGE, LabelValues: []string{"web"}, Value: &runtimeapi.UInt64Value{Value: 9}},
			{Name: "container_processes", MetricType: runtimeapi.MetricType_GAUGE, LabelValues: []string{"web", "app"}, Value: &runtimeapi.UInt64Value{Value: 2}},
			{Name: "container_processes", MetricType: runtimeapi.MetricType_GAUGE, LabelValues: []string{"web", "side"}},
		}}},
	}}
	text := exposition(t, promMetrics(descs, pods))
	want := "# HELP container_processes Processes.\n# TYPE container_processes gauge\ncontainer_processes{container=\"app\",pod=\"web\"} 2\n"
	if text != want {
		t.Errorf("got\n%s\nwant\n%s", text, want)
	}
}
