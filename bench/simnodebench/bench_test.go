package simnodebench

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kemudi/kemudi/bench/harness"
)

// BenchmarkSimNodes runs the sim-nodes benchmark (see the package
// documentation) once per iteration: use -benchtime 1x and -v, as `make
// bench` does. KEMUDI_BENCH_NODES, KEMUDI_BENCH_PODS and
// KEMUDI_BENCH_IDLE (a duration) shrink it for a quick run. It reports,
// it does not assert speed.
func BenchmarkSimNodes(b *testing.B) {
	opts, err := fromEnv()
	if err != nil {
		b.Fatal(err)
	}
	opts.Server.Binary = kemudiBinary(b)
	opts.Progress = progressLog{b}
	var res *Result
	for range b.N {
		if res, err = Run(context.Background(), opts); err != nil {
			b.Fatal(err)
		}
	}
	var table strings.Builder
	res.Print(&table)
	b.Log("\n" + table.String())
	if res.Failed > 0 || res.Ready < res.Created {
		b.Errorf("%d creates failed, %d of %d pods never Ready", res.Failed, res.Created-res.Ready, res.Created)
	}
	b.ReportMetric(0, "ns/op")
	b.ReportMetric(res.Register.Seconds(), "register-s")
	b.ReportMetric(res.Idle.Cores(res.Idle.Sim), "idle-sim-cores")
	b.ReportMetric(res.Idle.Cores(res.Idle.Server), "idle-server-cores")
	b.ReportMetric(harness.MiB(res.SimMemIdle.RSS), "idle-sim-MiB")
	b.ReportMetric(res.PodsPhase.Cores(res.PodsPhase.Sim), "pods-sim-cores")
	b.ReportMetric(harness.MiB(res.SimMemAfter.Peak), "peak-sim-MiB")
	b.ReportMetric(res.RunningPerSec, "running/s")
}

type progressLog struct{ b *testing.B }

func (p progressLog) Write(s []byte) (int, error) {
	fmt.Fprint(os.Stderr, string(s))
	return len(s), nil
}

// fromEnv reads KEMUDI_BENCH_NODES, KEMUDI_BENCH_PODS, KEMUDI_BENCH_IDLE
// and KEMUDI_BENCH_TMPDIR.
func fromEnv() (Options, error) {
	var o Options
	for _, v := range []struct {
		name string
		dst  *int
	}{{"KEMUDI_BENCH_NODES", &o.Nodes}, {"KEMUDI_BENCH_PODS", &o.Pods}} {
		if s := os.Getenv(v.name); s != "" {
			n, err := strconv.Atoi(s)
			if err != nil || n <= 0 {
				return o, fmt.Errorf("%s=%q: want a positive integer", v.name, s)
			}
			*v.dst = n
		}
	}
	if s := os.Getenv("KEMUDI_BENCH_IDLE"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil || d <= 0 {
			return o, fmt.Errorf("KEMUDI_BENCH_IDLE=%q: want a positive duration", s)
		}
		o.Idle = d
	}
	o.Server.TempRoot = os.Getenv("KEMUDI_BENCH_TMPDIR")
	return o, nil
}

var (
	buildOnce sync.Once
	bin       string
	cleanBin  = func() {}
	buildErr  error
)

// kemudiBinary is $KEMUDI_BIN or one binary built for this test process.
func kemudiBinary(tb testing.TB) string {
	tb.Helper()
	buildOnce.Do(func() {
		bin, cleanBin, buildErr = harness.Binary(context.Background(), "")
	})
	if buildErr != nil {
		tb.Fatal(buildErr)
	}
	return bin
}

func TestMain(m *testing.M) {
	code := m.Run()
	cleanBin()
	os.Exit(code)
}
