package schedbench

import (
	"context"
	"strings"
	"testing"
)

// BenchmarkScheduling is the scheduler benchmark (see the package
// documentation), one sub-benchmark per workload: run it with
// -benchtime 1x and -v, as `make bench` does. It reports; it asserts
// only that every pod was bound exactly once.
func BenchmarkScheduling(b *testing.B) {
	for _, workload := range []string{Basic, AntiAffinity} {
		b.Run(workload, func(b *testing.B) {
			opts, err := FromEnv()
			if err != nil {
				b.Fatal(err)
			}
			opts.Workload = workload
			var res *Result
			for range b.N {
				if res, err = Run(context.Background(), opts); err != nil {
					b.Fatal(err)
				}
			}
			var table strings.Builder
			res.Print(&table)
			b.Log("\n" + table.String())
			if res.Bound != res.Pods || res.Rebound > 0 || res.Failed > 0 {
				b.Errorf("%d of %d pods bound, %d rebound, %d creates failed", res.Bound, res.Pods, res.Rebound, res.Failed)
			}
			b.ReportMetric(0, "ns/op")
			b.ReportMetric(res.PodsPerSec, "pods/s")
			b.ReportMetric(float64(res.CreateToBound.P50.Milliseconds()), "p50-ms")
			b.ReportMetric(float64(res.CreateToBound.P99.Milliseconds()), "p99-ms")
		})
	}
}
