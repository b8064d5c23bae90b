package probe

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are upstream's prober metrics, served on the kubelet's
// /metrics/probes: how many times each container's probes ran, by
// result, and how long they took. A nil *Metrics counts nothing.
type Metrics struct {
	registry *prometheus.Registry
	total    *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

// NewMetrics makes the counters, on a registry of their own.
func NewMetrics() *Metrics {
	m := &Metrics{
		registry: prometheus.NewRegistry(),
		total: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "prober_probe_total",
			Help: "[BETA] Cumulative number of a liveness, readiness or startup probe for a container by result.",
		}, []string{"probe_type", "result", "container", "pod", "namespace", "pod_uid"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "prober_probe_duration_seconds",
			Help: "[ALPHA] Duration in seconds for a probe response.",
		}, []string{"probe_type", "container", "pod", "namespace"}),
	}
	m.registry.MustRegister(m.total, m.duration)
	return m
}

// Gatherer is what /metrics/probes serves.
func (m *Metrics) Gatherer() prometheus.Gatherer { return m.registry }

// observe counts one probe of w's.
func (m *Metrics) observe(w *worker, ok bool, took time.Duration) {
	if m == nil {
		return
	}
	result := "failed"
	if ok {
		result = "successful"
	}
	p, c := w.pod, w.target.Container.Name
	m.total.WithLabelValues(w.key.kind.String(), result, c, p.Name, p.Namespace, string(p.UID)).Inc()
	m.duration.WithLabelValues(w.key.kind.String(), c, p.Name, p.Namespace).Observe(took.Seconds())
}

// forget drops w's series when its pod goes.
func (m *Metrics) forget(w *worker) {
	if m == nil {
		return
	}
	p, c := w.pod, w.target.Container.Name
	for _, result := range []string{"successful", "failed", "unknown"} {
		m.total.DeleteLabelValues(w.key.kind.String(), result, c, p.Name, p.Namespace, string(p.UID))
	}
	m.duration.DeleteLabelValues(w.key.kind.String(), c, p.Name, p.Namespace)
}
