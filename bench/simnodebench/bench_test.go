package simnodebench

import (
	"context"
	"fmt"
	"os"
	"strings"
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
	if opts.Server.Binary, err = harness.SharedBinary(); err != nil {
		b.Fatal(err)
	}
	opts.Progress = os.Stderr
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

// fromEnv reads KEMUDI_BENCH_NODES, KEMUDI_BENCH_PODS, KEMUDI_BENCH_IDLE
// and KEMUDI_BENCH_TMPDIR.
func fromEnv() (Options, error) {
	var o Options
	if err := harness.EnvInts(map[string]*int{"KEMUDI_BENCH_NODES": &o.Nodes, "KEMUDI_BENCH_PODS": &o.Pods}); err != nil {
		return o, err
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

func TestMain(m *testing.M) {
	code := m.Run()
	harness.CleanupSharedBinary()
	os.Exit(code)
}
