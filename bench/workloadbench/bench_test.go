package workloadbench

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/kemudi/kemudi/bench/harness"
)

// BenchmarkWorkloads runs the workload benchmark (see the package
// documentation): use -benchtime 1x and -v, as `make bench` does.
// KEMUDI_BENCH_WORKLOAD_NODES, _REPLICAS and _COMPLETIONS size it. It
// fails if a controller created more (or fewer) pods than needed.
func BenchmarkWorkloads(b *testing.B) {
	var opts Options
	if err := harness.EnvInts(map[string]*int{
		"KEMUDI_BENCH_WORKLOAD_NODES":       &opts.Nodes,
		"KEMUDI_BENCH_WORKLOAD_REPLICAS":    &opts.Replicas,
		"KEMUDI_BENCH_WORKLOAD_COMPLETIONS": &opts.Completions,
	}); err != nil {
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
	for _, p := range res.Phases {
		if p.Created != p.Pods {
			b.Errorf("%s: %d pods created for %d", p.Name, p.Created, p.Pods)
		}
		b.ReportMetric(float64(p.Pods)/p.Took.Seconds(), strings.ReplaceAll(p.Name, " ", "-")+"-pods/s")
	}
	b.ReportMetric(0, "ns/op")
}
