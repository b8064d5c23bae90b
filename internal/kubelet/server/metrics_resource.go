package server

import (
	"fmt"
	"io"
	"net/http"
	"strings"
)

// serveMetricsResource serves /metrics/resource: the figures
// metrics-server scrapes (CPU time and working set of the node, pods and
// containers), in the Prometheus text format and with upstream's metric
// names, from the same sources as /stats/summary.
func (s *Server) serveMetricsResource(w http.ResponseWriter, r *http.Request) {
	sum, err := s.summary(r.Context(), false)
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	if err != nil {
		writeScrapeError(w, 1)
		return
	}
	writeResourceMetrics(w, sum)
}

// writeScrapeError writes whether the figures could be read, under
// upstream's two names: scrape_error (alpha, deprecated since 1.29) and
// resource_scrape_error (stable), which monitoring alerts on.
func writeScrapeError(w io.Writer, v int) {
	const help = "1 if there was an error while getting container metrics, 0 otherwise"
	writeMetricsHeader(w, "scrape_error", "[ALPHA] "+help, "gauge")
	fmt.Fprintf(w, "scrape_error %d\n", v)
	writeMetricsHeader(w, "resource_scrape_error", "[STABLE] "+help, "gauge")
	fmt.Fprintf(w, "resource_scrape_error %d\n", v)
}

func writeMetricsHeader(w io.Writer, name, help, kind string) {
	fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, kind)
}

// writeResourceMetrics writes sum as upstream's resource metrics; each
// sample carries the time it was taken (milliseconds), as upstream's do.
func writeResourceMetrics(w io.Writer, sum *Summary) {
	type sample struct {
		labels string
		value  float64
		ms     int64
	}
	families := []struct {
		name, help, kind string
		samples          []sample
	}{
		{name: "container_cpu_usage_seconds_total", help: "[STABLE] Cumulative cpu time consumed by the container in core-seconds", kind: "counter"},
		{name: "container_memory_working_set_bytes", help: "[STABLE] Current working set of the container in bytes", kind: "gauge"},
		{name: "container_start_time_seconds", help: "[STABLE] Start time of the container since unix epoch in seconds", kind: "gauge"},
		{name: "node_cpu_usage_seconds_total", help: "[STABLE] Cumulative cpu time consumed by the node in core-seconds", kind: "counter"},
		{name: "node_memory_working_set_bytes", help: "[STABLE] Current working set of the node in bytes", kind: "gauge"},
		{name: "pod_cpu_usage_seconds_total", help: "[STABLE] Cumulative cpu time consumed by the pod in core-seconds", kind: "counter"},
		{name: "pod_memory_working_set_bytes", help: "[STABLE] Current working set of the pod in bytes", kind: "gauge"},
	}
	add := func(i int, labels string, value float64, ms int64) {
		families[i].samples = append(families[i].samples, sample{labels, value, ms})
	}
	if c := sum.Node.CPU; c != nil && c.UsageCoreNanoSeconds != nil {
		add(3, "", float64(*c.UsageCoreNanoSeconds)/1e9, c.Time.UnixMilli())
	}
	if m := sum.Node.Memory; m != nil && m.WorkingSetBytes != nil {
		add(4, "", float64(*m.WorkingSetBytes), m.Time.UnixMilli())
	}
	for _, p := range sum.Pods {
		pl := fmt.Sprintf(`namespace=%q,pod=%q`, p.PodRef.Namespace, p.PodRef.Name)
		if c := p.CPU; c != nil && c.UsageCoreNanoSeconds != nil {
			add(5, pl, float64(*c.UsageCoreNanoSeconds)/1e9, c.Time.UnixMilli())
		}
		if m := p.Memory; m != nil && m.WorkingSetBytes != nil {
			add(6, pl, float64(*m.WorkingSetBytes), m.Time.UnixMilli())
		}
		for _, c := range p.Containers {
			cl := fmt.Sprintf(`container=%q,%s`, c.Name, pl)
			if u := c.CPU; u != nil && u.UsageCoreNanoSeconds != nil {
				add(0, cl, float64(*u.UsageCoreNanoSeconds)/1e9, u.Time.UnixMilli())
			}
			if m := c.Memory; m != nil && m.WorkingSetBytes != nil {
				add(1, cl, float64(*m.WorkingSetBytes), m.Time.UnixMilli())
			}
			if !c.StartTime.IsZero() {
				add(2, cl, float64(c.StartTime.UnixNano())/1e9, 0)
			}
		}
	}
	for _, f := range families {
		writeMetricsHeader(w, f.name, f.help, f.kind)
		for _, s := range f.samples {
			name := f.name
			if s.labels != "" {
				name += "{" + s.labels + "}"
			}
			line := fmt.Sprintf("%s %s", name, strings.TrimSuffix(fmt.Sprintf("%.9f", s.value), ".000000000"))
			if s.ms != 0 {
				line += fmt.Sprintf(" %d", s.ms)
			}
			fmt.Fprintln(w, line)
		}
	}
	writeScrapeError(w, 0)
}
