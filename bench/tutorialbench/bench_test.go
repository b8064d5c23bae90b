package tutorialbench

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/kemudi/kemudi/bench/harness"
	"github.com/kemudi/kemudi/internal/testimages"
)

func BenchmarkTutorial(b *testing.B) {
	if os.Geteuid() != 0 {
		b.Skip("needs root: a node in a network namespace")
	}
	if _, err := exec.LookPath("mmdebstrap"); err != nil {
		b.Skip("the Python base image needs mmdebstrap")
	}
	rounds := 3
	if err := harness.EnvInts(map[string]*int{"KEMUDI_BENCH_ROUNDS": &rounds}); err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	base, err := testimages.PythonFlaskBase(ctx)
	if err != nil {
		b.Fatal(err)
	}
	bin := kemudiBinary(b)
	loadBefore := harness.LoadAvg()
	n, err := StartNode(ctx, bin)
	if err != nil {
		b.Fatal(err)
	}
	defer n.Close()
	r, err := Run(ctx, n, filepath.Join("..", "..", "test", "e2e", "testdata", "tutorial", "alifah-Flask"), base, rounds)
	if err != nil {
		b.Fatal(err)
	}
	Print(os.Stdout, loadBefore, harness.LoadAvg(), r)
	b.ReportMetric(r.Uncached.Total.Seconds(), "uncached-s")
	b.ReportMetric(r.Cached.Total.Seconds(), "cached-s")
	b.ReportMetric(float64(median(r.Cold).Milliseconds()), "cold-create-to-200-ms")
	b.ReportMetric(float64(median(r.Warm).Milliseconds()), "warm-create-to-200-ms")
}

// kemudiBinary is $KEMUDI_BIN or one built now, with a supervisor
// beside it when none is embedded.
func kemudiBinary(b *testing.B) string {
	return harness.BinaryWithSupervisor(b)
}

func TestMain(m *testing.M) {
	code := m.Run()
	harness.CleanupSharedBinary()
	os.Exit(code)
}
