package server

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/kemudi/kemudi/internal/diskusage"
	"github.com/kemudi/kemudi/internal/kubelet/volume"
)

// serveSummary serves /stats/summary: the node's CPU, memory, network
// and filesystem from the kernel, each pod's and container's from the
// runtime's CRI stats, the volumes' from their last measure. With
// only_cpu_and_memory=true (upstream's query) no filesystem is measured.
func (s *Server) serveSummary(w http.ResponseWriter, r *http.Request) {
	sum, err := s.summary(r.Context(), r.URL.Query().Get("only_cpu_and_memory") != "true")
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, sum)
}

// summary gathers the figures; withFs adds the filesystems': the
// runtime's, the pods' volumes, logs and ephemeral storage.
func (s *Server) summary(ctx context.Context, withFs bool) (*Summary, error) {
	now := metav1.Now()
	node, err := s.nodeStats(now)
	if err != nil {
		return nil, err
	}
	resp, err := s.cfg.Runtime.ListPodSandboxStats(ctx, &runtimeapi.ListPodSandboxStatsRequest{})
	if err != nil {
		return nil, fmt.Errorf("pod sandbox stats: %w", err)
	}
	sbs, err := s.cfg.Runtime.ListPodSandbox(ctx, &runtimeapi.ListPodSandboxRequest{})
	if err != nil {
		return nil, fmt.Errorf("list pod sandboxes: %w", err)
	}
	cs, err := s.cfg.Runtime.ListContainers(ctx, &runtimeapi.ListContainersRequest{})
	if err != nil {
		return nil, fmt.Errorf("list containers: %w", err)
	}
	started := map[string]int64{}
	for _, sb := range sbs.Items {
		started[sb.Id] = sb.CreatedAt
	}
	for _, c := range cs.Containers {
		started[c.Id] = c.CreatedAt
	}
	var fsys *filesystems
	if withFs {
		f := s.filesystems(ctx)
		fsys = &f
		node.Runtime = f.runtime
	}
	sum := &Summary{Node: node, Pods: []PodStats{}}
	for _, ps := range resp.Stats {
		sum.Pods = append(sum.Pods, s.podStats(ps, started, fsys, now))
	}
	return sum, nil
}

func (s *Server) podStats(ps *runtimeapi.PodSandboxStats, started map[string]int64, fsys *filesystems, now metav1.Time) PodStats {
	a := ps.GetAttributes()
	m := a.GetMetadata()
	out := PodStats{
		PodRef:     PodReference{Name: m.GetName(), Namespace: m.GetNamespace(), UID: m.GetUid()},
		StartTime:  metav1.NewTime(time.Unix(0, started[a.GetId()])),
		Containers: []ContainerStats{},
	}
	l := ps.GetLinux()
	out.CPU = s.stats.cpu("pod:"+a.GetId(), l.GetCpu(), now)
	out.Memory = memory(l.GetMemory(), now)
	if n := l.GetNetwork(); n != nil {
		out.Network = network(n, now)
	}
	if p := l.GetProcess(); p != nil && p.ProcessCount != nil {
		out.ProcessStats = &ProcessStats{ProcessCount: u64(p.ProcessCount.Value)}
	}
	for _, c := range l.GetContainers() {
		cs := ContainerStats{
			Name:      c.GetAttributes().GetMetadata().GetName(),
			StartTime: metav1.NewTime(time.Unix(0, started[c.GetAttributes().GetId()])),
			CPU:       s.stats.cpu(c.GetAttributes().GetId(), c.GetCpu(), now),
			Memory:    memory(c.GetMemory(), now),
		}
		out.Containers = append(out.Containers, cs)
	}
	if fsys != nil {
		s.podStorage(&out, l.GetContainers(), *fsys, now)
	}
	return out
}

// podStorage adds a pod's filesystem figures: its containers' layers and
// logs, its volumes' last measure and its ephemeral storage.
func (s *Server) podStorage(out *PodStats, containers []*runtimeapi.ContainerStats, fsys filesystems, now metav1.Time) {
	ref := out.PodRef
	logDir := s.podLogDir(ref.Namespace, ref.Name, ref.UID)
	for i, c := range containers {
		cs := &out.Containers[i]
		if wl := c.GetWritableLayer(); wl != nil {
			cs.Rootfs = fsys.containerFs.with(now, wl.GetUsedBytes().GetValue(), wl.GetInodesUsed().GetValue())
		}
		if used, inodes, err := diskusage.Files(filepath.Join(logDir, cs.Name)); err == nil {
			cs.Logs = fsys.logFs.with(now, used, inodes)
		}
	}
	var vols podVolumeStats
	if s.volumes != nil {
		var ok bool
		if vols, ok = s.volumes.get(types.UID(ref.UID)); ok {
			out.VolumeStats = vols.all()
		}
	}
	var others []*FsStats
	if used, inodes, err := diskusage.Files(logDir); err == nil {
		others = append(others, fsys.logFs.with(now, used, inodes))
	}
	if s.cfg.RootDir != "" {
		hosts := filepath.Join(volume.PodDir(volume.PodsDir(s.cfg.RootDir), types.UID(ref.UID)), "etc-hosts")
		if used, inodes, err := diskusage.Of(hosts); err == nil {
			others = append(others, fsys.rootFs.with(now, used, inodes))
		}
	}
	out.EphemeralStorage = ephemeralStorage(fsys.rootFs.with(now, 0, 0), out.Containers, vols.ephemeral, others...)
}

// ephemeralStorage is a pod's use of the node's root filesystem (whose
// size root gives), as upstream counts it: its containers' writable
// layers and their logs, its local ephemeral volumes, and the rest
// (the pod's own log files, its /etc/hosts).
func ephemeralStorage(root *FsStats, containers []ContainerStats, volumes []VolumeStats, others ...*FsStats) *FsStats {
	out := *root
	out.UsedBytes, out.InodesUsed = nil, nil
	add := func(f *FsStats) {
		out.UsedBytes = addUsage(out.UsedBytes, f.UsedBytes)
		out.InodesUsed = addUsage(out.InodesUsed, f.InodesUsed)
		if out.Time.Before(&f.Time) {
			out.Time = f.Time
		}
	}
	for _, c := range containers {
		// Logs count with their container's layer only, as upstream.
		if c.Rootfs == nil {
			continue
		}
		add(c.Rootfs)
		if c.Logs != nil {
			add(c.Logs)
		}
	}
	for i := range volumes {
		add(&volumes[i].FsStats)
	}
	for _, f := range others {
		add(f)
	}
	return &out
}

func addUsage(a, b *uint64) *uint64 {
	switch {
	case a == nil:
		return b
	case b == nil:
		return a
	}
	return u64(*a + *b)
}

func memory(m *runtimeapi.MemoryUsage, now metav1.Time) *MemoryStats {
	if m == nil {
		return nil
	}
	out := &MemoryStats{Time: now}
	for _, f := range []struct {
		v   *runtimeapi.UInt64Value
		dst **uint64
	}{
		{m.WorkingSetBytes, &out.WorkingSetBytes}, {m.AvailableBytes, &out.AvailableBytes},
		{m.UsageBytes, &out.UsageBytes}, {m.RssBytes, &out.RSSBytes},
		{m.PageFaults, &out.PageFaults}, {m.MajorPageFaults, &out.MajorPageFaults},
	} {
		if f.v != nil {
			*f.dst = u64(f.v.Value)
		}
	}
	return out
}

func network(n *runtimeapi.NetworkUsage, now metav1.Time) *NetworkStats {
	out := &NetworkStats{Time: now}
	conv := func(i *runtimeapi.NetworkInterfaceUsage) InterfaceStats {
		return InterfaceStats{Name: i.GetName(), RxBytes: u64(i.GetRxBytes().GetValue()), RxErrors: u64(i.GetRxErrors().GetValue()),
			TxBytes: u64(i.GetTxBytes().GetValue()), TxErrors: u64(i.GetTxErrors().GetValue())}
	}
	if d := n.GetDefaultInterface(); d != nil {
		out.InterfaceStats = conv(d)
	}
	for _, i := range n.GetInterfaces() {
		out.Interfaces = append(out.Interfaces, conv(i))
	}
	return out
}

func u64(v uint64) *uint64 { return &v }

// statsCache keeps each cgroup's last cumulative CPU time, to give a
// rate (usageNanoCores) when the runtime gives none.
type statsCache struct {
	mu   sync.Mutex
	last map[string]cpuSample
}

type cpuSample struct {
	at    time.Time
	total uint64
}

func (c *statsCache) cpu(key string, u *runtimeapi.CpuUsage, now metav1.Time) *CPUStats {
	if u == nil {
		return nil
	}
	out := &CPUStats{Time: now}
	if u.UsageCoreNanoSeconds != nil {
		out.UsageCoreNanoSeconds = u64(u.UsageCoreNanoSeconds.Value)
	}
	if u.UsageNanoCores != nil {
		out.UsageNanoCores = u64(u.UsageNanoCores.Value)
	} else if out.UsageCoreNanoSeconds != nil {
		out.UsageNanoCores = c.rate(key, *out.UsageCoreNanoSeconds, now.Time)
	}
	return out
}

// rate is the CPU use since the last sample of key, in nanocores.
func (c *statsCache) rate(key string, total uint64, at time.Time) *uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.last == nil {
		c.last = map[string]cpuSample{}
	}
	prev, ok := c.last[key]
	c.last[key] = cpuSample{at: at, total: total}
	if !ok || total < prev.total || !at.After(prev.at) {
		return nil
	}
	return u64(uint64(float64(total-prev.total) / at.Sub(prev.at).Seconds()))
}

// nodeStats reads the machine's figures from /proc and the kubelet's
// filesystem.
func (s *Server) nodeStats(now metav1.Time) (NodeStats, error) {
	out := NodeStats{NodeName: s.cfg.NodeName}
	if boot, err := bootTime(); err == nil {
		out.StartTime = metav1.NewTime(boot)
	}
	if total, err := cpuTotal(); err == nil {
		out.CPU = &CPUStats{Time: now, UsageCoreNanoSeconds: u64(total), UsageNanoCores: s.stats.rate("node", total, now.Time)}
	}
	if mem, err := meminfo(); err == nil {
		total, avail, free := mem["MemTotal"], mem["MemAvailable"], mem["MemFree"]
		out.Memory = &MemoryStats{Time: now, AvailableBytes: u64(avail), UsageBytes: u64(total - free), WorkingSetBytes: u64(total - avail)}
	}
	if s.cfg.RootDir != "" {
		var st unix.Statfs_t
		if err := unix.Statfs(s.cfg.RootDir, &st); err == nil {
			bs := uint64(st.Bsize)
			out.Fs = &FsStats{Time: now, CapacityBytes: u64(st.Blocks * bs), AvailableBytes: u64(st.Bavail * bs),
				UsedBytes: u64((st.Blocks - st.Bfree) * bs), Inodes: u64(st.Files), InodesFree: u64(st.Ffree), InodesUsed: u64(st.Files - st.Ffree)}
		}
	}
	if ifs, err := netDev(); err == nil && len(ifs) > 0 {
		out.Network = &NetworkStats{Time: now, InterfaceStats: ifs[0], Interfaces: ifs}
	}
	if max, err := readInt("/proc/sys/kernel/pid_max"); err == nil {
		var si unix.Sysinfo_t
		if unix.Sysinfo(&si) == nil {
			procs := int64(si.Procs)
			out.Rlimit = &RlimitStats{Time: now, MaxPID: &max, NumOfRunningProcesses: &procs}
		}
	}
	return out, nil
}

// userHZ is the kernel's clock tick for /proc/stat (100 on Linux).
const userHZ = 100

// cpuTotal is the CPU time every core spent busy, in nanoseconds.
func cpuTotal() (uint64, error) {
	data, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, err
	}
	line, _, _ := bytes.Cut(data, []byte("\n"))
	f := strings.Fields(string(line))
	if len(f) < 8 || f[0] != "cpu" {
		return 0, fmt.Errorf("unexpected /proc/stat: %q", line)
	}
	var busy uint64
	// user nice system idle iowait irq softirq steal: all but idle and iowait.
	for i, v := range f[1:9] {
		if i == 3 || i == 4 {
			continue
		}
		n, _ := strconv.ParseUint(v, 10, 64)
		busy += n
	}
	return busy * (uint64(time.Second) / userHZ), nil
}

func meminfo() (map[string]uint64, error) {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	out := map[string]uint64{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		fs := strings.Fields(v)
		if len(fs) == 0 {
			continue
		}
		n, _ := strconv.ParseUint(fs[0], 10, 64)
		if len(fs) > 1 && fs[1] == "kB" {
			n *= 1024
		}
		out[k] = n
	}
	return out, sc.Err()
}

// netDev reads the interfaces of the kubelet's network namespace (the
// node's), loopback left out.
func netDev() ([]InterfaceStats, error) {
	data, err := os.ReadFile("/proc/net/dev")
	if err != nil {
		return nil, err
	}
	var out []InterfaceStats
	lines := strings.Split(string(data), "\n")
	for _, l := range lines[min(2, len(lines)):] {
		name, rest, ok := strings.Cut(l, ":")
		name = strings.TrimSpace(name)
		if !ok || name == "lo" {
			continue
		}
		f := strings.Fields(rest)
		if len(f) < 11 {
			continue
		}
		n := func(i int) *uint64 { v, _ := strconv.ParseUint(f[i], 10, 64); return &v }
		out = append(out, InterfaceStats{Name: name, RxBytes: n(0), RxErrors: n(2), TxBytes: n(8), TxErrors: n(10)})
	}
	return out, nil
}

func bootTime() (time.Time, error) {
	data, err := os.ReadFile("/proc/stat")
	if err != nil {
		return time.Time{}, err
	}
	for _, l := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(l, "btime "); ok {
			n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			return time.Unix(n, 0), err
		}
	}
	return time.Time{}, fmt.Errorf("no btime in /proc/stat")
}

func readInt(path string) (int64, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	return strconv.ParseInt(strings.TrimSpace(string(data)), 10, 64)
}
