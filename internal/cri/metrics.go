package cri

import (
	"context"
	"time"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/kemudi/kemudi/internal/cri/network"
	"github.com/kemudi/kemudi/internal/cri/supervisor"
)

// ListMetricDescriptors lists the metrics ListPodSandboxMetrics reports.
func (r *Runtime) ListMetricDescriptors(context.Context, *runtimeapi.ListMetricDescriptorsRequest) (*runtimeapi.ListMetricDescriptorsResponse, error) {
	return &runtimeapi.ListMetricDescriptorsResponse{Descriptors: metricDescriptors}, nil
}

// ListPodSandboxMetrics reports the metrics of every ready pod and its
// running containers: the CRI's replacement for the kubelet's cAdvisor
// endpoint. A pod or container whose figures cannot be read (it stopped
// meanwhile) is reported with what could be read.
func (r *Runtime) ListPodSandboxMetrics(ctx context.Context, _ *runtimeapi.ListPodSandboxMetricsRequest) (*runtimeapi.ListPodSandboxMetricsResponse, error) {
	byPod := map[string][]container{}
	for _, c := range r.containers.list() {
		if c.State == runtimeapi.ContainerState_CONTAINER_RUNNING {
			byPod[c.SandboxID] = append(byPod[c.SandboxID], c)
		}
	}
	device := r.imageFsMountpoint()
	resp := &runtimeapi.ListPodSandboxMetricsResponse{PodMetrics: []*runtimeapi.PodSandboxMetrics{}}
	for _, sb := range r.sandboxes.list() {
		if sb.State != runtimeapi.PodSandboxState_SANDBOX_READY {
			continue
		}
		md := sb.Config.GetMetadata()
		s := sandboxSample{id: sb.ID, pod: md.GetName(), namespace: md.GetNamespace()}
		if sb.NetNS != "" && !sb.hostNetwork() {
			if ifs, err := network.NetStats(sb.NetNS); err == nil {
				s.interfaces = ifs
			}
		}
		for _, c := range byPod[sb.ID] {
			cs := containerSample{id: c.ID, name: c.Config.GetMetadata().GetName(), image: c.ImageName, startedAt: c.StartedAt}
			if st, err := r.supervisor.Stats(ctx, c.ID); err == nil {
				cs.stats = &st
			}
			if u, err := r.images.RootfsUsage(c.rootfsKey()); err == nil {
				cs.fs = &fsSample{device: device, bytes: u.Bytes, inodes: u.Inodes}
			}
			s.containers = append(s.containers, cs)
		}
		resp.PodMetrics = append(resp.PodMetrics, sandboxMetrics(s, time.Now()))
	}
	return resp, nil
}

// sandboxSample is what one pod's metrics are made from, read before
// they are built so that building them is pure.
type sandboxSample struct {
	id, pod, namespace string
	interfaces         []network.InterfaceStats
	containers         []containerSample
}

type containerSample struct {
	id, name, image string
	startedAt       int64             // unix ns; 0 if never started
	stats           *supervisor.Stats // nil when they could not be read
	fs              *fsSample         // nil when unknown
}

type fsSample struct {
	device        string
	bytes, inodes uint64
}

// sandboxMetrics builds a pod's metrics: network counters at the pod
// level (container and image empty, as cAdvisor's pod-level series), and
// each container's CPU, memory, processes, times and writable layer.
func sandboxMetrics(s sandboxSample, now time.Time) *runtimeapi.PodSandboxMetrics {
	ts := now.UnixNano()
	out := &runtimeapi.PodSandboxMetrics{PodSandboxId: s.id}
	podLabels := []string{s.pod, s.namespace, "", s.id, ""}
	for _, i := range s.interfaces {
		if i.Name == "lo" {
			continue
		}
		labels := append(append([]string(nil), podLabels...), i.Name)
		for _, m := range []struct {
			name  string
			value uint64
		}{
			{"container_network_receive_bytes_total", i.RxBytes},
			{"container_network_receive_packets_total", i.RxPackets},
			{"container_network_receive_errors_total", i.RxErrors},
			{"container_network_transmit_bytes_total", i.TxBytes},
			{"container_network_transmit_packets_total", i.TxPackets},
			{"container_network_transmit_errors_total", i.TxErrors},
		} {
			out.Metrics = append(out.Metrics, metric(m.name, runtimeapi.MetricType_COUNTER, ts, labels, m.value))
		}
	}
	for _, c := range s.containers {
		out.ContainerMetrics = append(out.ContainerMetrics, containerMetrics(s, c, now))
	}
	return out
}

func containerMetrics(s sandboxSample, c containerSample, now time.Time) *runtimeapi.ContainerMetrics {
	ts := now.UnixNano()
	labels := []string{s.pod, s.namespace, c.name, c.id, c.image}
	gauge := func(name string, v uint64) *runtimeapi.Metric {
		return metric(name, runtimeapi.MetricType_GAUGE, ts, labels, v)
	}
	out := &runtimeapi.ContainerMetrics{ContainerId: c.id}
	out.Metrics = append(out.Metrics, gauge("container_last_seen", uint64(now.Unix())))
	if c.startedAt > 0 {
		out.Metrics = append(out.Metrics, gauge("container_start_time_seconds", uint64(c.startedAt/int64(time.Second))))
	}
	if st := c.stats; st != nil {
		ts := st.Timestamp.UnixNano()
		out.Metrics = append(out.Metrics,
			metric("container_cpu_usage_seconds_total", runtimeapi.MetricType_COUNTER, ts, labels, st.CPUUsageNanos/uint64(time.Second)),
			metric("container_memory_usage_bytes", runtimeapi.MetricType_GAUGE, ts, labels, st.MemoryUsage),
			metric("container_memory_working_set_bytes", runtimeapi.MetricType_GAUGE, ts, labels, st.MemoryWorkingSet),
			metric("container_memory_rss", runtimeapi.MetricType_GAUGE, ts, labels, st.MemoryRSS),
			metric("container_spec_memory_limit_bytes", runtimeapi.MetricType_GAUGE, ts, labels, st.MemoryLimit),
			metric("container_processes", runtimeapi.MetricType_GAUGE, ts, labels, st.Pids),
		)
	}
	if fs := c.fs; fs != nil {
		dl := append(append([]string(nil), labels...), fs.device)
		out.Metrics = append(out.Metrics,
			metric("container_fs_usage_bytes", runtimeapi.MetricType_GAUGE, ts, dl, fs.bytes),
			metric("container_fs_inodes_total", runtimeapi.MetricType_GAUGE, ts, dl, fs.inodes),
		)
	}
	return out
}

func metric(name string, kind runtimeapi.MetricType, ts int64, labels []string, v uint64) *runtimeapi.Metric {
	return &runtimeapi.Metric{Name: name, Timestamp: ts, MetricType: kind, LabelValues: labels, Value: &runtimeapi.UInt64Value{Value: v}}
}
