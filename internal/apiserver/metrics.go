package apiserver

import (
	"net/http"
	"regexp"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics are the API server's Prometheus metrics, named as upstream's so
// that existing dashboards read them.
type metrics struct {
	registry *prometheus.Registry
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	// streams counts WebSocket exec, attach and portforward streams by
	// route (connect_translate.go).
	streams *prometheus.CounterVec
	handler http.Handler
}

func newMetrics(extra ...prometheus.Collector) *metrics {
	m := &metrics{
		registry: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "apiserver_request_total",
			Help: "Counter of apiserver requests broken out for each verb, resource and HTTP response code.",
		}, []string{"verb", "group", "version", "resource", "subresource", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "apiserver_request_duration_seconds",
			Help:    "Response latency distribution in seconds for each verb, group, version and resource.",
			Buckets: []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60},
		}, []string{"verb", "group", "version", "resource", "subresource"}),
	}
	m.streams = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "apiserver_websocket_streaming_requests_total",
		Help: "Total number of WebSocket streaming requests (exec/attach/portforward) routed by the API server, labeled by subresource and proxy_type. proxy_type is proxied_to_kubelet when the kubelet handles the request directly; otherwise translated_at_apiserver.",
	}, []string{"subresource", "proxy_type"})
	m.registry.MustRegister(m.requests, m.latency, m.streams,
		collectors.NewGoCollector(collectors.WithGoCollectorRuntimeMetrics(
			// go_gc_gogc_percent: what --gc-percent or GOGC set.
			collectors.GoRuntimeMetricsRule{Matcher: regexp.MustCompile(`^/gc/gogc:percent$`)})),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m.registry.MustRegister(extra...)
	m.handler = promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{})
	return m
}

func (m *metrics) ServeHTTP(w http.ResponseWriter, r *http.Request) { m.handler.ServeHTTP(w, r) }

func (m *metrics) observe(info *requestInfo, code int, d time.Duration) {
	m.requests.WithLabelValues(info.Verb, info.Group, info.Version, info.Resource, info.Subresource, strconv.Itoa(code)).Inc()
	if info.Verb != "watch" {
		m.latency.WithLabelValues(info.Verb, info.Group, info.Version, info.Resource, info.Subresource).Observe(d.Seconds())
	}
}
