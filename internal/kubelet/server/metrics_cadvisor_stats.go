package server

import (
	"time"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// Label keys of the series made from CRI stats: cAdvisor's, as a runtime
// with CRI metrics names them.
var (
	statsLabels          = []string{"pod", "namespace", "container", "id", "image"}
	statsInterfaceLabels = append(append([]string(nil), statsLabels...), "interface")
)

// statsMetricDescriptors describe what metricsFromStats reports: the part
// of cAdvisor's series that CRI stats carry.
var statsMetricDescriptors = []*runtimeapi.MetricDescriptor{
	{Name: "container_cpu_usage_seconds_total", Help: "Cumulative CPU time consumed in seconds.", LabelKeys: statsLabels},
	{Name: "container_memory_usage_bytes", Help: "Current memory usage in bytes, including all memory regardless of when it was accessed.", LabelKeys: statsLabels},
	{Name: "container_memory_working_set_bytes", Help: "Current working set in bytes: memory usage less inactive file cache.", LabelKeys: statsLabels},
	{Name: "container_memory_rss", Help: "Size of RSS in bytes: anonymous memory and swap cache.", LabelKeys: statsLabels},
	{Name: "container_network_receive_bytes_total", Help: "Cumulative count of bytes received.", LabelKeys: statsInterfaceLabels},
	{Name: "container_network_receive_errors_total", Help: "Cumulative count of errors encountered while receiving.", LabelKeys: statsInterfaceLabels},
	{Name: "container_network_transmit_bytes_total", Help: "Cumulative count of bytes transmitted.", LabelKeys: statsInterfaceLabels},
	{Name: "container_network_transmit_errors_total", Help: "Cumulative count of errors encountered while transmitting.", LabelKeys: statsInterfaceLabels},
}

// metricsFromStats turns CRI pod stats into the metrics a runtime with
// ListPodSandboxMetrics would report: network counters per pod, CPU and
// memory per container (CPU in whole seconds, as the CRI's metrics carry
// it).
func metricsFromStats(stats []*runtimeapi.PodSandboxStats) []*runtimeapi.PodSandboxMetrics {
	var out []*runtimeapi.PodSandboxMetrics
	for _, ps := range stats {
		attrs := ps.GetAttributes()
		pod, ns := attrs.GetMetadata().GetName(), attrs.GetMetadata().GetNamespace()
		pm := &runtimeapi.PodSandboxMetrics{PodSandboxId: attrs.GetId()}
		linux := ps.GetLinux()
		if net := linux.GetNetwork(); net != nil {
			for _, i := range net.GetInterfaces() {
				labels := []string{pod, ns, "", attrs.GetId(), "", i.GetName()}
				for _, m := range []struct {
					name string
					v    *runtimeapi.UInt64Value
				}{
					{"container_network_receive_bytes_total", i.GetRxBytes()},
					{"container_network_receive_errors_total", i.GetRxErrors()},
					{"container_network_transmit_bytes_total", i.GetTxBytes()},
					{"container_network_transmit_errors_total", i.GetTxErrors()},
				} {
					if m.v != nil {
						pm.Metrics = append(pm.Metrics, criMetric(m.name, runtimeapi.MetricType_COUNTER, net.GetTimestamp(), labels, m.v.GetValue()))
					}
				}
			}
		}
		for _, cs := range linux.GetContainers() {
			ca := cs.GetAttributes()
			labels := []string{pod, ns, ca.GetMetadata().GetName(), ca.GetId(), ""}
			cm := &runtimeapi.ContainerMetrics{ContainerId: ca.GetId()}
			if cpu := cs.GetCpu(); cpu.GetUsageCoreNanoSeconds() != nil {
				cm.Metrics = append(cm.Metrics, criMetric("container_cpu_usage_seconds_total", runtimeapi.MetricType_COUNTER, cpu.GetTimestamp(), labels, cpu.GetUsageCoreNanoSeconds().GetValue()/uint64(time.Second)))
			}
			if mem := cs.GetMemory(); mem != nil {
				for _, m := range []struct {
					name string
					v    *runtimeapi.UInt64Value
				}{
					{"container_memory_usage_bytes", mem.GetUsageBytes()},
					{"container_memory_working_set_bytes", mem.GetWorkingSetBytes()},
					{"container_memory_rss", mem.GetRssBytes()},
				} {
					if m.v != nil {
						cm.Metrics = append(cm.Metrics, criMetric(m.name, runtimeapi.MetricType_GAUGE, mem.GetTimestamp(), labels, m.v.GetValue()))
					}
				}
			}
			pm.ContainerMetrics = append(pm.ContainerMetrics, cm)
		}
		out = append(out, pm)
	}
	return out
}

func criMetric(name string, kind runtimeapi.MetricType, ts int64, labels []string, v uint64) *runtimeapi.Metric {
	return &runtimeapi.Metric{Name: name, Timestamp: ts, MetricType: kind, LabelValues: labels, Value: &runtimeapi.UInt64Value{Value: v}}
}
