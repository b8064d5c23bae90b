package cri

import (
	"context"
	"fmt"
	"sync"
	"time"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/kemudi/kemudi/internal/cri/network"
	"github.com/kemudi/kemudi/internal/cri/supervisor"
)

// statsCache remembers each container's last CPU sample, so that a stats
// call can report usage in nanocores (the rate since the previous call).
type statsCache struct {
	mu   sync.Mutex
	last map[string]cpuSample
}

type cpuSample struct {
	at    time.Time
	usage uint64
}

// nanoCores returns the CPU rate since the previous sample of id, or nil
// for the first.
func (s *statsCache) nanoCores(id string, at time.Time, usage uint64) *runtimeapi.UInt64Value {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.last == nil {
		s.last = map[string]cpuSample{}
	}
	prev, ok := s.last[id]
	s.last[id] = cpuSample{at: at, usage: usage}
	if !ok || !at.After(prev.at) || usage < prev.usage {
		return nil
	}
	return &runtimeapi.UInt64Value{Value: uint64(float64(usage-prev.usage) / at.Sub(prev.at).Seconds())}
}

func (s *statsCache) forget(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.last, id)
}

// ContainerStats reports one container's CPU, memory and writable layer.
func (r *Runtime) ContainerStats(ctx context.Context, req *runtimeapi.ContainerStatsRequest) (*runtimeapi.ContainerStatsResponse, error) {
	c, err := r.containers.get(req.GetContainerId())
	if err != nil {
		return nil, grpcError(fmt.Errorf("container %s: %w", req.GetContainerId(), err))
	}
	st, err := r.containerStats(ctx, c)
	if err != nil {
		return nil, grpcError(err)
	}
	return &runtimeapi.ContainerStatsResponse{Stats: st}, nil
}

// ListContainerStats reports the running containers that match the filter.
func (r *Runtime) ListContainerStats(ctx context.Context, req *runtimeapi.ListContainerStatsRequest) (*runtimeapi.ListContainerStatsResponse, error) {
	f := req.GetFilter()
	resp := &runtimeapi.ListContainerStatsResponse{Stats: []*runtimeapi.ContainerStats{}}
	for _, c := range r.containers.list() {
		if c.State != runtimeapi.ContainerState_CONTAINER_RUNNING || !containerMatches(c, f.GetId(), f.GetPodSandboxId(), f.GetLabelSelector()) {
			continue
		}
		st, err := r.containerStats(ctx, c)
		if err != nil {
			r.log.Debug("container stats", "id", c.ID, "err", err)
			continue // exited meanwhile
		}
		resp.Stats = append(resp.Stats, st)
	}
	return resp, nil
}

func (r *Runtime) containerStats(ctx context.Context, c container) (*runtimeapi.ContainerStats, error) {
	out := &runtimeapi.ContainerStats{
		Attributes: &runtimeapi.ContainerAttributes{
			Id: c.ID, Metadata: c.Config.GetMetadata(), Labels: c.Config.GetLabels(), Annotations: c.Config.GetAnnotations(),
		},
	}
	if c.State == runtimeapi.ContainerState_CONTAINER_RUNNING {
		s, err := r.supervisor.Stats(ctx, c.ID)
		if err != nil {
			return nil, fmt.Errorf("stats of container %s: %w", c.ID, err)
		}
		out.Cpu, out.Memory = r.cpuMemory(c.ID, s)
	}
	if u, err := r.images.RootfsUsage(c.rootfsKey()); err == nil {
		ts := time.Now().UnixNano()
		out.WritableLayer = &runtimeapi.FilesystemUsage{
			Timestamp:  ts,
			FsId:       &runtimeapi.FilesystemIdentifier{Mountpoint: r.imageFsMountpoint()},
			UsedBytes:  &runtimeapi.UInt64Value{Value: u.Bytes},
			InodesUsed: &runtimeapi.UInt64Value{Value: u.Inodes},
		}
	}
	return out, nil
}

func (r *Runtime) cpuMemory(id string, s supervisor.Stats) (*runtimeapi.CpuUsage, *runtimeapi.MemoryUsage) {
	ts := s.Timestamp.UnixNano()
	cpu := &runtimeapi.CpuUsage{
		Timestamp:            ts,
		UsageCoreNanoSeconds: &runtimeapi.UInt64Value{Value: s.CPUUsageNanos},
		UsageNanoCores:       r.stats.nanoCores(id, s.Timestamp, s.CPUUsageNanos),
	}
	mem := &runtimeapi.MemoryUsage{
		Timestamp:       ts,
		WorkingSetBytes: &runtimeapi.UInt64Value{Value: s.MemoryWorkingSet},
		UsageBytes:      &runtimeapi.UInt64Value{Value: s.MemoryUsage},
		RssBytes:        &runtimeapi.UInt64Value{Value: s.MemoryRSS},
	}
	if s.MemoryLimit > 0 && s.MemoryLimit > s.MemoryWorkingSet {
		mem.AvailableBytes = &runtimeapi.UInt64Value{Value: s.MemoryLimit - s.MemoryWorkingSet}
	}
	return cpu, mem
}

// imageFsMountpoint names the writable layers' filesystem as
// ImageFsInfo does (without its walk of the whole content store, which
// ContainerStats would otherwise pay for every container).
func (r *Runtime) imageFsMountpoint() string { return r.images.Root() }

// PodSandboxStats reports a pod: its containers, their sum, its network
// interfaces and its process count.
func (r *Runtime) PodSandboxStats(ctx context.Context, req *runtimeapi.PodSandboxStatsRequest) (*runtimeapi.PodSandboxStatsResponse, error) {
	sb, err := r.sandboxes.get(req.GetPodSandboxId())
	if err != nil {
		return nil, grpcError(fmt.Errorf("sandbox %s: %w", req.GetPodSandboxId(), err))
	}
	return &runtimeapi.PodSandboxStatsResponse{Stats: r.sandboxStats(ctx, sb)}, nil
}

// ListPodSandboxStats reports the ready pods that match the filter.
func (r *Runtime) ListPodSandboxStats(ctx context.Context, req *runtimeapi.ListPodSandboxStatsRequest) (*runtimeapi.ListPodSandboxStatsResponse, error) {
	f := req.GetFilter()
	resp := &runtimeapi.ListPodSandboxStatsResponse{Stats: []*runtimeapi.PodSandboxStats{}}
	for _, sb := range r.sandboxes.list() {
		if sb.State != runtimeapi.PodSandboxState_SANDBOX_READY ||
			(f.GetId() != "" && !hasPrefix(sb.ID, f.GetId())) || !labelsMatch(sb.Config.GetLabels(), f.GetLabelSelector()) {
			continue
		}
		resp.Stats = append(resp.Stats, r.sandboxStats(ctx, sb))
	}
	return resp, nil
}

func (r *Runtime) sandboxStats(ctx context.Context, sb sandbox) *runtimeapi.PodSandboxStats {
	ts := time.Now().UnixNano()
	linux := &runtimeapi.LinuxPodSandboxStats{
		Cpu:     &runtimeapi.CpuUsage{Timestamp: ts, UsageCoreNanoSeconds: &runtimeapi.UInt64Value{}},
		Memory:  &runtimeapi.MemoryUsage{Timestamp: ts, WorkingSetBytes: &runtimeapi.UInt64Value{}, UsageBytes: &runtimeapi.UInt64Value{}, RssBytes: &runtimeapi.UInt64Value{}},
		Process: &runtimeapi.ProcessUsage{Timestamp: ts, ProcessCount: &runtimeapi.UInt64Value{}},
	}
	var nanoCores uint64
	haveRate := false
	for _, c := range r.containers.list() {
		if c.SandboxID != sb.ID || c.State != runtimeapi.ContainerState_CONTAINER_RUNNING {
			continue
		}
		s, err := r.supervisor.Stats(ctx, c.ID)
		if err != nil {
			continue
		}
		cpu, mem := r.cpuMemory(c.ID, s)
		cs := &runtimeapi.ContainerStats{
			Attributes: &runtimeapi.ContainerAttributes{Id: c.ID, Metadata: c.Config.GetMetadata(), Labels: c.Config.GetLabels(), Annotations: c.Config.GetAnnotations()},
			Cpu:        cpu, Memory: mem,
		}
		linux.Containers = append(linux.Containers, cs)
		linux.Cpu.UsageCoreNanoSeconds.Value += s.CPUUsageNanos
		if cpu.UsageNanoCores != nil {
			nanoCores += cpu.UsageNanoCores.Value
			haveRate = true
		}
		linux.Memory.WorkingSetBytes.Value += s.MemoryWorkingSet
		linux.Memory.UsageBytes.Value += s.MemoryUsage
		linux.Memory.RssBytes.Value += s.MemoryRSS
		linux.Process.ProcessCount.Value += s.Pids
	}
	if haveRate {
		linux.Cpu.UsageNanoCores = &runtimeapi.UInt64Value{Value: nanoCores}
	}
	if sb.NetNS != "" && !sb.hostNetwork() {
		if ifs, err := network.NetStats(sb.NetNS); err == nil {
			linux.Network = networkUsage(ts, ifs)
		}
	}
	md := sb.Config.GetMetadata()
	return &runtimeapi.PodSandboxStats{
		Attributes: &runtimeapi.PodSandboxAttributes{Id: sb.ID, Metadata: md, Labels: sb.Config.GetLabels(), Annotations: sb.Config.GetAnnotations()},
		Linux:      linux,
	}
}

func networkUsage(ts int64, ifs []network.InterfaceStats) *runtimeapi.NetworkUsage {
	nu := &runtimeapi.NetworkUsage{Timestamp: ts}
	for _, i := range ifs {
		u := &runtimeapi.NetworkInterfaceUsage{
			Name:    i.Name,
			RxBytes: &runtimeapi.UInt64Value{Value: i.RxBytes}, RxErrors: &runtimeapi.UInt64Value{Value: i.RxErrors},
			TxBytes: &runtimeapi.UInt64Value{Value: i.TxBytes}, TxErrors: &runtimeapi.UInt64Value{Value: i.TxErrors},
		}
		if i.Name == "lo" {
			continue
		}
		if i.Name == "eth0" {
			nu.DefaultInterface = u
		}
		nu.Interfaces = append(nu.Interfaces, u)
	}
	return nu
}
