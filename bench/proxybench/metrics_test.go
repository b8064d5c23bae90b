package proxybench

import (
	"context"
	"fmt"
	"math"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/kemudi/kemudi/bench/harness"
	"github.com/kemudi/kemudi/internal/netnsrun"
)

// proxyMetrics reads the metrics a proxy serves at addr inside the
// namespace at nsPath.
func proxyMetrics(b *testing.B, nsPath, addr string) map[string]*dto.MetricFamily {
	mfs, err := readMetrics(nsPath, addr)
	if err != nil {
		b.Fatalf("proxy metrics: %v", err)
	}
	return mfs
}

func readMetrics(nsPath, addr string) (map[string]*dto.MetricFamily, error) {
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			var c net.Conn
			err := netnsrun.Run(nsPath, func() error {
				var err error
				c, err = (&net.Dialer{}).DialContext(ctx, network, addr)
				return err
			})
			return c, err
		}}}
	resp, err := client.Get("http://" + addr + "/metrics")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	p := expfmt.NewTextParser(model.UTF8Validation)
	return p.TextToMetricFamilies(resp.Body)
}

// histogram is histogram name's IPv4 series (kube-proxy's carry an
// ip_family label; kemudi's have one series).
func histogram(mfs map[string]*dto.MetricFamily, name string) *dto.Histogram {
	mf := mfs[name]
	if mf == nil || len(mf.GetMetric()) == 0 {
		return &dto.Histogram{}
	}
	for _, m := range mf.GetMetric() {
		for _, l := range m.GetLabel() {
			if l.GetName() == "ip_family" && l.GetValue() == "IPv4" {
				return m.GetHistogram()
			}
		}
	}
	return mf.GetMetric()[0].GetHistogram()
}

// histogramSince is histogram name's observations between two scrapes:
// the changes', without the first full sync's.
func histogramSince(before, after map[string]*dto.MetricFamily, name string) *dto.Histogram {
	b, a := histogram(before, name), histogram(after, name)
	count := a.GetSampleCount() - b.GetSampleCount()
	h := &dto.Histogram{SampleCount: &count}
	for i, bk := range a.GetBucket() {
		n := bk.GetCumulativeCount()
		if i < len(b.GetBucket()) {
			n -= b.GetBucket()[i].GetCumulativeCount()
		}
		h.Bucket = append(h.Bucket, &dto.Bucket{UpperBound: bk.UpperBound, CumulativeCount: &n})
	}
	return h
}

// bucketQuantile is the upper bound of the histogram's bucket holding
// quantile q (the histogram's resolution).
func bucketQuantile(h *dto.Histogram, q float64) time.Duration {
	if h == nil || h.GetSampleCount() == 0 {
		return 0
	}
	want := uint64(q * float64(h.GetSampleCount()))
	for _, bk := range h.GetBucket() {
		if bk.GetCumulativeCount() >= want {
			return time.Duration(bk.GetUpperBound() * float64(time.Second))
		}
	}
	return time.Duration(math.MaxInt64)
}

// cpuTime is the process's user + system time, with that of the children
// it has waited for (kube-proxy's nft runs), in clock ticks of 10 ms.
func cpuTime(b *testing.B, pid int) time.Duration {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		b.Fatal(err)
	}
	// Fields after the command name, from the state (field 3): utime,
	// stime, cutime and cstime are fields 14 to 17.
	f := strings.Fields(string(data[strings.LastIndexByte(string(data), ')')+2:]))
	var ticks int64
	for _, s := range f[11:15] {
		t, _ := strconv.ParseInt(s, 10, 64)
		ticks += t
	}
	return time.Duration(ticks) * 10 * time.Millisecond
}

// memory is the process's resident and peak resident bytes.
func memory(b *testing.B, pid int) (rss, hwm uint64) {
	m, err := harness.ReadMemory(pid)
	if err != nil {
		b.Fatal(err)
	}
	return m.RSS, m.Peak
}

// childPeak samples the peak RSS of pid's children (kube-proxy's nft
// runs, which its own RSS leaves out) every 20 ms until stopped. A child
// not yet past exec shares its parent's memory and is left out.
type childPeak struct {
	mu   sync.Mutex
	peak uint64
	comm string // the command of the child at the peak
	stop chan struct{}
	done chan struct{}
}

func sampleChildren(pid int) *childPeak {
	c := &childPeak{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(c.done)
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		for {
			parent, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
			for _, child := range children(pid) {
				comm, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", child))
				if err != nil || string(comm) == string(parent) {
					continue
				}
				if m, err := harness.ReadMemory(child); err == nil {
					c.mu.Lock()
					if m.Peak > c.peak {
						c.peak, c.comm = m.Peak, strings.TrimSpace(string(comm))
					}
					c.mu.Unlock()
				}
			}
			select {
			case <-c.stop:
				return
			case <-t.C:
			}
		}
	}()
	return c
}

// Peak stops the sampling and returns the highest peak seen, and the
// command of that child.
func (c *childPeak) Peak() (uint64, string) {
	select {
	case <-c.stop:
	default:
		close(c.stop)
	}
	<-c.done
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.peak, c.comm
}

// children lists pid's child processes (of all its threads).
func children(pid int) []int {
	files, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", pid))
	var out []int
	for _, f := range files {
		data, _ := os.ReadFile(f)
		for _, s := range strings.Fields(string(data)) {
			if c, err := strconv.Atoi(s); err == nil {
				out = append(out, c)
			}
		}
	}
	return out
}
