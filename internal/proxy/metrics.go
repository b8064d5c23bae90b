package proxy

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// metrics are upstream kube-proxy's names, so dashboards work unchanged.
type metrics struct {
	registry       *prometheus.Registry
	syncDuration   prometheus.Histogram
	fullSyncs      prometheus.Counter
	syncErrors     prometheus.Counter
	programLatency prometheus.Histogram
	lastSync       prometheus.Gauge
}

func newMetrics() *metrics {
	m := &metrics{
		registry: prometheus.NewRegistry(),
		syncDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: "kubeproxy", Name: "sync_proxy_rules_duration_seconds",
			Help:    "Time a sync of the proxy's rules took",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 15),
		}),
		fullSyncs: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "kubeproxy", Name: "sync_full_proxy_rules_total", Help: "Full rebuilds of the proxy's table",
		}),
		syncErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "kubeproxy", Name: "sync_proxy_rules_errors_total", Help: "Syncs that failed",
		}),
		programLatency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: "kubeproxy", Name: "network_programming_duration_seconds",
			Help:    "From an endpoints change (its trigger time) to its rules in the kernel",
			Buckets: append(prometheus.LinearBuckets(0.01, 0.01, 10), prometheus.ExponentialBuckets(0.2, 2, 10)...),
		}),
		lastSync: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: "kubeproxy", Name: "sync_proxy_rules_last_timestamp_seconds", Help: "When rules were last synced",
		}),
	}
	m.registry.MustRegister(m.syncDuration, m.fullSyncs, m.syncErrors, m.programLatency, m.lastSync,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}
