package metrics

import (
	"fmt"
	"strings"
	"time"
)

// cpuFigures are a cgroup's CPU time, throttling and CPU settings.
type cpuFigures struct {
	UsageNanos, UserNanos, SystemNanos uint64
	Periods, ThrottledPeriods          uint64
	ThrottledNanos                     uint64
	// Shares is v1's cpu.shares (v2's cpu.weight converted back), Period
	// and Quota the CFS period and quota in µs (Quota unlimited: none).
	Shares, Period, Quota uint64
}

// userHZ is the unit of cpuacct.stat: the kernel's USER_HZ, 100 on every
// architecture Linux runs containers on.
const userHZ = 100

func readCPU(d cgroupDirs) (cpuFigures, error) {
	if d.v2 {
		return readCPUv2(d)
	}
	var f cpuFigures
	var ok bool
	if f.UsageNanos, ok = d.value("cpuacct", "cpuacct.usage"); !ok {
		return f, fmt.Errorf("read cpuacct.usage of %s", d.v1["cpuacct"])
	}
	st := d.keyed("cpuacct", "cpuacct.stat")
	f.UserNanos = st["user"] * uint64(time.Second/userHZ)
	f.SystemNanos = st["system"] * uint64(time.Second/userHZ)
	th := d.keyed("cpu", "cpu.stat")
	f.Periods, f.ThrottledPeriods, f.ThrottledNanos = th["nr_periods"], th["nr_throttled"], th["throttled_time"]
	f.Shares, _ = d.value("cpu", "cpu.shares")
	f.Period, _ = d.value("cpu", "cpu.cfs_period_us")
	if f.Quota, ok = d.value("cpu", "cpu.cfs_quota_us"); !ok {
		f.Quota = unlimited
	}
	return f, nil
}

func readCPUv2(d cgroupDirs) (cpuFigures, error) {
	st := d.keyed("cpu", "cpu.stat")
	if st == nil {
		return cpuFigures{}, fmt.Errorf("read cpu.stat of %s", d.unified)
	}
	us := uint64(time.Microsecond)
	f := cpuFigures{
		UsageNanos: st["usage_usec"] * us, UserNanos: st["user_usec"] * us, SystemNanos: st["system_usec"] * us,
		Periods: st["nr_periods"], ThrottledPeriods: st["nr_throttled"], ThrottledNanos: st["throttled_usec"] * us,
		Quota: unlimited,
	}
	if b, err := d.read("cpu", "cpu.max"); err == nil {
		f.Quota, f.Period = parseCPUMax(string(b))
	}
	if w, ok := d.value("cpu", "cpu.weight"); ok {
		f.Shares = sharesOfWeight(w)
	}
	return f, nil
}

// parseCPUMax parses v2's cpu.max ("max 100000" or "20000 100000").
func parseCPUMax(s string) (quota, period uint64) {
	f := strings.Fields(s)
	if len(f) != 2 {
		return unlimited, 0
	}
	quota, err := parseValue([]byte(f[0]))
	if err != nil {
		quota = unlimited
	}
	period, _ = parseValue([]byte(f[1]))
	return quota, period
}

// sharesOfWeight turns v2's cpu.weight [1, 10000] back into v1 shares
// [2, 262144], the inverse of the conversion runc and cAdvisor use.
func sharesOfWeight(w uint64) uint64 {
	if w == 0 {
		return 0
	}
	return 2 + (w-1)*262142/9999
}

func (s *series) cpu(f cpuFigures) {
	sec := uint64(time.Second)
	s.add("container_cpu_usage_seconds_total", counter, f.UsageNanos/sec, "total")
	s.add("container_cpu_user_seconds_total", counter, f.UserNanos/sec)
	s.add("container_cpu_system_seconds_total", counter, f.SystemNanos/sec)
	s.add("container_spec_cpu_shares", gauge, f.Shares)
	s.add("container_spec_cpu_period", gauge, f.Period)
	// cAdvisor reports the quota, and the throttling it causes, only when
	// a quota is set.
	if f.Quota != unlimited {
		s.add("container_spec_cpu_quota", gauge, f.Quota)
		s.add("container_cpu_cfs_periods_total", counter, f.Periods)
		s.add("container_cpu_cfs_throttled_periods_total", counter, f.ThrottledPeriods)
		s.add("container_cpu_cfs_throttled_seconds_total", counter, f.ThrottledNanos/sec)
	}
}
