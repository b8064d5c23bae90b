package deploybench

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
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
	for _, v := range []struct {
		name string
		dst  *int
	}{{"KEMUDI_BENCH_DEPLOYMENTS", &opts.Deployments}, {"KEMUDI_BENCH_REPLICAS", &opts.Replicas}} {
		if s := os.Getenv(v.name); s != "" {
			n, err := strconv.Atoi(s)
			if err != nil || n <= 0 {
				b.Fatalf("%s=%q: want a positive integer", v.name, s)
			}
			*v.dst = n
		}
	}
	opts.Server.Binary = os.Getenv("KEMUDI_BIN")
	opts.Server.TempRoot = os.Getenv("KEMUDI_BENCH_TMPDIR")
	opts.Progress = progress{}
	opts.ProfileDir = os.Getenv("KEMUDI_BENCH_PROFILE_DIR")
	if path := os.Getenv("KEMUDI_BENCH_SERVER_LOG"); path != "" {
		f, err := os.Create(path)
		if err != nil {
			b.Fatal(err)
		}
		defer f.Close()
		opts.Server.Output = f
	}
	if f, err := os.Create("/tmp/deploybench-server.log"); err == nil {
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

type progress struct{}

func (progress) Write(p []byte) (int, error) {
	fmt.Fprint(os.Stderr, string(p))
	return len(p), nil
}
