package cri

import (
	specs "github.com/opencontainers/runtime-spec/specs-go"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// resources sets the cgroup limits and oom_score_adj of a container.
func resources(s *specs.Spec, in specInput) error {
	r := in.Config.GetLinux().GetResources()
	lr, err := linuxResources(r, in.SwapAvailable)
	if err != nil {
		return err
	}
	devs := s.Linux.Resources.Devices
	*s.Linux.Resources = *lr
	s.Linux.Resources.Devices = devs
	if r != nil {
		adj := int(r.GetOomScoreAdj())
		// Best effort: this machine refuses to lower oom_score_adj below
		// the runtime's own (containerd's restrict_oom_score_adj).
		if adj < in.MinOOMScoreAdj {
			adj = in.MinOOMScoreAdj
		}
		s.Process.OOMScoreAdj = &adj
	}
	return nil
}

// linuxResources validates and translates CRI resources; also used by
// UpdateContainerResources. Hugepage limits are skipped.
func linuxResources(r *runtimeapi.LinuxContainerResources, swapAvailable bool) (*specs.LinuxResources, error) {
	out := &specs.LinuxResources{}
	if r == nil {
		return out, nil
	}
	const field = "config.linux.resources."
	if r.GetCpuQuota() < -1 || (r.GetCpuQuota() == 0 && r.GetCpuPeriod() != 0) {
		return nil, invalidArg(field+"cpu_quota", "%d is not a valid quota (a positive number of microseconds, or -1 for none)", r.GetCpuQuota())
	}
	if q := r.GetCpuQuota(); q > 0 && q < 1000 {
		return nil, invalidArg(field+"cpu_quota", "%d is below the kernel's minimum of 1000 microseconds", q)
	}
	if p := r.GetCpuPeriod(); p < 0 || (p > 0 && (p < 1000 || p > 1000000)) {
		return nil, invalidArg(field+"cpu_period", "%d is outside 1000..1000000 microseconds", p)
	}
	if r.GetCpuShares() < 0 {
		return nil, invalidArg(field+"cpu_shares", "%d is negative", r.GetCpuShares())
	}
	if r.GetMemoryLimitInBytes() < 0 {
		return nil, invalidArg(field+"memory_limit_in_bytes", "%d is negative", r.GetMemoryLimitInBytes())
	}
	cpu := &specs.LinuxCPU{Cpus: r.GetCpusetCpus(), Mems: r.GetCpusetMems()}
	if v := uint64(r.GetCpuShares()); v != 0 {
		cpu.Shares = &v
	}
	if v := r.GetCpuQuota(); v != 0 {
		cpu.Quota = &v
	}
	if v := uint64(r.GetCpuPeriod()); v != 0 {
		cpu.Period = &v
	}
	if cpu.Shares != nil || cpu.Quota != nil || cpu.Period != nil || cpu.Cpus != "" || cpu.Mems != "" {
		out.CPU = cpu
	}
	if limit := r.GetMemoryLimitInBytes(); limit > 0 {
		out.Memory = &specs.LinuxMemory{Limit: &limit}
		// Swap equal to the limit: no swap, as upstream does by default.
		swap := limit
		if s := r.GetMemorySwapLimitInBytes(); s != 0 {
			swap = s
		}
		if swapAvailable {
			out.Memory.Swap = &swap
		}
	}
	if len(r.GetUnified()) > 0 {
		out.Unified = r.GetUnified()
	}
	return out, nil
}
