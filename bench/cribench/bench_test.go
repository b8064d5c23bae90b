package cribench

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kemudi/kemudi/bench/harness"
	"github.com/kemudi/kemudi/internal/kubelet/kubelettest"
)

// BenchmarkCRI measures kemudi runtime and containerd in the same run,
// through the same client, and prints them side by side.
func BenchmarkCRI(b *testing.B) {
	// 15 s of rest: kemudi's runtime gives a burst's pages back once it
	// has been quiet for one of its 5 s looks (exepages.TrimWhenIdle).
	o, settleSec := Options{Alone: 5, Pods: 30}, 15
	if err := harness.EnvInts(map[string]*int{"KEMUDI_BENCH_ALONE": &o.Alone, "KEMUDI_BENCH_PODS": &o.Pods, "KEMUDI_BENCH_SETTLE": &settleSec}); err != nil {
		b.Fatal(err)
	}
	o.Settle = time.Duration(settleSec) * time.Second
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	loadBefore := harness.LoadAvg()
	var results []Result
	names := []string{"kemudi", "containerd"}
	if only := os.Getenv("KEMUDI_BENCH_ONLY"); only != "" {
		names = []string{only} // one runtime, for a profile
	}
	for _, name := range names {
		var rt *kubelettest.Runtime
		if name == "kemudi" {
			rt = kubelettest.StartKemudi(b, kemudiBinary(b))
		} else {
			rt = kubelettest.StartContainerd(b)
		}
		t := Target{
			Name: name, Endpoint: rt.Endpoint, Image: rt.Images["busybox"],
			CgroupRoot: rt.CgroupRoot, LogDir: filepath.Join(rt.Dir, "logs"),
			Processes: func() []int { return harness.ProcessesMentioning(rt.Dir) },
		}
		if name == "containerd" {
			t.Prepull = []string{rt.Images["pause"]}
		}
		r, err := Run(ctx, t, o)
		if err != nil {
			b.Fatal(err)
		}
		results = append(results, r)
		if name == "kemudi" && os.Getenv("KEMUDI_SUPERVISOR_CPUPROFILE") != "" {
			stopKeeper(b, rt.Dir) // the supervisor writes its profile as it stops
		}
	}
	Print(os.Stdout, loadBefore, harness.LoadAvg(), results...)
	for _, r := range results {
		if r.Name == "kemudi" {
			b.ReportMetric(float64(r.P99.Microseconds())/1000, "kemudi-p99-ms")
			b.ReportMetric(float64(r.PodToRunning.Microseconds())/1000, "kemudi-1pod-ms")
		}
	}
}

// stopKeeper asks kemudi's keeper (under dir) to stop, which stops the
// supervisor gracefully, and waits for both to be gone.
func stopKeeper(b *testing.B, dir string) {
	for _, pid := range harness.ProcessesMentioning(dir) {
		cmd, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
		if strings.Contains(string(cmd), "\x00keeper\x00") {
			_ = syscall.Kill(pid, syscall.SIGTERM)
		}
	}
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		alive := false
		for _, pid := range harness.ProcessesMentioning(dir) {
			cmd, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
			if strings.Contains(string(cmd), "kemudi-supervisor") {
				alive = true
			}
		}
		if !alive {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	b.Logf("the supervisor did not stop within 15s: no profile")
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
