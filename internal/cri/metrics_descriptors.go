package cri

import runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

// The label keys of the metrics ListPodSandboxMetrics reports, as
// cAdvisor's /metrics/cadvisor names them, so that dashboards built on
// cAdvisor read the CRI's metrics unchanged. Every metric's label values
// follow its descriptor's keys in this order.
var (
	metricLabels          = []string{"pod", "namespace", "container", "id", "image"}
	metricInterfaceLabels = append(append([]string(nil), metricLabels...), "interface")
	metricDeviceLabels    = append(append([]string(nil), metricLabels...), "device")
)

// metricDescriptors are the metrics kemudi's runtime reports, in the order
// ListMetricDescriptors lists them. The CRI carries whole numbers, so
// cumulative CPU time is in whole seconds, as containerd reports it.
var metricDescriptors = []*runtimeapi.MetricDescriptor{
	{Name: "container_cpu_usage_seconds_total", Help: "Cumulative CPU time consumed in seconds.", LabelKeys: metricLabels},
	{Name: "container_memory_usage_bytes", Help: "Current memory usage in bytes, including all memory regardless of when it was accessed.", LabelKeys: metricLabels},
	{Name: "container_memory_working_set_bytes", Help: "Current working set in bytes: memory usage less inactive file cache.", LabelKeys: metricLabels},
	{Name: "container_memory_rss", Help: "Size of RSS in bytes: anonymous memory and swap cache.", LabelKeys: metricLabels},
	{Name: "container_spec_memory_limit_bytes", Help: "Memory limit of the container in bytes (0: none).", LabelKeys: metricLabels},
	{Name: "container_processes", Help: "Number of processes running inside the container.", LabelKeys: metricLabels},
	{Name: "container_start_time_seconds", Help: "Start time of the container since the Unix epoch in seconds.", LabelKeys: metricLabels},
	{Name: "container_last_seen", Help: "Last time the container was seen by the runtime, in seconds since the Unix epoch.", LabelKeys: metricLabels},
	{Name: "container_fs_usage_bytes", Help: "Bytes the container's writable layer uses on the filesystem.", LabelKeys: metricDeviceLabels},
	{Name: "container_fs_inodes_total", Help: "Inodes the container's writable layer uses.", LabelKeys: metricDeviceLabels},
	{Name: "container_network_receive_bytes_total", Help: "Cumulative count of bytes received.", LabelKeys: metricInterfaceLabels},
	{Name: "container_network_receive_packets_total", Help: "Cumulative count of packets received.", LabelKeys: metricInterfaceLabels},
	{Name: "container_network_receive_errors_total", Help: "Cumulative count of errors encountered while receiving.", LabelKeys: metricInterfaceLabels},
	{Name: "container_network_transmit_bytes_total", Help: "Cumulative count of bytes transmitted.", LabelKeys: metricInterfaceLabels},
	{Name: "container_network_transmit_packets_total", Help: "Cumulative count of packets transmitted.", LabelKeys: metricInterfaceLabels},
	{Name: "container_network_transmit_errors_total", Help: "Cumulative count of errors encountered while transmitting.", LabelKeys: metricInterfaceLabels},
}
