package apibench

import (
	"context"
	"strings"
	"testing"

	"github.com/kemudi/kemudi/bench/harness"
)

// BenchmarkPodCreates is the API server benchmark (see the package
// documentation): run it with -benchtime 1x, as `make bench` does; each
// iteration starts its own server. KEMUDI_BENCH_PODS lowers the pod
// count for a quick run. Run it with -v: go test truncates a
// benchmark's log (its table) otherwise. It reports, it does not
// assert speed.
func BenchmarkPodCreates(b *testing.B) {
	for _, enc := range []string{"json", "protobuf"} {
		b.Run(enc, func(b *testing.B) {
			opts, err := FromEnv()
			if err != nil {
				b.Fatal(err)
			}
			opts.Protobuf = enc == "protobuf"
			opts.Server.Binary = kemudiBinary(b)
			var res *Result
			for range b.N {
				res, err = Run(context.Background(), opts)
				if err != nil {
					b.Fatal(err)
				}
			}
			var table strings.Builder
			res.Print(&table)
			b.Log("\n" + table.String())
			if res.Lost > 0 || res.Failed > 0 {
				b.Errorf("%d creates failed, %d events lost", res.Failed, res.Lost)
			}
			b.ReportMetric(0, "ns/op")
			b.ReportMetric(res.CreatesPerSec, "creates/s")
			b.ReportMetric(ms(res.Create.P50), "p50-ms")
			b.ReportMetric(ms(res.Create.P99), "p99-ms")
			b.ReportMetric(ms(res.Delivery.P99), "watch-p99-ms")
			b.ReportMetric(float64(res.Lost), "lost")
			b.ReportMetric(harness.MiB(res.MemIdle.RSS), "rss-idle-MiB")
			b.ReportMetric(harness.MiB(res.MemAfter.RSS), "rss-after-MiB")
			b.ReportMetric(harness.MiB(res.MemAfter.Peak), "rss-peak-MiB")
		})
	}
}
