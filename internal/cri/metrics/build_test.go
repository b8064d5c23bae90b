package metrics

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/kemudi/kemudi/internal/cri/network"
)

// line renders a metric as name{label values} value.
func line(m *runtimeapi.Metric) string {
	return fmt.Sprintf("%s{%s} %d", m.Name, strings.Join(m.LabelValues, ","), m.Value.GetValue())
}

// checkDescribed fails for a metric no descriptor names, or whose label
// values or kind differ from its descriptor's.
func checkDescribed(t *testing.T, ms []*runtimeapi.Metric) {
	t.Helper()
	byName := map[string]descriptor{}
	for _, d := range descriptors() {
		byName[d.name] = d
	}
	for _, m := range ms {
		d, ok := byName[m.Name]
		if !ok {
			t.Errorf("%s: not described", m.Name)
			continue
		}
		if len(m.LabelValues) != len(baseKeys)+len(d.extra) || m.MetricType != d.kind {
			t.Errorf("%s: %d label values, %s; descriptor has %d keys, %s", line(m), len(m.LabelValues), m.MetricType, len(baseKeys)+len(d.extra), d.kind)
		}
	}
}

func TestContainerMetrics(t *testing.T) {
	var f figures
	var err error
	d := testdataDirs(t, "hybrid")
	if f.cpu, err = readCPU(d); err != nil {
		t.Fatal(err)
	}
	if f.memory, err = readMemory(d); err != nil {
		t.Fatal(err)
	}
	f.procs = processFigures{Processes: 2, Threads: 3, ThreadsMax: 100, FDs: 9, Sockets: 1, OpenFilesSoft: 1024, openFilesSoftOK: true}
	f.pressure = readPressure(d)
	f.blkio = readBlkio(d)
	now := time.Unix(1_800_000_100, 0)
	in := Container{
		Pod: Pod{ID: "sb1", Name: "web", Namespace: "shop"}, Name: "app", ID: "c1", Image: "registry.local/app:1",
		StartedAt: time.Unix(1_800_000_000, 5),
		Layer:     &Layer{Bytes: 4096, Inodes: 12, FS: Filesystem{Device: "/dev/vda", Capacity: 1 << 40, InodesTotal: 1000, InodesFree: 600}},
	}
	names := func(major, minor uint64) string { return fmt.Sprintf("/dev/blk%d_%d", major, minor) }
	cm := buildContainer(in, f, now, names)
	if cm.ContainerId != "c1" {
		t.Errorf("container id %q", cm.ContainerId)
	}
	checkDescribed(t, cm.Metrics)

	// With every figure read, every series but the pod-level network ones
	// is there.
	seen := map[string]bool{}
	var lines []string
	for _, m := range cm.Metrics {
		seen[m.Name] = true
		lines = append(lines, line(m))
		if m.Timestamp != now.UnixNano() {
			t.Errorf("%s: timestamp %d", m.Name, m.Timestamp)
		}
	}
	for _, d := range descriptors() {
		if !seen[d.name] && !strings.HasPrefix(d.name, "container_network_") {
			t.Errorf("%s: no series", d.name)
		}
	}
	base := "web,shop,app,c1,registry.local/app:1"
	for _, want := range []string{
		"container_last_seen{" + base + "} 1800000100",
		"container_start_time_seconds{" + base + "} 1800000000",
		"container_cpu_usage_seconds_total{" + base + ",total} 1",
		"container_cpu_cfs_throttled_periods_total{" + base + "} 26",
		"container_spec_cpu_quota{" + base + "} 20000",
		"container_spec_cpu_shares{" + base + "} 512",
		"container_memory_working_set_bytes{" + base + "} 413696",
		"container_memory_failures_total{" + base + ",pgfault,hierarchy} 1195",
		"container_spec_memory_swap_limit_bytes{" + base + "} 67108864",
		"container_pressure_cpu_waiting_seconds_total{" + base + "} 5",
		"container_threads_max{" + base + "} 100",
		"container_ulimits_soft{" + base + ",max_open_files} 1024",
		"container_fs_usage_bytes{" + base + ",/dev/vda} 4096",
		"container_fs_inodes_free{" + base + ",/dev/vda} 600",
		"container_fs_reads_bytes_total{" + base + ",/dev/blk254_0} 4198400",
		"container_fs_writes_total{" + base + ",/dev/blk254_0} 8",
		"container_blkio_device_usage_total{" + base + ",/dev/blk254_0,254,0,Write} 4194304",
	} {
		if !slices.Contains(lines, want) {
			t.Errorf("no %s in\n%s", want, strings.Join(lines, "\n"))
		}
	}

	// What cAdvisor leaves out: the quota and throttling when no quota is
	// set, pressure without a v2 tree, fs series of an unknown layer, an
	// unlimited ulimit, block IO no rule counted.
	f.cpu.Quota = unlimited
	f.pressure = pressureFigures{}
	f.procs.openFilesSoftOK = false
	f.blkio = blkioFigures{}
	in.Layer = nil
	cm = buildContainer(in, f, now, names)
	checkDescribed(t, cm.Metrics)
	for _, m := range cm.Metrics {
		if strings.Contains(m.Name, "cfs") || strings.Contains(m.Name, "quota") || strings.Contains(m.Name, "pressure") ||
			strings.HasPrefix(m.Name, "container_fs_") || strings.HasPrefix(m.Name, "container_blkio") || m.Name == "container_ulimits_soft" {
			t.Errorf("%s reported without its figure", line(m))
		}
	}
}

func TestPodNetwork(t *testing.T) {
	ifs := []network.InterfaceStats{
		{Name: "lo", RxBytes: 99},
		{Name: "eth0", RxBytes: 100, RxPackets: 2, RxErrors: 1, RxDropped: 3, TxBytes: 200, TxPackets: 4, TxDropped: 5},
	}
	ms := PodNetwork(Pod{ID: "sb1", Name: "web", Namespace: "shop"}, ifs, time.Unix(1_800_000_000, 0))
	checkDescribed(t, ms)
	var lines []string
	for _, m := range ms {
		lines = append(lines, line(m))
	}
	want := []string{
		"container_network_receive_bytes_total{web,shop,,sb1,,eth0} 100",
		"container_network_receive_packets_total{web,shop,,sb1,,eth0} 2",
		"container_network_receive_packets_dropped_total{web,shop,,sb1,,eth0} 3",
		"container_network_receive_errors_total{web,shop,,sb1,,eth0} 1",
		"container_network_transmit_bytes_total{web,shop,,sb1,,eth0} 200",
		"container_network_transmit_packets_total{web,shop,,sb1,,eth0} 4",
		"container_network_transmit_packets_dropped_total{web,shop,,sb1,,eth0} 5",
		"container_network_transmit_errors_total{web,shop,,sb1,,eth0} 0",
	}
	if !slices.Equal(lines, want) {
		t.Errorf("pod network:\n%s\nwant\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}
}

func TestDescriptors(t *testing.T) {
	seen := map[string]bool{}
	for _, d := range Descriptors() {
		if d.Help == "" || len(d.LabelKeys) < len(baseKeys) || seen[d.Name] {
			t.Errorf("descriptor %+v: needs help, the base keys, a unique name", d)
		}
		seen[d.Name] = true
	}
}

// TestPrometheusGathers: a pod's series, turned into Prometheus samples as
// the kubelet's /metrics/cadvisor does, gather without error (no
// duplicate series, label values matching their descriptors).
func TestPrometheusGathers(t *testing.T) {
	d := testdataDirs(t, "hybrid")
	var f figures
	f.cpu, _ = readCPU(d)
	f.memory, _ = readMemory(d)
	f.pressure, f.blkio = readPressure(d), readBlkio(d)
	f.procs = processFigures{Processes: 1, Threads: 1, OpenFilesSoft: 1024, openFilesSoftOK: true}
	pod := Pod{ID: "sb1", Name: "web", Namespace: "shop"}
	in := Container{Pod: pod, Name: "app", ID: "c1", Image: "app:1", StartedAt: time.Unix(1, 0), Layer: &Layer{FS: Filesystem{Device: "/dev/vda"}}}
	now := time.Unix(1_800_000_000, 0)
	ms := PodNetwork(pod, []network.InterfaceStats{{Name: "eth0"}, {Name: "net1"}}, now)
	ms = append(ms, buildContainer(in, f, now, func(major, minor uint64) string { return "/dev/vda" }).Metrics...)
	in.Name, in.ID = "side", "c2"
	ms = append(ms, buildContainer(in, f, now, func(major, minor uint64) string { return "/dev/vda" }).Metrics...)

	descs := map[string]*prometheus.Desc{}
	for _, d := range Descriptors() {
		descs[d.Name] = prometheus.NewDesc(d.Name, d.Help, d.LabelKeys, nil)
	}
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(constCollector(func(ch chan<- prometheus.Metric) {
		for _, m := range ms {
			kind := prometheus.GaugeValue
			if m.MetricType == runtimeapi.MetricType_COUNTER {
				kind = prometheus.CounterValue
			}
			ch <- prometheus.MustNewConstMetric(descs[m.Name], kind, float64(m.Value.GetValue()), m.LabelValues...)
		}
	}))
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	if len(families) != len(descs) {
		t.Errorf("%d metric families, want every described one (%d)", len(families), len(descs))
	}
}

type constCollector func(chan<- prometheus.Metric)

func (constCollector) Describe(chan<- *prometheus.Desc)      {}
func (c constCollector) Collect(ch chan<- prometheus.Metric) { c(ch) }
