package dns

import (
	"time"

	"github.com/miekg/dns"
	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the server's Prometheus metrics, on a registry of its own.
type metrics struct {
	registry  *prometheus.Registry
	requests  *prometheus.CounterVec
	duration  *prometheus.HistogramVec
	dropped   prometheus.Counter
	cacheHit  prometheus.Counter
	cacheMiss prometheus.Counter
	forwards  *prometheus.CounterVec
	records   prometheus.Gauge
}

func newMetrics() *metrics {
	m := &metrics{
		registry: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kemudi_dns_requests_total", Help: "Answered DNS requests by transport, query type and response code.",
		}, []string{"proto", "type", "rcode"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "kemudi_dns_request_duration_seconds", Help: "Time from a request read to its response packed.",
			Buckets: []float64{.00005, .0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"proto"}),
		dropped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "kemudi_dns_dropped_total", Help: "Packets dropped unanswered (too short or long, responses, unpackable).",
		}),
		cacheHit: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "kemudi_dns_cache_hits_total", Help: "Forwarded questions answered from the cache.",
		}),
		cacheMiss: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "kemudi_dns_cache_misses_total", Help: "Forwarded questions not in the cache.",
		}),
		forwards: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kemudi_dns_forward_requests_total", Help: "Questions sent upstream by outcome (ok, error, overload).",
		}, []string{"result"}),
		records: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "kemudi_dns_snapshot_names", Help: "Owner names in the current snapshot.",
		}),
	}
	m.registry.MustRegister(m.requests, m.duration, m.dropped, m.cacheHit, m.cacheMiss, m.forwards, m.records,
		prometheus.NewGoCollector(), prometheus.NewProcessCollector(prometheus.ProcessCollectorOpts{}))
	return m
}

// knownType bounds the "type" label: other types count as "other".
func knownType(t uint16) bool {
	switch t {
	case dns.TypeA, dns.TypeAAAA, dns.TypeSRV, dns.TypePTR, dns.TypeCNAME, dns.TypeTXT,
		dns.TypeSOA, dns.TypeNS, dns.TypeMX, dns.TypeANY, dns.TypeHTTPS:
		return true
	}
	return false
}

func (m *metrics) observe(tr transport, qtype uint16, rcode int, d time.Duration) {
	t := "other"
	if knownType(qtype) {
		t = dns.TypeToString[qtype]
	}
	rc, ok := dns.RcodeToString[rcode]
	if !ok {
		rc = "other"
	}
	m.requests.WithLabelValues(tr.String(), t, rc).Inc()
	m.duration.WithLabelValues(tr.String()).Observe(d.Seconds())
}
