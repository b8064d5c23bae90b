package supervisor

import (
	"fmt"
	"time"

	"github.com/opencontainers/cgroups"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// cgroupManager returns a manager of the container's cgroup, v1 or v2 as
// the host has it.
func (c *container) cgroupManager() (cgroups.Manager, error) {
	if c.rc == nil {
		return nil, fmt.Errorf("container %s: runtime state lost", c.rec.ID)
	}
	return c.rc.cgroup()
}

// oomKilled reports whether the kernel's OOM killer killed a process of
// the container (memory.oom_control's oom_kill on v1, memory.events' on
// v2). c.mu held.
func (c *container) oomKilled() bool {
	m, err := c.cgroupManager()
	if err != nil {
		return false
	}
	n, err := m.OOMKillCount()
	return err == nil && n > 0
}

func (s *server) stats(id string) (Stats, error) {
	c, err := s.get(id)
	if err != nil {
		return Stats{}, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	m, err := c.cgroupManager()
	if err != nil {
		return Stats{}, err
	}
	cs, err := m.GetStats()
	if err != nil {
		return Stats{}, fmt.Errorf("stats of container %s: %w", id, err)
	}
	return statsFrom(cs, time.Now()), nil
}

func statsFrom(cs *cgroups.Stats, at time.Time) Stats {
	mem := cs.MemoryStats
	st := Stats{
		Timestamp:     at,
		CPUUsageNanos: cs.CpuStats.CpuUsage.TotalUsage,
		MemoryUsage:   mem.Usage.Usage,
		Pids:          cs.PidsStats.Current,
	}
	if mem.Usage.Limit < 1<<62 {
		st.MemoryLimit = mem.Usage.Limit
	}
	// v1 names hierarchical counters total_*, v2 has no prefix.
	inactive, ok := mem.Stats["total_inactive_file"]
	if !ok {
		inactive = mem.Stats["inactive_file"]
	}
	if inactive < st.MemoryUsage {
		st.MemoryWorkingSet = st.MemoryUsage - inactive
	}
	if rss, ok := mem.Stats["total_rss"]; ok {
		st.MemoryRSS = rss
	} else {
		st.MemoryRSS = mem.Stats["anon"]
	}
	return st
}

// update applies new limits to the container's cgroup.
func (s *server) update(id string, r *specs.LinuxResources) error {
	if r == nil {
		return fmt.Errorf("%w: update container %s: no resources", ErrInvalidArgument, id)
	}
	c, err := s.get(id)
	if err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.rc == nil || c.rec.State.Status == Exited {
		return fmt.Errorf("update container %s: %w: it is %s", id, ErrFailedPrecondition, c.rec.State.Status)
	}
	if err := c.rc.update(r); err != nil {
		return fmt.Errorf("update container %s: %w", id, err)
	}
	return nil
}
