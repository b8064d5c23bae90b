package apibench

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"k8s.io/client-go/rest"

	"github.com/kemudi/kemudi/bench/harness"
)

// serverCounters are the server's cumulative CPU time and Go heap
// allocations at one moment. Differences between two readings measure a
// phase in figures that other load on the machine does not change (CPU
// time barely; allocations not at all), unlike rates and latencies.
type serverCounters struct {
	CPU         time.Duration
	Mallocs     uint64 // go_memstats_mallocs_total
	AllocBytes  uint64 // go_memstats_alloc_bytes_total
	HeapInuse   uint64 // go_memstats_heap_inuse_bytes
	metricsRead bool
}

// phaseCost is what the server spent on one phase of a run.
type phaseCost struct {
	CPU        time.Duration
	Mallocs    uint64
	AllocBytes uint64
}

func (p phaseCost) String() string {
	return fmt.Sprintf("server cpu %.2fs, %.2fM allocs, %.0f MiB allocated", p.CPU.Seconds(), float64(p.Mallocs)/1e6, harness.MiB(p.AllocBytes))
}

// perObject divides the phase's cost by n objects.
func (p phaseCost) perObject(n int) string {
	if n <= 0 {
		return ""
	}
	return fmt.Sprintf("%.0f µs cpu, %.0f allocs, %.1f KiB per object",
		float64(p.CPU.Microseconds())/float64(n), float64(p.Mallocs)/float64(n), float64(p.AllocBytes)/1024/float64(n))
}

func (c serverCounters) since(before serverCounters) phaseCost {
	return phaseCost{CPU: c.CPU - before.CPU, Mallocs: c.Mallocs - before.Mallocs, AllocBytes: c.AllocBytes - before.AllocBytes}
}

// readCounters reads the server's CPU time from /proc and its allocation
// counters from its /metrics (zero when unreadable).
func readCounters(ctx context.Context, srv *harness.Server) serverCounters {
	var c serverCounters
	c.CPU, _ = harness.CPUTime(srv.PID)
	body, err := getServer(ctx, srv.Config, srv.URL+"/metrics")
	if err != nil {
		return c
	}
	vals := parseMetrics(body, "go_memstats_mallocs_total", "go_memstats_alloc_bytes_total", "go_memstats_heap_inuse_bytes")
	c.Mallocs, c.AllocBytes, c.HeapInuse = vals[0], vals[1], vals[2]
	c.metricsRead = true
	return c
}

// parseMetrics reads unlabelled samples from the Prometheus text format.
func parseMetrics(body []byte, names ...string) []uint64 {
	out := make([]uint64, len(names))
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		name, value, ok := strings.Cut(sc.Text(), " ")
		if !ok {
			continue
		}
		for i, n := range names {
			if name == n {
				f, err := strconv.ParseFloat(strings.TrimSpace(value), 64)
				if err == nil {
					out[i] = uint64(f)
				}
			}
		}
	}
	return out
}

// getServer GETs url with the admin credentials.
func getServer(ctx context.Context, cfg *rest.Config, url string) ([]byte, error) {
	cfg = rest.CopyConfig(cfg)
	cfg.Timeout = 30 * time.Second
	hc, err := rest.HTTPClientFor(cfg)
	if err != nil {
		return nil, err
	}
	defer hc.CloseIdleConnections()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return body, nil
}
