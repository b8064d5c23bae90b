package metrics

import runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

// Label keys. Every series starts with the base keys; its values follow
// its descriptor's keys in this order.
var baseKeys = []string{"pod", "namespace", "container", "id", "image"}

func keys(extra ...string) []string {
	return append(append([]string(nil), baseKeys...), extra...)
}

// descriptor is one series: its name, cAdvisor's help text, the label
// keys after the base ones, and its kind.
type descriptor struct {
	name, help string
	extra      []string
	kind       runtimeapi.MetricType
}

const (
	gauge   = runtimeapi.MetricType_GAUGE
	counter = runtimeapi.MetricType_COUNTER
)

// descriptors lists every series Container and Pod report, in cAdvisor's
// words.
func descriptors() []descriptor {
	return []descriptor{
		// cpu.go
		{"container_cpu_usage_seconds_total", "Cumulative cpu time consumed in seconds.", []string{"cpu"}, counter},
		{"container_cpu_user_seconds_total", "Cumulative user cpu time consumed in seconds.", nil, counter},
		{"container_cpu_system_seconds_total", "Cumulative system cpu time consumed in seconds.", nil, counter},
		{"container_cpu_cfs_periods_total", "Number of elapsed enforcement period intervals.", nil, counter},
		{"container_cpu_cfs_throttled_periods_total", "Number of throttled period intervals.", nil, counter},
		{"container_cpu_cfs_throttled_seconds_total", "Total time duration the container has been throttled.", nil, counter},
		{"container_spec_cpu_period", "CPU period of the container.", nil, gauge},
		{"container_spec_cpu_quota", "CPU quota of the container.", nil, gauge},
		{"container_spec_cpu_shares", "CPU share of the container.", nil, gauge},
		// memory.go
		{"container_memory_usage_bytes", "Current memory usage in bytes, including all memory regardless of when it was accessed", nil, gauge},
		{"container_memory_max_usage_bytes", "Maximum memory usage recorded in bytes", nil, gauge},
		{"container_memory_working_set_bytes", "Current working set in bytes.", nil, gauge},
		{"container_memory_rss", "Size of RSS in bytes.", nil, gauge},
		{"container_memory_cache", "Number of bytes of page cache memory.", nil, gauge},
		{"container_memory_mapped_file", "Size of memory mapped files in bytes.", nil, gauge},
		{"container_memory_swap", "Container swap usage in bytes.", nil, gauge},
		{"container_memory_kernel_usage", "Size of kernel memory allocated in bytes.", nil, gauge},
		{"container_memory_failcnt", "Number of memory usage hits limits", nil, counter},
		{"container_memory_failures_total", "Cumulative count of memory allocation failures.", []string{"failure_type", "scope"}, counter},
		{"container_oom_events_total", "Count of out of memory events observed for the container", nil, counter},
		{"container_spec_memory_limit_bytes", "Memory limit for the container.", nil, gauge},
		{"container_spec_memory_reservation_limit_bytes", "Memory reservation limit for the container.", nil, gauge},
		{"container_spec_memory_swap_limit_bytes", "Memory swap limit for the container.", nil, gauge},
		// pressure.go
		{"container_pressure_cpu_waiting_seconds_total", "Total time duration tasks in the container have waited due to CPU pressure.", nil, counter},
		{"container_pressure_cpu_stalled_seconds_total", "Total time duration no tasks in the container could make progress due to CPU congestion.", nil, counter},
		{"container_pressure_memory_waiting_seconds_total", "Total time duration tasks in the container have waited due to memory pressure.", nil, counter},
		{"container_pressure_memory_stalled_seconds_total", "Total time duration no tasks in the container could make progress due to memory congestion.", nil, counter},
		{"container_pressure_io_waiting_seconds_total", "Total time duration tasks in the container have waited due to IO pressure.", nil, counter},
		{"container_pressure_io_stalled_seconds_total", "Total time duration no tasks in the container could make progress due to IO congestion.", nil, counter},
		// process.go
		{"container_processes", "Number of processes running inside the container.", nil, gauge},
		{"container_threads", "Number of threads running inside the container", nil, gauge},
		{"container_threads_max", "Maximum number of threads allowed inside the container, infinity if value is zero", nil, gauge},
		{"container_file_descriptors", "Number of open file descriptors for the container.", nil, gauge},
		{"container_sockets", "Number of open sockets for the container.", nil, gauge},
		{"container_ulimits_soft", "Soft ulimit values for the container root process. Unlimited if -1, except priority and nice", []string{"ulimit"}, gauge},
		{"container_start_time_seconds", "Start time of the container since unix epoch in seconds.", nil, gauge},
		{"container_last_seen", "Last time a container was seen by the exporter", nil, gauge},
		// fs.go
		{"container_fs_usage_bytes", "Number of bytes that are consumed by the container on this filesystem.", []string{"device"}, gauge},
		{"container_fs_limit_bytes", "Number of bytes that can be consumed by the container on this filesystem.", []string{"device"}, gauge},
		{"container_fs_inodes_total", "Number of Inodes", []string{"device"}, gauge},
		{"container_fs_inodes_free", "Number of available Inodes", []string{"device"}, gauge},
		{"container_fs_reads_bytes_total", "Cumulative count of bytes read", []string{"device"}, counter},
		{"container_fs_reads_total", "Cumulative count of reads completed", []string{"device"}, counter},
		{"container_fs_writes_bytes_total", "Cumulative count of bytes written", []string{"device"}, counter},
		{"container_fs_writes_total", "Cumulative count of writes completed", []string{"device"}, counter},
		{"container_blkio_device_usage_total", "Blkio Device bytes usage", []string{"device", "major", "minor", "operation"}, counter},
		// network.go
		{"container_network_receive_bytes_total", "Cumulative count of bytes received", []string{"interface"}, counter},
		{"container_network_receive_packets_total", "Cumulative count of packets received", []string{"interface"}, counter},
		{"container_network_receive_packets_dropped_total", "Cumulative count of packets dropped while receiving", []string{"interface"}, counter},
		{"container_network_receive_errors_total", "Cumulative count of errors encountered while receiving", []string{"interface"}, counter},
		{"container_network_transmit_bytes_total", "Cumulative count of bytes transmitted", []string{"interface"}, counter},
		{"container_network_transmit_packets_total", "Cumulative count of packets transmitted", []string{"interface"}, counter},
		{"container_network_transmit_packets_dropped_total", "Cumulative count of packets dropped while transmitting", []string{"interface"}, counter},
		{"container_network_transmit_errors_total", "Cumulative count of errors encountered while transmitting", []string{"interface"}, counter},
	}
}

// Descriptors are the CRI metric descriptors of every series reported.
func Descriptors() []*runtimeapi.MetricDescriptor {
	ds := descriptors()
	out := make([]*runtimeapi.MetricDescriptor, 0, len(ds))
	for _, d := range ds {
		out = append(out, &runtimeapi.MetricDescriptor{Name: d.name, Help: d.help, LabelKeys: keys(d.extra...)})
	}
	return out
}
