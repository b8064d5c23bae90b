package lbbench

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/kemudi/kemudi/bench/harness"
)

// BenchmarkLoadBalancers runs the load-balancer benchmark (see the
// package documentation): use -benchtime 1x and -v, as `make bench`
// does. KEMUDI_BENCH_LB_SERVICES sizes it. It fails when a service got
// no address or its address carried no traffic.
func BenchmarkLoadBalancers(b *testing.B) {
	if os.Geteuid() != 0 {
		b.Skip("needs root: a network namespace")
	}
	var opts Options
	if err := harness.EnvInts(map[string]*int{"KEMUDI_BENCH_LB_SERVICES": &opts.Services}); err != nil {
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
	if res.Answered < res.Services {
		b.Errorf("%d of %d services answered through their address", res.Answered, res.Services)
	}
	b.ReportMetric(0, "ns/op")
	b.ReportMetric(float64(res.CreateToIngress.P99.Milliseconds()), "p99-ms")
	b.ReportMetric(float64(res.LastCreateToAll.Milliseconds()), "last-create-to-all-ms")
	b.ReportMetric(res.ControllerCPU.Seconds(), "ccm-cpu-s")
}
