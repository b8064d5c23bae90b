package cribench

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/kemudi/kemudi/bench/harness"
)

// rss sums the resident memory of pids (shared pages count once per
// process, as the containerd figures did) and counts those alive.
func rss(pids []int) (uint64, int) {
	total, _, n := memory(pids)
	return total, n
}

// rssByProcess names each process (its command's first two words) with
// its RSS, split into anonymous memory, file pages and shared memory (a
// memfd the process runs from).
func rssByProcess(pids []int) []string {
	var out []string
	for _, pid := range pids {
		m, err := harness.ReadMemory(pid)
		if err != nil {
			continue
		}
		b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		args := strings.Split(strings.TrimRight(string(b), "\x00"), "\x00")
		name := filepath.Base(args[0])
		if len(args) > 1 {
			name += " " + args[1]
		}
		line := fmt.Sprintf("%s %.1f MiB (anon %.1f, file %.1f", name, harness.MiB(m.RSS), harness.MiB(m.Anon), harness.MiB(m.File))
		if m.RSS > m.Anon+m.File {
			line += fmt.Sprintf(", shmem %.1f", harness.MiB(m.RSS-m.Anon-m.File))
		}
		out = append(out, line+")")
	}
	return out
}

// cpuByPid is each process's CPU time, its reaped children's included
// (runc and the container inits that exited under a shim or the
// supervisor), keyed by pid and start time so that a reused pid is not
// taken for the same process.
func cpuByPid(pids []int) map[string]time.Duration {
	out := map[string]time.Duration{}
	for _, pid := range pids {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			continue
		}
		s := string(b)
		i := strings.LastIndexByte(s, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(s[i+1:])
		// after the name: utime, stime, cutime, cstime are the 12th to
		// 15th fields, starttime the 20th
		if len(f) < 20 {
			continue
		}
		var ticks uint64
		for _, v := range f[11:15] {
			n, _ := strconv.ParseUint(v, 10, 64)
			ticks += n
		}
		out[strconv.Itoa(pid)+"/"+f[19]] = time.Duration(ticks) * time.Second / 100
	}
	return out
}

// cpuByProcess names the processes of after that used CPU since before,
// with how much, largest first; shims and the like are summed by name.
func cpuByProcess(before, after map[string]time.Duration) []string {
	byName := map[string]time.Duration{}
	for k, v := range after {
		pid, _, _ := strings.Cut(k, "/")
		b, _ := os.ReadFile("/proc/" + pid + "/comm")
		byName[strings.TrimSpace(string(b))] += v - before[k]
	}
	names := make([]string, 0, len(byName))
	for n := range byName {
		names = append(names, n)
	}
	slices.SortFunc(names, func(a, b string) int { return int(byName[b] - byName[a]) })
	var out []string
	for _, n := range names {
		out = append(out, fmt.Sprintf("%s %.0f ms", n, float64(byName[n].Microseconds())/1000))
	}
	return out
}

// cpuDelta is the CPU the processes of after used since before (all of
// it for those that started since).
func cpuDelta(before, after map[string]time.Duration) time.Duration {
	var d time.Duration
	for k, v := range after {
		d += v - before[k]
	}
	return d
}

// podKept lists the processes of the pods' cgroups under root other than
// their workload (those of the cgroups named after the containers ctrs):
// the pause processes a runtime keeps per pod.
func podKept(root string, ctrs []string) []int {
	dir := filepath.Join("/sys/fs/cgroup/cpuacct", root) // v1, where cgroupCPU reads
	if _, err := os.Stat(dir); err != nil {
		dir = filepath.Join("/sys/fs/cgroup", root)
	}
	var out []int
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || d.Name() != "cgroup.procs" || slices.Contains(ctrs, filepath.Base(filepath.Dir(p))) {
			return nil
		}
		b, _ := os.ReadFile(p)
		for _, f := range strings.Fields(string(b)) {
			if pid, err := strconv.Atoi(f); err == nil {
				out = append(out, pid)
			}
		}
		return nil
	})
	return out
}

// memory sums the RSS and anonymous memory of pids and counts those alive.
func memory(pids []int) (rss, anon uint64, n int) {
	for _, pid := range pids {
		m, err := harness.ReadMemory(pid)
		if err != nil {
			continue
		}
		rss, anon, n = rss+m.RSS, anon+m.Anon, n+1
	}
	return rss, anon, n
}
