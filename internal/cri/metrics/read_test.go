package metrics

import (
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"testing"
	"time"
)

func TestParseCgroupMounts(t *testing.T) {
	for _, tc := range []struct {
		file string
		want Hierarchy
	}{
		{"hybrid", Hierarchy{Unified: "/sys/fs/cgroup/unified", V1: map[string]string{
			"cpu": "/sys/fs/cgroup/cpu", "cpuacct": "/sys/fs/cgroup/cpuacct", "memory": "/sys/fs/cgroup/memory",
			"blkio": "/sys/fs/cgroup/blkio", "pids": "/sys/fs/cgroup/pids",
		}}},
		{"v2", Hierarchy{Unified: "/sys/fs/cgroup", V1: map[string]string{}}},
		// cpu and cpuacct share a tree; a bind of a sub-cgroup is not a tree.
		{"comounted", Hierarchy{Unified: "/sys/fs/cgroup/unified", V1: map[string]string{
			"cpu": "/sys/fs/cgroup/cpu,cpuacct", "cpuacct": "/sys/fs/cgroup/cpu,cpuacct", "memory": "/sys/fs/cgroup/memory",
			"pids": "/sys/fs/cgroup/pids", "blkio": "/sys/fs/cgroup/blkio", "hugetlb": "/sys/fs/cgroup/hugetlb",
		}}},
	} {
		f, err := os.Open(filepath.Join("testdata", "mountinfo", tc.file))
		if err != nil {
			t.Fatal(err)
		}
		got, err := parseCgroupMounts(f)
		f.Close()
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: %+v, %v\nwant %+v", tc.file, got, err, tc.want)
		}
	}
	if got := unescapeMount(`/var/lib/kubelet/bind\040dir`); got != "/var/lib/kubelet/bind dir" {
		t.Errorf("unescapeMount: %q", got)
	}
}

// testdataDirs locates testdata/<dir> as a container's cgroup: on a
// hybrid host one directory per controller and the v2 one.
func testdataDirs(t *testing.T, dir string) cgroupDirs {
	t.Helper()
	root := filepath.Join("testdata", dir)
	if dir == "v2" {
		return Hierarchy{Unified: root}.dirs("/")
	}
	h := Hierarchy{Unified: filepath.Join(root, "unified"), V1: map[string]string{}}
	for _, c := range []string{"cpu", "cpuacct", "memory", "pids", "blkio"} {
		h.V1[c] = filepath.Join(root, c)
	}
	return h.dirs("/")
}

func TestReadCPU(t *testing.T) {
	for _, tc := range []struct {
		dir  string
		want cpuFigures
	}{
		{"hybrid", cpuFigures{
			UsageNanos: 1408103522, UserNanos: 980_000_000, SystemNanos: 410_000_000, // cpuacct.stat in 1/100 s
			Periods: 82, ThrottledPeriods: 26, ThrottledNanos: 584585698,
			Shares: 512, Period: 100000, Quota: 20000,
		}},
		{"v2", cpuFigures{
			UsageNanos: 2503117000, UserNanos: 1801000000, SystemNanos: 702117000,
			Periods: 120, ThrottledPeriods: 31, ThrottledNanos: 812345000,
			Shares: 2597, Period: 100000, Quota: 20000, // weight 100, the kernel's default
		}},
	} {
		got, err := readCPU(testdataDirs(t, tc.dir))
		if err != nil || got != tc.want {
			t.Errorf("%s: %+v, %v\nwant %+v", tc.dir, got, err, tc.want)
		}
	}
	for _, tc := range []struct {
		in            string
		quota, period uint64
	}{{"max 100000\n", unlimited, 100000}, {"20000 100000", 20000, 100000}, {"", unlimited, 0}} {
		if q, p := parseCPUMax(tc.in); q != tc.quota || p != tc.period {
			t.Errorf("parseCPUMax(%q) = %d %d", tc.in, q, p)
		}
	}
	for w, shares := range map[uint64]uint64{1: 2, 10000: 262144, 39: 998} {
		if got := sharesOfWeight(w); got != shares {
			t.Errorf("sharesOfWeight(%d) = %d, want %d", w, got, shares)
		}
	}
}

func TestReadMemory(t *testing.T) {
	for _, tc := range []struct {
		dir  string
		want memoryFigures
	}{
		{"hybrid", memoryFigures{
			Usage: 8736768, MaxUsage: 9777152, WorkingSet: 8736768 - 8323072,
			RSS: 204800, Cache: 8323072, MappedFile: 0,
			Swap: 0, Kernel: 118784, Failcnt: 0, OOMKills: 0,
			PgFault: 1195, PgMajFault: 0, TotalPgFault: 1195, TotalPgMajFault: 0,
			Limit: 64 << 20, Reservation: 32 << 20, SwapLimit: 64 << 20,
		}},
		{"v2", memoryFigures{
			Usage: 9834496, MaxUsage: 12582912, WorkingSet: 9834496 - 6299648,
			RSS: 1077248, Cache: 8323072, MappedFile: 1216512,
			Swap: 0, Kernel: 405504, Failcnt: 4, OOMKills: 1,
			PgFault: 2904, PgMajFault: 3, TotalPgFault: 2904, TotalPgMajFault: 3,
			Limit: 64 << 20, Reservation: 0, SwapLimit: 0, // swap.max "max": unlimited
		}},
	} {
		got, err := readMemory(testdataDirs(t, tc.dir))
		if err != nil || got != tc.want {
			t.Errorf("%s: %+v, %v\nwant %+v", tc.dir, got, err, tc.want)
		}
	}
	if ws := workingSet(10, 20); ws != 0 {
		t.Errorf("working set with more inactive file than usage: %d", ws)
	}
	if v := specMemory(9223372036854771712); v != 0 {
		t.Errorf("v1's unlimited as a limit: %d, want 0", v)
	}
}

func TestReadProcesses(t *testing.T) {
	// A /proc with the cgroup's two processes: one with a file, a pipe and
	// two sockets open, one with nothing readable (it exited).
	proc := t.TempDir()
	fd := filepath.Join(proc, "10292", "fd")
	if err := os.MkdirAll(fd, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, target := range map[string]string{"0": "/dev/null", "1": "pipe:[43736]", "3": "socket:[5501]", "4": "socket:[5502]"} {
		if err := os.Symlink(target, filepath.Join(fd, name)); err != nil {
			t.Fatal(err)
		}
	}
	limits, err := os.ReadFile(filepath.Join("testdata", "proc", "limits"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(proc, "10292", "limits"), limits, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		dir  string
		want processFigures
	}{
		{"hybrid", processFigures{Processes: 2, Threads: 2, ThreadsMax: 100, FDs: 4, Sockets: 2, OpenFilesSoft: 20000, openFilesSoftOK: true}},
		{"v2", processFigures{Processes: 2, Threads: 7, ThreadsMax: 1024, OpenFilesSoft: 20000, openFilesSoftOK: true}}, // its pids have no fd here
	} {
		got, err := readProcesses(testdataDirs(t, tc.dir), proc, 10292)
		if err != nil || got != tc.want {
			t.Errorf("%s: %+v, %v\nwant %+v", tc.dir, got, err, tc.want)
		}
	}
	if v, ok := parseOpenFilesLimit([]byte("Limit Soft Hard Units\nMax open files unlimited unlimited files\n")); ok {
		t.Errorf("unlimited open files: %d, want none", v)
	}
}

func TestReadPressureAndBlkio(t *testing.T) {
	for _, tc := range []struct {
		dir      string
		pressure pressureFigures
		blkio    blkioFigures
	}{
		{"hybrid",
			pressureFigures{CPU: pressure{5162828, 5116676}, IO: pressure{2115, 2115}, ok: true},
			blkioFigures{
				Bytes: []blkioEntry{{254, 0, "Read", 4198400}, {254, 0, "Write", 4194304}, {254, 0, "Sync", 8392704}, {254, 0, "Async", 0}, {254, 0, "Discard", 0}, {254, 0, "Total", 8392704}},
				Ops:   []blkioEntry{{254, 0, "Read", 5}, {254, 0, "Write", 8}, {254, 0, "Sync", 13}, {254, 0, "Async", 0}, {254, 0, "Discard", 0}, {254, 0, "Total", 13}},
			}},
		{"v2",
			pressureFigures{CPU: pressure{3500000, 1200000}, IO: pressure{2100000, 2000000}, ok: true},
			blkioFigures{
				Bytes: []blkioEntry{{254, 0, "Read", 4198400}, {254, 0, "Write", 4194304}, {254, 0, "Discard", 0}},
				Ops:   []blkioEntry{{254, 0, "Read", 5}, {254, 0, "Write", 8}, {254, 0, "Discard", 0}},
			}},
	} {
		d := testdataDirs(t, tc.dir)
		if got := readPressure(d); got != tc.pressure {
			t.Errorf("%s pressure: %+v, want %+v", tc.dir, got, tc.pressure)
		}
		if got := readBlkio(d); !reflect.DeepEqual(got, tc.blkio) {
			t.Errorf("%s blkio: %+v, want %+v", tc.dir, got, tc.blkio)
		}
	}
	// A v1 host without the v2 tree has no pressure to report.
	if got := readPressure(cgroupDirs{v1: map[string]string{}}); got.ok {
		t.Errorf("pressure without a v2 tree: %+v", got)
	}
}

func TestFilesystem(t *testing.T) {
	fs, err := statFilesystem("/sys", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if fs.Capacity == 0 || fs.Device == "" {
		t.Errorf("filesystem of a temporary directory: %+v", fs)
	}
	if got := deviceName(t.TempDir(), 254, 0); got != "254:0" {
		t.Errorf("device unknown to sysfs: %q", got)
	}
	sys := t.TempDir()
	if err := os.MkdirAll(filepath.Join(sys, "dev", "block", "254:0"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(sys, "dev", "block", "254:0", "uevent"), []byte("MAJOR=254\nMINOR=0\nDEVNAME=vda\nDEVTYPE=disk\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := deviceName(sys, 254, 0); got != "/dev/vda" {
		t.Errorf("deviceName = %q, want /dev/vda", got)
	}
}

// TestCollectorOnHost reads a cgroup made on this host, v1, v2 or
// hybrid, holding one sleeping process: the figures a container gets.
func TestCollectorOnHost(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("making a cgroup needs root")
	}
	c, err := NewCollector()
	if err != nil {
		t.Fatal(err)
	}
	path := fmt.Sprintf("/kemudi-metrics-test-%d", os.Getpid())
	d := c.h.dirs(path)
	var made []string
	for _, dir := range append(slices.Collect(maps.Values(d.v1)), d.unified) {
		if dir == "" {
			continue
		}
		if err := os.Mkdir(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		made = append(made, dir)
	}
	sleep := exec.Command("sleep", "60")
	if err := sleep.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = sleep.Process.Kill()
		_ = sleep.Wait()
		for _, dir := range made {
			if err := os.Remove(dir); err != nil {
				t.Errorf("remove test cgroup: %v", err)
			}
		}
	})
	for _, dir := range made {
		if err := os.WriteFile(filepath.Join(dir, "cgroup.procs"), []byte(strconv.Itoa(sleep.Process.Pid)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	in := Container{Pod: Pod{ID: "p", Name: "pod", Namespace: "ns"}, Name: "sleep", ID: "c", CgroupPath: path, Pid: sleep.Process.Pid, StartedAt: time.Now()}
	cm, err := c.Container(in, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]uint64{}
	for _, m := range cm.Metrics {
		got[m.Name] = m.Value.GetValue()
	}
	for name, want := range map[string]uint64{"container_processes": 1, "container_threads": 1} {
		if got[name] != want {
			t.Errorf("%s = %d, want %d", name, got[name], want)
		}
	}
	if got["container_file_descriptors"] < 3 || got["container_spec_cpu_period"] == 0 || got["container_ulimits_soft"] == 0 {
		t.Errorf("a sleep's cgroup: %v", got)
	}
}
