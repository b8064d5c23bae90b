package supervisorbench

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kemudi/kemudi/bench/harness"
	"github.com/kemudi/kemudi/internal/cri/supervisor"
	"github.com/kemudi/kemudi/internal/cri/supervisor/supervisortest"
)

func BenchmarkCreateStart(b *testing.B) {
	n, root, rootfs, cgParent, c := setup(b, 20)
	ctx := context.Background()
	pids := processes(b, root)
	idle := memory(b, pids)
	for _, pid := range pids {
		m := memory(b, []int{pid})
		cmd, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		b.Logf("idle %q: RSS %d KiB, PSS %d KiB", strings.ReplaceAll(string(cmd), "\x00", " "), m.rss, m.pss)
	}

	var inits []int
	run := func(id string) {
		spec := supervisortest.Spec(rootfs, cgParent+"/"+id, "sleep", "100000")
		if _, err := c.Create(ctx, supervisor.ContainerSpec{ID: id, Spec: spec}); err != nil {
			b.Fatal(err)
		}
		st, err := c.Start(ctx, id)
		if err != nil {
			b.Fatal(err)
		}
		inits = append(inits, st.Pid)
	}
	var lat []time.Duration
	cpu0 := cpuTime(b, pids)
	b.ResetTimer()
	for i := range b.N {
		t0 := time.Now()
		run(fmt.Sprintf("b%d", i))
		lat = append(lat, time.Since(t0))
	}
	b.StopTimer()
	// The container's init ran runc init (Go) before it became `sleep`:
	// its CPU counts too.
	cpu := (cpuTime(b, pids) - cpu0 + cpuTime(b, inits)) / time.Duration(b.N)
	for i := b.N; i < n; i++ {
		run(fmt.Sprintf("b%d", i))
	}
	running := max(n, b.N)
	busy := memory(b, pids)
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(cpu.Microseconds())/1000, "cpu-ms/container")
	b.ReportMetric(float64(idle.rss)/1024, "idle-RSS-MiB")
	b.ReportMetric(float64(idle.pss)/1024, "idle-PSS-MiB")
	b.ReportMetric(float64(busy.rss-idle.rss)/float64(running), "KiB-RSS/container")
	b.ReportMetric(float64(busy.pss-idle.pss)/float64(running), "KiB-PSS/container")
	b.Logf("CPU per create+start (supervisor, runc init's stages, the init before its exec): %v", cpu)
	b.Logf("create+start p50 %v max %v over %d; keeper+supervisor RSS %d KiB idle, %d KiB with %d containers (PSS %d, %d)",
		lat[len(lat)/2], lat[len(lat)-1], len(lat), idle.rss, busy.rss, running, idle.pss, busy.pss)
}

// processes returns the pids of the keeper and the supervisor.
func processes(b *testing.B, root string) []int {
	var out []int
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		cmd, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		if err != nil {
			continue
		}
		args := strings.Split(string(cmd), "\x00")
		if len(args) >= 4 && (args[1] == "keeper" || args[1] == "serve") && args[3] == root {
			out = append(out, pid)
		}
	}
	if len(out) != 2 {
		b.Fatalf("found %d supervisor processes, want keeper and supervisor", len(out))
	}
	return out
}

// cpuTime is the CPU the processes used, with their reaped children's
// (runc init's first stages).
func cpuTime(b *testing.B, pids []int) time.Duration {
	var ticks int64
	for _, pid := range pids {
		data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			b.Fatal(err)
		}
		f := strings.Fields(string(data[strings.LastIndexByte(string(data), ')')+2:]))
		for _, i := range []int{11, 12, 13, 14} { // utime stime cutime cstime (fields 14-17)
			v, _ := strconv.ParseInt(f[i], 10, 64)
			ticks += v
		}
	}
	return time.Duration(ticks) * 10 * time.Millisecond // USER_HZ 100
}

type mem struct{ rss, pss int64 } // KiB

func memory(b *testing.B, pids []int) mem {
	var m mem
	for _, pid := range pids {
		data, err := os.ReadFile(fmt.Sprintf("/proc/%d/smaps_rollup", pid))
		if err != nil {
			b.Fatal(err)
		}
		for _, line := range strings.Split(string(data), "\n") {
			f := strings.Fields(line)
			if len(f) < 2 {
				continue
			}
			v, _ := strconv.ParseInt(f[1], 10, 64)
			switch f[0] {
			case "Rss:":
				m.rss += v
			case "Pss:":
				m.pss += v
			}
		}
	}
	return m
}

func cleanup(c *supervisor.Client) {
	removeAll(c)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c.Shutdown(ctx)
	c.Close()
}

// removeAll kills and deletes every container.
func removeAll(c *supervisor.Client) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	states, _ := c.List(ctx)
	for _, st := range states {
		c.Signal(ctx, st.ID, syscall.SIGKILL)
	}
	for _, st := range states {
		for {
			s, err := c.State(ctx, st.ID)
			if err != nil || s.Status == supervisor.Exited || ctx.Err() != nil {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		c.Delete(ctx, st.ID)
	}
}

// BenchmarkCreateStartParallel starts KEMUDI_BENCH_CONTAINERS (default 30)
// containers at once, each Create then Start, and reports the latencies
// and the wall time until all run.
func BenchmarkCreateStartParallel(b *testing.B) {
	n, _, rootfs, cgParent, c := setup(b, 30)
	ctx := context.Background()
	var all []time.Duration
	var wall time.Duration
	for round := range b.N {
		lat := make([]time.Duration, n)
		errs := make(chan error, n)
		t0 := time.Now()
		for i := range n {
			go func() {
				id := fmt.Sprintf("p%d-%d", round, i)
				spec := supervisortest.Spec(rootfs, cgParent+"/"+id, "sleep", "100000")
				s := time.Now()
				_, err := c.Create(ctx, supervisor.ContainerSpec{ID: id, Spec: spec})
				if err == nil {
					_, err = c.Start(ctx, id)
				}
				lat[i] = time.Since(s)
				errs <- err
			}()
		}
		for range n {
			if err := <-errs; err != nil {
				b.Error(err)
			}
		}
		wall += time.Since(t0)
		all = append(all, lat...)
		b.StopTimer()
		removeAll(c)
		b.StartTimer()
	}
	slices.Sort(all)
	p := func(q float64) time.Duration { return all[int(q*float64(len(all)-1))] }
	b.ReportMetric(float64(p(0.5).Milliseconds()), "p50-ms")
	b.ReportMetric(float64(p(0.99).Milliseconds()), "p99-ms")
	b.ReportMetric(float64((wall / time.Duration(b.N)).Milliseconds()), "all-running-ms")
	b.Logf("%d containers at once: p50 %v p99 %v, all running after %v", n, p(0.5), p(0.99), wall/time.Duration(b.N))
}

// setup starts a supervisor of its own for a benchmark (removed, with its
// containers and cgroups, at the end) and returns how many containers to
// run (KEMUDI_BENCH_CONTAINERS, else n), its root, a busybox rootfs and
// the cgroup parent. KEMUDI_BENCH_SUPERVISOR_LOG keeps its log.
func setup(b *testing.B, n int) (int, string, string, string, *supervisor.Client) {
	if os.Geteuid() != 0 {
		b.Skip("needs root: runs real containers")
	}
	if err := harness.EnvInts(map[string]*int{"KEMUDI_BENCH_CONTAINERS": &n}); err != nil {
		b.Fatal(err)
	}
	dir := b.TempDir()
	root := filepath.Join(dir, "sup")
	rootfs := supervisortest.BusyboxRootfs(b, dir)
	cgParent := fmt.Sprintf("/kemudi-bench-%d", os.Getpid())
	c, err := supervisor.Connect(context.Background(), supervisor.Options{Root: root, Binary: supervisortest.Binary(b), Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		if p := os.Getenv("KEMUDI_BENCH_SUPERVISOR_LOG"); p != "" {
			data, _ := os.ReadFile(filepath.Join(root, "supervisor.log"))
			os.WriteFile(p, data, 0o644)
		}
		cleanup(c)
		supervisortest.RemoveCgroupTree(cgParent)
	})
	return n, root, rootfs, cgParent, c
}

// BenchmarkExecSync times ExecSync of `true` in a running container, the
// runtime's part of `kubectl exec POD -- true`: p50, p99 and the CPU of
// the supervisor and the exec'd process's init per exec.
func BenchmarkExecSync(b *testing.B) {
	_, root, rootfs, cgParent, c := setup(b, 0)
	ctx := context.Background()
	spec := supervisortest.Spec(rootfs, cgParent+"/x", "sleep", "100000")
	if _, err := c.Create(ctx, supervisor.ContainerSpec{ID: "x", Spec: spec}); err != nil {
		b.Fatal(err)
	}
	if _, err := c.Start(ctx, "x"); err != nil {
		b.Fatal(err)
	}
	pids := processes(b, root)
	var lat []time.Duration
	cpu0 := cpuTime(b, pids)
	b.ResetTimer()
	for range b.N {
		t0 := time.Now()
		res, err := c.ExecSync(ctx, "x", []string{"true"}, 10*time.Second)
		if err != nil || res.ExitCode != 0 {
			b.Fatalf("exec true: %v (exit %d)", err, res.ExitCode)
		}
		lat = append(lat, time.Since(t0))
	}
	b.StopTimer()
	cpu := (cpuTime(b, pids) - cpu0) / time.Duration(b.N)
	slices.Sort(lat)
	p := func(q int) time.Duration { return lat[min(len(lat)-1, len(lat)*q/100)] }
	b.ReportMetric(float64(p(50).Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(p(99).Microseconds())/1000, "p99-ms")
	b.ReportMetric(float64(cpu.Microseconds())/1000, "cpu-ms/exec")
	b.Logf("exec p50 %v p90 %v p99 %v max %v over %d; CPU per exec (supervisor and the exec's init) %v", p(50), p(90), p(99), lat[len(lat)-1], len(lat), cpu)
}
