package endpointsbench

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/kemudi/kemudi/bench/harness"
)

// BenchmarkEndpoints runs the endpoints benchmark (see the package
// documentation): use -benchtime 1x and -v, as `make bench` does.
// KEMUDI_BENCH_ENDPOINT_PODS and KEMUDI_BENCH_FLIPS size it. It asserts
// that every flip was seen, and reports the latencies beside the target.
func BenchmarkEndpoints(b *testing.B) {
	var opts Options
	if err := harness.EnvInts(map[string]*int{"KEMUDI_BENCH_ENDPOINT_PODS": &opts.Pods, "KEMUDI_BENCH_FLIPS": &opts.Flips}); err != nil {
		b.Fatal(err)
	}
	opts.Server.TempRoot = os.Getenv("KEMUDI_BENCH_TMPDIR")
	opts.Progress = os.Stderr
	var res *Result
	var err error
	for range b.N {
		if res, err = Run(context.Background(), opts); err != nil {
			b.Fatal(err)
		}
	}
	var table strings.Builder
	res.Print(&table)
	b.Log("\n" + table.String())
	if res.Missed > 0 {
		b.Errorf("%d of %d flips never reached the endpoints", res.Missed, res.Flips)
	}
	b.ReportMetric(0, "ns/op")
	b.ReportMetric(float64(res.ReadyToEndpoints.Max.Milliseconds()), "max-ms")
	b.ReportMetric(float64(res.ReadyToEndpoints.P50.Milliseconds()), "p50-ms")
	b.ReportMetric(res.Converge.Seconds(), "converge-s")
}
