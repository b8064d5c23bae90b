package buildbench

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kemudi/kemudi/bench/harness"
	"github.com/kemudi/kemudi/internal/kubelet/kubelettest"
	"github.com/kemudi/kemudi/internal/testimages"
)

const tutorialDir = "../../test/e2e/testdata/tutorial/alifah-Flask"

func BenchmarkImageBuild(b *testing.B) {
	n := 5
	if err := harness.EnvInts(map[string]*int{"KEMUDI_BENCH_BUILDS": &n}); err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	bin := kemudiBinary(b)
	base, err := testimages.PythonFlaskBase(ctx)
	if err != nil {
		b.Skipf("no Python base image: %v", err)
	}
	rt := kubelettest.StartKemudi(b, bin)
	kemudi := func(args ...string) (time.Duration, string) {
		b.Helper()
		start := time.Now()
		out, err := exec.CommandContext(ctx, bin, append([]string{"image", "--runtime-endpoint", rt.Endpoint}, args...)...).CombinedOutput()
		if err != nil {
			b.Fatalf("kemudi image %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return time.Since(start), string(out)
	}
	kemudi("import", base)
	build := []string{"build", "-t", "127.0.0.1:5000/alifah/python-flask:1", tutorialDir}
	kemudi(build...) // the first build fills the cache
	loadBefore := harness.LoadAvg()
	var uncached, cached []time.Duration
	for range n {
		d, _ := kemudi(append([]string{build[0], "--no-cache"}, build[1:]...)...)
		uncached = append(uncached, d)
		d, out := kemudi(build...)
		if strings.Count(out, "CACHED") != 5 {
			b.Fatalf("a rebuild is not all cache:\n%s", out)
		}
		cached = append(cached, d)
	}
	loadAfter := harness.LoadAvg()
	for b.Loop() {
	}
	med, mx := stats(uncached)
	cmed, cmx := stats(cached)
	fmt.Printf("\nkemudi image build of the tutorial folder, %d builds each (load before %s, after %s)\n", n, loadBefore, loadAfter)
	fmt.Printf("%-10s %10s %10s\n", "", "median", "max")
	fmt.Printf("%-10s %10s %10s\n", "uncached", med.Round(time.Millisecond), mx.Round(time.Millisecond))
	fmt.Printf("%-10s %10s %10s\n", "cached", cmed.Round(time.Millisecond), cmx.Round(time.Millisecond))
	b.ReportMetric(med.Seconds(), "uncached-s")
	b.ReportMetric(float64(cmed.Milliseconds()), "cached-ms")
}

func stats(ds []time.Duration) (median, max time.Duration) {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2], s[len(s)-1]
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
