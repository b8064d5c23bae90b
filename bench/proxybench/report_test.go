package proxybench

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
	"text/tabwriter"
	"time"

	dto "github.com/prometheus/client_model/go"
)

// result is what one proxy's run measured.
type result struct {
	name string
	// skipped says why the proxy did not run; unfinished why its run
	// stopped early (a deadline passed), with what it measured by then.
	skipped, unfinished string
	chains              int
	// fullSync is the proxy's own figure of its first full sync (kemudi's
	// log; kube-proxy's metric, the mean of fullSyncs syncs), and
	// fullSyncCPU kemudi's CPU in it.
	fullSync, fullSyncCPU time.Duration
	fullSyncs             int
	// firstRules is from the start of the process to its rules for all
	// services in the kernel, and cpuSync its CPU time by then.
	firstRules, cpuSync time.Duration
	// lat is API write → kernel; acked is the API's answer → kernel,
	// without the write itself (the API server and etcd commit it).
	lat, acked        []time.Duration
	changesWanted     int
	programmed, syncs *dto.Histogram
	cpuAll            time.Duration
	rss, hwm          uint64
	// childPeak is the peak RSS of the processes it ran (nft), sampled,
	// and childComm that process's command.
	childPeak uint64
	childComm string
}

func (r *result) pct(l []time.Duration, p float64) time.Duration {
	if len(l) == 0 {
		return 0
	}
	s := slices.Sorted(slices.Values(l))
	return s[min(len(s)-1, int(float64(len(s))*p))]
}

// printResults writes the results side by side, one column a proxy, with
// the targets for kemudi beside them.
func printResults(out io.Writer, n int, loadBefore, loadAfter string, rs []*result) {
	fmt.Fprintf(out, "proxy benchmark: %d services × %d endpoints; load %s before, %s after (2 shared cores: noisy)\n",
		n, endpointsPerService, loadBefore, loadAfter)
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	row := func(name string, f func(*result) string, target string) {
		cells := []string{name}
		for _, r := range rs {
			cell := "-"
			if r.skipped == "" {
				cell = f(r)
			}
			cells = append(cells, cell)
		}
		fmt.Fprintln(tw, strings.Join(append(cells, target), "\t")+"\t")
	}
	synced := func(f func(*result) string) func(*result) string {
		return func(r *result) string {
			if r.firstRules == 0 {
				return "-"
			}
			return f(r)
		}
	}
	changed := func(f func(*result) string) func(*result) string {
		return func(r *result) string {
			if len(r.lat) == 0 {
				return "-"
			}
			return f(r)
		}
	}
	row("", func(r *result) string { return r.name }, "target (kemudi)")
	row("chains in the namespace (ip family)", synced(func(r *result) string { return fmt.Sprint(r.chains) }), "")
	row("full sync, its own figure", synced(func(r *result) string {
		if r.fullSyncs > 1 {
			return fmt.Sprintf("%s (mean of %d)", ms(r.fullSync), r.fullSyncs)
		}
		return ms(r.fullSync)
	}), "≤ 2 s at 10,000")
	row("  its CPU", synced(func(r *result) string { return msOr(r.fullSyncCPU) }), "")
	row("start to all services in the kernel", synced(func(r *result) string { return ms(r.firstRules) }), "")
	row("  CPU by then (with children: nft)", func(r *result) string { return ms(r.cpuSync) }, "")
	row("endpoint change, API write → kernel: p50", changed(func(r *result) string { return ms(r.pct(r.lat, 0.5)) }), "")
	row("  p99", changed(func(r *result) string { return ms(r.pct(r.lat, 0.99)) }), "≤ 50 ms at 10,000")
	row("  max", changed(func(r *result) string { return ms(slices.Max(r.lat)) }), "")
	row("  changes measured", synced(func(r *result) string { return fmt.Sprintf("%d of %d", len(r.lat), r.changesWanted) }), "")
	row("  after the API's answer: p50 / p99", changed(func(r *result) string {
		return ms(r.pct(r.acked, 0.5)) + " / " + ms(r.pct(r.acked, 0.99))
	}), "")
	row("  in the proxy, event → kernel (metric): p50 / p99", changed(func(r *result) string {
		if r.programmed.GetSampleCount() == 0 {
			return "-"
		}
		return "≤ " + ms(bucketQuantile(r.programmed, 0.5)) + " / ≤ " + ms(bucketQuantile(r.programmed, 0.99))
	}), "")
	row("  its syncs: count, p50 / p99 (metric)", changed(func(r *result) string {
		return fmt.Sprintf("%d, ≤ %s / ≤ %s", r.syncs.GetSampleCount(), ms(bucketQuantile(r.syncs, 0.5)), ms(bucketQuantile(r.syncs, 0.99)))
	}), "")
	row("CPU in all (with children)", func(r *result) string { return msOr(r.cpuAll) }, "")
	row("RSS now / peak (MiB)", func(r *result) string {
		if r.hwm == 0 {
			return "-"
		}
		return fmt.Sprintf("%d / %d", r.rss>>20, r.hwm>>20)
	}, "")
	row("children's peak RSS, sampled (MiB)", func(r *result) string {
		if r.childPeak == 0 {
			return "-"
		}
		return fmt.Sprintf("%d (%s)", r.childPeak>>20, r.childComm)
	}, "")
	tw.Flush()
	for _, r := range rs {
		if r.skipped != "" {
			fmt.Fprintf(out, "%s: skipped: %s\n", r.name, r.skipped)
		}
		if r.unfinished != "" {
			fmt.Fprintf(out, "%s: stopped early: %s\n", r.name, r.unfinished)
		}
	}
}

// reportMetrics reports the run's headline figures to `go test -bench`,
// named by the proxy.
func (r *result) reportMetrics(b *testing.B) {
	if r.firstRules == 0 {
		return
	}
	name := strings.Fields(r.name)[0]
	b.ReportMetric(r.fullSync.Seconds(), name+"-fullsync-s")
	if r.fullSyncCPU > 0 {
		b.ReportMetric(r.fullSyncCPU.Seconds(), name+"-fullsync-cpu-s")
	}
	if len(r.lat) > 0 {
		b.ReportMetric(float64(r.pct(r.lat, 0.99).Microseconds())/1000, name+"-change-p99-ms")
	}
	b.ReportMetric(float64(r.hwm>>20), name+"-peak-rss-MiB")
}

func ms(d time.Duration) string {
	if d >= 10*time.Second {
		return fmt.Sprintf("%.1f s", d.Seconds())
	}
	return fmt.Sprintf("%.2f ms", float64(d.Microseconds())/1000)
}

func msOr(d time.Duration) string {
	if d == 0 {
		return "-"
	}
	return ms(d)
}
