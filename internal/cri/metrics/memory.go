package metrics

import "fmt"

// memoryFigures are a cgroup's memory use and limits, as cAdvisor reads
// them.
type memoryFigures struct {
	Usage, MaxUsage, WorkingSet   uint64
	RSS, Cache, MappedFile        uint64
	Swap, Kernel                  uint64
	Failcnt, OOMKills             uint64
	PgFault, PgMajFault           uint64 // this cgroup's own
	TotalPgFault, TotalPgMajFault uint64 // with its descendants
	Limit, Reservation, SwapLimit uint64 // 0: unlimited
}

func readMemory(d cgroupDirs) (memoryFigures, error) {
	if d.v2 {
		return readMemoryV2(d)
	}
	var f memoryFigures
	var ok bool
	if f.Usage, ok = d.value("memory", "memory.usage_in_bytes"); !ok {
		return f, fmt.Errorf("read memory.usage_in_bytes of %s", d.v1["memory"])
	}
	f.MaxUsage, _ = d.value("memory", "memory.max_usage_in_bytes")
	f.Failcnt, _ = d.value("memory", "memory.failcnt")
	st := d.keyed("memory", "memory.stat")
	f.RSS, f.Cache, f.MappedFile = st["total_rss"], st["total_cache"], st["total_mapped_file"]
	f.PgFault, f.PgMajFault = st["pgfault"], st["pgmajfault"]
	f.TotalPgFault, f.TotalPgMajFault = st["total_pgfault"], st["total_pgmajfault"]
	f.WorkingSet = workingSet(f.Usage, st["total_inactive_file"])
	// Swap is memsw (memory+swap) less memory; without swap accounting
	// (no memsw files) cAdvisor reports 0.
	if memsw, ok := d.value("memory", "memory.memsw.usage_in_bytes"); ok && memsw > f.Usage {
		f.Swap = memsw - f.Usage
	}
	// kmem accounting is on by default; a kernel built without it has no
	// file and cAdvisor reports 0.
	f.Kernel, _ = d.value("memory", "memory.kmem.usage_in_bytes")
	f.OOMKills = d.keyed("memory", "memory.oom_control")["oom_kill"]
	lim, _ := d.value("memory", "memory.limit_in_bytes")
	res, _ := d.value("memory", "memory.soft_limit_in_bytes")
	swl, _ := d.value("memory", "memory.memsw.limit_in_bytes")
	f.Limit, f.Reservation, f.SwapLimit = specMemory(lim), specMemory(res), specMemory(swl)
	return f, nil
}

func readMemoryV2(d cgroupDirs) (memoryFigures, error) {
	var f memoryFigures
	var ok bool
	if f.Usage, ok = d.value("memory", "memory.current"); !ok {
		return f, fmt.Errorf("read memory.current of %s", d.unified)
	}
	// memory.peak exists from Linux 5.19; before, cAdvisor reports 0.
	f.MaxUsage, _ = d.value("memory", "memory.peak")
	st := d.keyed("memory", "memory.stat")
	f.RSS, f.Cache, f.MappedFile = st["anon"], st["file"], st["file_mapped"]
	f.PgFault, f.PgMajFault = st["pgfault"], st["pgmajfault"]
	// v2 counts a cgroup's faults with its descendants' only.
	f.TotalPgFault, f.TotalPgMajFault = f.PgFault, f.PgMajFault
	f.WorkingSet = workingSet(f.Usage, st["inactive_file"])
	if k, ok := st["kernel"]; ok { // Linux 5.18+
		f.Kernel = k
	} else {
		f.Kernel = st["kernel_stack"] + st["slab"] + st["sock"] + st["pagetables"]
	}
	f.Swap, _ = d.value("memory", "memory.swap.current")
	ev := d.keyed("memory", "memory.events")
	// v2 has no failcnt: memory.events' "max" counts the times usage hit
	// the limit, which is what failcnt counts on v1.
	f.Failcnt = ev["max"]
	f.OOMKills = ev["oom_kill"]
	lim, _ := d.value("memory", "memory.max")
	res, _ := d.value("memory", "memory.low") // where runc puts the reservation
	f.Limit, f.Reservation = specMemory(lim), specMemory(res)
	// v1's memsw limit is memory and swap together; so is cAdvisor's v2
	// figure.
	if swl, ok := d.value("memory", "memory.swap.max"); ok && swl != unlimited && lim != unlimited {
		f.SwapLimit = specMemory(swl + lim)
	}
	return f, nil
}

// workingSet is cAdvisor's: usage less the inactive file cache, the part
// the kernel reclaims first.
func workingSet(usage, inactiveFile uint64) uint64 {
	if inactiveFile >= usage {
		return 0
	}
	return usage - inactiveFile
}

func (s *series) memory(f memoryFigures) {
	s.add("container_memory_usage_bytes", gauge, f.Usage)
	s.add("container_memory_max_usage_bytes", gauge, f.MaxUsage)
	s.add("container_memory_working_set_bytes", gauge, f.WorkingSet)
	s.add("container_memory_rss", gauge, f.RSS)
	s.add("container_memory_cache", gauge, f.Cache)
	s.add("container_memory_mapped_file", gauge, f.MappedFile)
	s.add("container_memory_swap", gauge, f.Swap)
	s.add("container_memory_kernel_usage", gauge, f.Kernel)
	s.add("container_memory_failcnt", counter, f.Failcnt)
	for _, m := range []struct {
		kind, scope string
		v           uint64
	}{
		{"pgfault", "container", f.PgFault},
		{"pgmajfault", "container", f.PgMajFault},
		{"pgfault", "hierarchy", f.TotalPgFault},
		{"pgmajfault", "hierarchy", f.TotalPgMajFault},
	} {
		s.add("container_memory_failures_total", counter, m.v, m.kind, m.scope)
	}
	s.add("container_oom_events_total", counter, f.OOMKills)
	s.add("container_spec_memory_limit_bytes", gauge, f.Limit)
	s.add("container_spec_memory_reservation_limit_bytes", gauge, f.Reservation)
	s.add("container_spec_memory_swap_limit_bytes", gauge, f.SwapLimit)
}
