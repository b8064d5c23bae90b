package kubeletbench

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kemudi/kemudi/bench/harness"
)

// kubeletProc is the name rssByName gives upstream's kubelet; kemudi's
// runs in the benchmark's process, or in `kemudi agent` with the runtime.
const kubeletProc = "kubelet"

// kubeletWhere says where a peer's kubelet is when it is not a process of
// its own.
func kubeletWhere(by map[string]uint64) string {
	if _, ok := by[agentProc]; ok {
		return "(in the agent process)"
	}
	return "(in the bench process)"
}

// result is what measure took of one peer.
type result struct {
	title string
	err   string // why there are no figures
	pods  int
	// nodeReady is from the kubelet's start to the Node's Ready.
	nodeReady time.Duration
	lat       []time.Duration // each pod's create → Ready, sorted
	// RSS by process name with the warm pod (idle) and with all pods;
	// idleMem splits the idle one into anonymous memory and file pages.
	idleBy, busyBy map[string]uint64
	idleMem        map[string]harness.Memory
	// CPU by process name from creating the pods to all Ready, and this
	// process's (the control plane's and kemudi's kubelet's).
	startCPUBy map[string]time.Duration
	benchCPU   time.Duration
	// CPU by process name over idleWindow with all pods running.
	idleCPUBy  map[string]time.Duration
	idleWindow time.Duration
}

// noteFailure keeps why b, a peer's run, ended without figures.
func (r *result) noteFailure(b *testing.B) {
	switch {
	case r.err != "":
	case b.Failed():
		r.err = "failed: see " + b.Name() + "'s log above"
	case b.Skipped():
		r.err = "skipped: see " + b.Name() + "'s log above"
	}
}

func (r *result) pct(p int) time.Duration {
	if len(r.lat) == 0 {
		return 0
	}
	i := (len(r.lat)*p + 99) / 100
	return r.lat[max(0, min(len(r.lat)-1, i-1))]
}

// split sums by into the kubelet's share and the runtime's (the rest).
func split[T uint64 | time.Duration](by map[string]T) (kubelet, runtime T) {
	for name, v := range by {
		if name == kubeletProc {
			kubelet += v
		} else {
			runtime += v
		}
	}
	return kubelet, runtime
}

// row is one figure of every column.
type row struct {
	label string
	cell  func(r *result) string
}

func (r *result) rows() []row {
	mib := func(v uint64) string { return fmt.Sprintf("%.1f MiB", harness.MiB(v)) }
	perPod := func(idle, busy uint64) string {
		return fmt.Sprintf("%.2f MiB", (float64(busy)-float64(idle))/float64(r.pods)/(1<<20))
	}
	kubelet := func(by map[string]uint64, f func(k uint64) string) string {
		if _, ok := by[kubeletProc]; !ok {
			return kubeletWhere(r.idleBy)
		}
		k, _ := split(by)
		return f(k)
	}
	total := func(by map[string]uint64) uint64 { k, rt := split(by); return k + rt }
	ms := func(d time.Duration) string { return d.Round(time.Millisecond).String() }
	pctCore := func(d time.Duration) string {
		if r.idleWindow == 0 {
			return "-"
		}
		return fmt.Sprintf("%.2f%% (%v)", 100*d.Seconds()/r.idleWindow.Seconds(), d)
	}
	return []row{
		{"node Ready after kubelet start", func(r *result) string { return r.nodeReady.Round(time.Millisecond).String() }},
		{fmt.Sprintf("%d pods at once: create→Ready p50", r.pods), func(r *result) string { return r.pct(50).Round(time.Millisecond).String() }},
		{fmt.Sprintf("%d pods at once: create→Ready p99", r.pods), func(r *result) string { return r.pct(99).Round(time.Millisecond).String() }},
		{"runtime CPU to start them", func(r *result) string { _, rt := split(r.startCPUBy); return ms(rt) }},
		{"kubelet CPU to start them", func(r *result) string {
			if _, ok := r.startCPUBy[kubeletProc]; !ok {
				return kubeletWhere(r.idleBy)
			}
			k, _ := split(r.startCPUBy)
			return ms(k)
		}},
		{"bench process CPU to start them (*)", func(r *result) string { return ms(r.benchCPU) }},
		{"runtime RSS, 1 pod (idle)", func(r *result) string { _, rt := split(r.idleBy); return mib(rt) }},
		{fmt.Sprintf("runtime RSS, %d pods", r.pods+1), func(r *result) string { _, rt := split(r.busyBy); return mib(rt) }},
		{"runtime RSS per extra pod", func(r *result) string {
			_, idle := split(r.idleBy)
			_, busy := split(r.busyBy)
			return perPod(idle, busy)
		}},
		{"kubelet RSS, 1 pod (idle)", func(r *result) string { return kubelet(r.idleBy, mib) }},
		{fmt.Sprintf("kubelet RSS, %d pods", r.pods+1), func(r *result) string { return kubelet(r.busyBy, mib) }},
		{"kubelet RSS per extra pod", func(r *result) string {
			return kubelet(r.busyBy, func(busy uint64) string { idle, _ := split(r.idleBy); return perPod(idle, busy) })
		}},
		{fmt.Sprintf("runtime CPU idle, %d pods, of one core", r.pods+1), func(r *result) string { _, rt := split(r.idleCPUBy); return pctCore(rt) }},
		{fmt.Sprintf("kubelet CPU idle, %d pods, of one core", r.pods+1), func(r *result) string {
			if _, ok := r.idleCPUBy[kubeletProc]; !ok && r.idleWindow > 0 {
				return kubeletWhere(r.idleBy)
			}
			k, _ := split(r.idleCPUBy)
			return pctCore(k)
		}},
		// The figures of a node: every process of the kubelet and
		// the runtime (kemudi's kubelet in the bench process not counted).
		{"node RSS, 1 pod (idle, at rest)", func(r *result) string { return mib(total(r.idleBy)) }},
		{"node RSS per extra pod", func(r *result) string { return perPod(total(r.idleBy), total(r.busyBy)) }},
		{fmt.Sprintf("node CPU idle, %d pods, of one core", r.pods+1), func(r *result) string {
			k, rt := split(r.idleCPUBy)
			return pctCore(k + rt)
		}},
	}
}

// printTable writes the figures of every peer side by side, then each one's
// idle RSS by process and why a peer has no figures.
func printTable(w io.Writer, loadBefore, loadAfter string, cols []*result) {
	if len(cols) == 0 {
		return
	}
	fmt.Fprintf(w, "kubelet benchmark (noisy: shared machine)\nload before: %s\nload after:  %s\n", loadBefore, loadAfter)
	fmt.Fprintf(w, "%-44s", "figure")
	for _, r := range cols {
		fmt.Fprintf(w, " %-36s", r.title)
	}
	fmt.Fprintln(w)
	for i, rw := range cols[0].rows() {
		fmt.Fprintf(w, "%-44s", rw.label)
		for _, r := range cols {
			v := "-"
			if r.err == "" {
				v = r.rows()[i].cell(r)
			}
			fmt.Fprintf(w, " %-36s", v)
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintln(w, "(*) the control plane's, which serves all, and kemudi's kubelet of the first column, which runs in the bench process")
	for _, r := range cols {
		if r.err != "" {
			fmt.Fprintf(w, "%s: no figures: %s\n", r.title, r.err)
			continue
		}
		var idle []string
		for _, name := range largestFirst(r.idleBy) {
			m := r.idleMem[name]
			idle = append(idle, fmt.Sprintf("%s %.1f MiB (anon %.1f, file %.1f)", name, harness.MiB(m.RSS), harness.MiB(m.Anon), harness.MiB(m.File)))
		}
		fmt.Fprintf(w, "%s, idle RSS by process: %s\n", r.title, strings.Join(idle, ", "))
		if r.idleWindow > 0 {
			fmt.Fprintf(w, "%s, CPU over %v with the pods by process: %s\n", r.title, r.idleWindow.Round(time.Millisecond), strings.Join(byName(r.idleCPUBy, time.Duration.String), ", "))
		}
	}
}

// byName formats a figure by process name, largest first.
func byName[T uint64 | time.Duration](by map[string]T, f func(T) string) []string {
	names := largestFirst(by)
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = n + " " + f(by[n])
	}
	return out
}

// largestFirst is the names of by, largest figure first.
func largestFirst[T uint64 | time.Duration](by map[string]T) []string {
	names := make([]string, 0, len(by))
	for n := range by {
		names = append(names, n)
	}
	slices.SortFunc(names, func(a, b string) int {
		if by[a] != by[b] {
			if by[a] > by[b] {
				return -1
			}
			return 1
		}
		return strings.Compare(a, b)
	})
	return names
}

// memByName sums the memory of pids by command name, to show which
// process holds it.
func memByName(pids []int) map[string]harness.Memory {
	out := map[string]harness.Memory{}
	for _, pid := range pids {
		m, err := harness.ReadMemory(pid)
		if err != nil {
			continue
		}
		name := procName(pid)
		sum := out[name]
		sum.RSS += m.RSS
		sum.Anon += m.Anon
		sum.File += m.File
		out[name] = sum
	}
	return out
}

// rssOf is the resident memory of each name of by.
func rssOf(by map[string]harness.Memory) map[string]uint64 {
	out := make(map[string]uint64, len(by))
	for name, m := range by {
		out[name] = m.RSS
	}
	return out
}

// cpuSnap is each process's CPU time, its reaped children's included.
type cpuSnap map[int]time.Duration

func snapCPU(pids []int) cpuSnap {
	out := cpuSnap{}
	for _, pid := range pids {
		if t, err := harness.CPUTimeWithChildren(pid); err == nil {
			out[pid] = t
		}
	}
	return out
}

// since is the CPU the processes of after used since before (all of it
// for those that started since), summed by command name.
func (before cpuSnap) since(after cpuSnap) map[string]time.Duration {
	out := map[string]time.Duration{}
	for pid, t := range after {
		out[procName(pid)] += t - before[pid]
	}
	return out
}

// settle lets the processes go idle before their memory is read
// (and waits out cpuOver's span).
func settle(ctx context.Context, d time.Duration) {
	select {
	case <-time.After(d):
	case <-ctx.Done():
	}
}

// cpuOver is the CPU pids used over d, by command name, and the time it
// took (shorter than d if ctx ends first).
func cpuOver(ctx context.Context, pids []int, d time.Duration) (map[string]time.Duration, time.Duration) {
	before := snapCPU(pids)
	t0 := time.Now()
	settle(ctx, d)
	return before.since(snapCPU(pids)), time.Since(t0)
}

// procName is a process's program and first argument ("kemudi runtime").
func procName(pid int) string {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	args := strings.Split(strings.TrimRight(string(b), "\x00"), "\x00")
	name := filepath.Base(args[0])
	if len(args) > 1 && !strings.HasPrefix(args[1], "-") && !strings.Contains(args[1], "/") {
		name += " " + args[1]
	}
	return name
}
