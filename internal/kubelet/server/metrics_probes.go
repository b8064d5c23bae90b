package server

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// serveMetricsProbes serves /metrics/probes: upstream's
// prober_probe_total and prober_probe_duration_seconds for the probes of
// this node's containers.
func (s *Server) serveMetricsProbes(w http.ResponseWriter, r *http.Request) {
	g := s.cfg.ProbeMetrics
	if g == nil {
		g = prometheus.NewRegistry()
	}
	promhttp.HandlerFor(g, promhttp.HandlerOpts{}).ServeHTTP(w, r)
}
