// Package metrics holds the kubelet's own Prometheus metrics, served on
// the kubelet's /metrics with upstream's names, labels and buckets. Each
// kubelet has its own registry: two kubelets in one process (tests, an
// agent beside the server) do not share counters.
package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

const subsystem = "kubelet"

// Container types of kubelet_started_containers_total, as upstream.
const (
	ContainerTypeRegular   = "container"
	ContainerTypeInit      = "init_container"
	ContainerTypeEphemeral = "ephemeral_container"
)

// podStartBuckets are upstream's podStartupDurationBuckets.
var podStartBuckets = []float64{0.5, 1, 2, 3, 4, 5, 6, 8, 10, 20, 30, 45, 60, 120, 180, 240, 300, 360, 480, 600, 900, 1200, 1800, 2700, 3600}

// Metrics are one kubelet's metrics. A nil *Metrics records nothing, so
// that callers need not check.
type Metrics struct {
	reg *prometheus.Registry

	startedPods       prometheus.Counter
	startedContainers *prometheus.CounterVec
	podStart          prometheus.Histogram
	podWorker         *prometheus.HistogramVec
	relistDuration    prometheus.Histogram
	relistInterval    prometheus.Histogram
	runtimeOps        *prometheus.CounterVec
	runtimeErrors     *prometheus.CounterVec
	runtimeDuration   *prometheus.HistogramVec
	httpRequests      *prometheus.CounterVec
	imageVolumes      imageVolumeCounters
}

// New builds the metrics of the kubelet of node nodeName, with the
// process and Go runtime collectors every upstream component serves.
func New(nodeName string) *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		startedPods: prometheus.NewCounter(prometheus.CounterOpts{Subsystem: subsystem, Name: "started_pods_total",
			Help: "Cumulative number of pods started"}),
		startedContainers: prometheus.NewCounterVec(prometheus.CounterOpts{Subsystem: subsystem, Name: "started_containers_total",
			Help: "Cumulative number of containers started"}, []string{"container_type"}),
		podStart: prometheus.NewHistogram(prometheus.HistogramOpts{Subsystem: subsystem, Name: "pod_start_duration_seconds",
			Help: "Duration in seconds from kubelet seeing a pod for the first time to the pod starting to run", Buckets: podStartBuckets}),
		podWorker: prometheus.NewHistogramVec(prometheus.HistogramOpts{Subsystem: subsystem, Name: "pod_worker_duration_seconds",
			Help: "Duration in seconds to sync a single pod. Broken down by operation type: create, update, or sync", Buckets: prometheus.DefBuckets},
			[]string{"operation_type"}),
		relistDuration: prometheus.NewHistogram(prometheus.HistogramOpts{Subsystem: subsystem, Name: "pleg_relist_duration_seconds",
			Help: "Duration in seconds for relisting pods in PLEG.", Buckets: prometheus.DefBuckets}),
		relistInterval: prometheus.NewHistogram(prometheus.HistogramOpts{Subsystem: subsystem, Name: "pleg_relist_interval_seconds",
			Help: "Interval in seconds between relisting in PLEG.", Buckets: prometheus.DefBuckets}),
		runtimeOps: prometheus.NewCounterVec(prometheus.CounterOpts{Subsystem: subsystem, Name: "runtime_operations_total",
			Help: "Cumulative number of runtime operations by operation type."}, []string{"operation_type"}),
		runtimeErrors: prometheus.NewCounterVec(prometheus.CounterOpts{Subsystem: subsystem, Name: "runtime_operations_errors_total",
			Help: "Cumulative number of runtime operation errors by operation type."}, []string{"operation_type"}),
		runtimeDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Subsystem: subsystem, Name: "runtime_operations_duration_seconds",
			Help: "Duration in seconds of runtime operations. Broken down by operation type.", Buckets: prometheus.ExponentialBuckets(.005, 2.5, 14)},
			[]string{"operation_type"}),
		httpRequests: prometheus.NewCounterVec(prometheus.CounterOpts{Subsystem: subsystem, Name: "http_requests_total",
			Help: "Number of the http requests received since the server started"}, []string{"method", "path", "server_type", "long_running"}),
		imageVolumes: newImageVolumeCounters(),
	}
	nodeGauge := prometheus.NewGaugeVec(prometheus.GaugeOpts{Subsystem: subsystem, Name: "node_name",
		Help: "The node's name. The count is always 1."}, []string{"node"})
	nodeGauge.WithLabelValues(nodeName).Set(1)
	m.reg.MustRegister(nodeGauge, m.startedPods, m.startedContainers, m.podStart, m.podWorker,
		m.relistDuration, m.relistInterval, m.runtimeOps, m.runtimeErrors, m.runtimeDuration, m.httpRequests,
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}), collectors.NewGoCollector())
	m.reg.MustRegister(m.imageVolumes.collectors()...)
	return m
}

// Gatherer is what /metrics serves (nil for nil metrics).
func (m *Metrics) Gatherer() prometheus.Gatherer {
	if m == nil {
		return nil
	}
	return m.reg
}

// PodStarted counts a sandbox about to be created.
func (m *Metrics) PodStarted() {
	if m != nil {
		m.startedPods.Inc()
	}
}

// ContainerStarted counts a container about to be created.
func (m *Metrics) ContainerStarted(containerType string) {
	if m != nil {
		m.startedContainers.WithLabelValues(containerType).Inc()
	}
}

// PodRunning records how long a pod took from the kubelet first seeing it
// to running.
func (m *Metrics) PodRunning(firstSeen time.Time) {
	if m != nil {
		m.podStart.Observe(time.Since(firstSeen).Seconds())
	}
}

// PodSynced records one pod worker's sync (create, update, sync or
// terminated) that began at start.
func (m *Metrics) PodSynced(op string, start time.Time) {
	if m != nil {
		m.podWorker.WithLabelValues(op).Observe(time.Since(start).Seconds())
	}
}

// Relisted records a relist that began at start; last is when the
// previous one began (zero for the first).
func (m *Metrics) Relisted(start, last time.Time) {
	if m == nil {
		return
	}
	if !last.IsZero() {
		m.relistInterval.Observe(start.Sub(last).Seconds())
	}
	m.relistDuration.Observe(time.Since(start).Seconds())
}

// RuntimeOperation records one CRI call.
func (m *Metrics) RuntimeOperation(op string, start time.Time, err error) {
	if m == nil {
		return
	}
	m.runtimeOps.WithLabelValues(op).Inc()
	m.runtimeDuration.WithLabelValues(op).Observe(time.Since(start).Seconds())
	if err != nil {
		m.runtimeErrors.WithLabelValues(op).Inc()
	}
}

// HTTPRequest counts a request to the kubelet's server.
func (m *Metrics) HTTPRequest(method, path string, longRunning bool) {
	if m == nil {
		return
	}
	lr := "false"
	if longRunning {
		lr = "true"
	}
	m.httpRequests.WithLabelValues(method, path, "readwrite", lr).Inc()
}
