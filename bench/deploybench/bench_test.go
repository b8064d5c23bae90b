package deploybench

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/kemudi/kemudi/bench/harness"
)

// BenchmarkDeployments runs the deployment benchmark (see the package
// documentation): use -benchtime 1x and -v, as `make bench` does.
// KEMUDI_BENCH_DEPLOYMENTS and KEMUDI_BENCH_REPLICAS size it;
// KEMUDI_BENCH_SERVER_LOG names a file for the server's log, and
// KEMUDI_BENCH_PROFILE_DIR a directory for the server's CPU profiles of
// the first 8 s of each phase. It fails
// if the controllers created more (or fewer) pods than needed, or a
// Deployment went past its surge or below its availability.
func BenchmarkDeployments(b *testing.B) {
	var opts Options
	if err := harness.EnvInts(map[string]*int{"KEMUDI_BENCH_DEPLOYMENTS": &opts.Deployments, "KEMUDI_BENCH_REPLICAS": &opts.Replicas}); err != nil {
		b.Fatal(err)
	}
	opts.Server.TempRoot = os.Getenv("KEMUDI_BENCH_TMPDIR")
	opts.Progress = os.Stderr
	opts.ProfileDir = os.Getenv("KEMUDI_BENCH_PROFILE_DIR")
	if path := os.Getenv("KEMUDI_BENCH_SERVER_LOG"); path != "" {
		f, err := os.Create(path)
		if err != nil {
			b.Fatal(err)
		}
		defer f.Close()
		opts.Server.Output = f
	}
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
	for _, p := range res.Phases[:2] {
		if p.Created != p.Pods {
			b.Errorf("%s: %d pods created for %d", p.Name, p.Created, p.Pods)
		}
	}
	if res.MostPods > res.AllowedPods {
		b.Errorf("a deployment had %d pods at once, more than %d", res.MostPods, res.AllowedPods)
	}
	if res.FewestAvailable >= 0 && res.FewestAvailable < res.AllowedAvailable {
		b.Errorf("a deployment had %d pods available during its update, fewer than %d", res.FewestAvailable, res.AllowedAvailable)
	}
	for _, p := range res.Phases {
		b.ReportMetric(float64(p.Pods)/p.Took.Seconds(), strings.ReplaceAll(p.Name, " ", "-")+"-pods/s")
	}
	b.ReportMetric(0, "ns/op")
}
