package server

import (
	"context"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// serveMetricsCadvisor serves /metrics/cadvisor, the per-container series
// Prometheus setups scrape from every kubelet, from the runtime's CRI
// metrics (ListPodSandboxMetrics), as upstream's kubelet does when its
// stats come from the CRI. A runtime without them (containerd 1.7)
// answers Unimplemented; its CRI stats are then reported under the same
// names.
func (s *Server) serveMetricsCadvisor(w http.ResponseWriter, r *http.Request) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(&criMetricsCollector{ctx: r.Context(), s: s})
	promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError}).ServeHTTP(w, r)
}

// criMetricsCollector turns one scrape's CRI metrics into Prometheus
// samples; it is unchecked (Describe sends nothing) because the runtime
// says which metrics there are.
type criMetricsCollector struct {
	ctx context.Context
	s   *Server
}

func (*criMetricsCollector) Describe(chan<- *prometheus.Desc) {}

func (c *criMetricsCollector) Collect(ch chan<- prometheus.Metric) {
	descs, pods, err := c.s.criMetrics(c.ctx)
	if err != nil {
		c.s.log.Warn("metrics/cadvisor: read the runtime's metrics", "err", err)
		return
	}
	for _, m := range promMetrics(descs, pods) {
		ch <- m
	}
}

// criMetrics asks the runtime for its metrics, or for its stats when it
// has no metrics.
func (s *Server) criMetrics(ctx context.Context) ([]*runtimeapi.MetricDescriptor, []*runtimeapi.PodSandboxMetrics, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	descs, err := s.cfg.Runtime.ListMetricDescriptors(ctx, &runtimeapi.ListMetricDescriptorsRequest{})
	if status.Code(err) == codes.Unimplemented {
		stats, err := s.cfg.Runtime.ListPodSandboxStats(ctx, &runtimeapi.ListPodSandboxStatsRequest{})
		if err != nil {
			return nil, nil, err
		}
		return statsMetricDescriptors, metricsFromStats(stats.GetStats()), nil
	}
	if err != nil {
		return nil, nil, err
	}
	pods, err := s.cfg.Runtime.ListPodSandboxMetrics(ctx, &runtimeapi.ListPodSandboxMetricsRequest{})
	if err != nil {
		return nil, nil, err
	}
	return descs.GetDescriptors(), pods.GetPodMetrics(), nil
}

// promMetrics are the pods' CRI metrics as Prometheus samples, with the
// descriptors' help and label names and each sample's own time. A metric
// the runtime did not describe, or whose label values do not match its
// descriptor, is left out rather than failing the whole scrape.
func promMetrics(descs []*runtimeapi.MetricDescriptor, pods []*runtimeapi.PodSandboxMetrics) []prometheus.Metric {
	byName := map[string]*prometheus.Desc{}
	keys := map[string]int{}
	for _, d := range descs {
		byName[d.GetName()] = prometheus.NewDesc(d.GetName(), d.GetHelp(), d.GetLabelKeys(), nil)
		keys[d.GetName()] = len(d.GetLabelKeys())
	}
	var out []prometheus.Metric
	add := func(m *runtimeapi.Metric) {
		desc, ok := byName[m.GetName()]
		if !ok || keys[m.GetName()] != len(m.GetLabelValues()) || m.GetValue() == nil {
			return
		}
		kind := prometheus.GaugeValue
		if m.GetMetricType() == runtimeapi.MetricType_COUNTER {
			kind = prometheus.CounterValue
		}
		pm, err := prometheus.NewConstMetric(desc, kind, float64(m.GetValue().GetValue()), m.GetLabelValues()...)
		if err != nil {
			return
		}
		if m.GetTimestamp() > 0 {
			pm = prometheus.NewMetricWithTimestamp(time.Unix(0, m.GetTimestamp()), pm)
		}
		out = append(out, pm)
	}
	for _, p := range pods {
		for _, m := range p.GetMetrics() {
			add(m)
		}
		for _, c := range p.GetContainerMetrics() {
			for _, m := range c.GetMetrics() {
				add(m)
			}
		}
	}
	return out
}
