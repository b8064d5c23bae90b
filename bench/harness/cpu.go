package harness

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// clockTick is USER_HZ, the unit of /proc/PID/stat's CPU times; 100 on
// every Linux architecture Go supports.
const clockTick = 100

// CPUTime is the user plus system CPU time pid has used so far.
func CPUTime(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	return parseStatCPU(string(b))
}

// CPUTimeWithChildren is CPUTime plus that of pid's children it has
// waited for (runc and container inits that ran under a shim, say).
func CPUTimeWithChildren(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	return parseStatTimes(string(b), 4)
}

func parseStatCPU(stat string) (time.Duration, error) { return parseStatTimes(stat, 2) }

// parseStatTimes sums the first n of utime, stime, cutime and cstime.
func parseStatTimes(stat string, n int) (time.Duration, error) {
	// The command name (field 2) is in parentheses and may hold spaces:
	// fields after it start at the last ')'. utime, stime, cutime and
	// cstime are fields 14 to 17, so the 12th to 15th after the name.
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, fmt.Errorf("malformed stat %q", stat)
	}
	f := strings.Fields(stat[i+1:])
	if len(f) < 11+n {
		return 0, fmt.Errorf("malformed stat %q", stat)
	}
	var ticks uint64
	for _, s := range f[11 : 11+n] {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("malformed stat %q: %w", stat, err)
		}
		ticks += n
	}
	return time.Duration(ticks) * time.Second / clockTick, nil
}

// SelfCPUTime is the user plus system CPU time this process has used.
func SelfCPUTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// LoadAvg is /proc/loadavg's 1, 5 and 15 minute load averages, as text
// ("" if unreadable).
func LoadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return ""
	}
	return strings.Join(f[:3], " ")
}

// MachineCPUTime is the CPU time all processes on the machine have used
// (user, nice, system, irq, softirq, steal from /proc/stat), summed over
// cores. Less a run's server and client times, it shows how much else
// ran beside them.
func MachineCPUTime() (time.Duration, error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, err
	}
	return parseProcStat(string(b))
}

func parseProcStat(stat string) (time.Duration, error) {
	line, _, _ := strings.Cut(stat, "\n")
	f := strings.Fields(line)
	// cpu user nice system idle iowait irq softirq steal guest guest_nice
	if len(f) < 9 || f[0] != "cpu" {
		return 0, fmt.Errorf("malformed /proc/stat first line %q", line)
	}
	var ticks uint64
	for i, s := range f[1:9] {
		if i == 3 || i == 4 { // idle, iowait
			continue
		}
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("malformed /proc/stat first line %q: %w", line, err)
		}
		ticks += n
	}
	return time.Duration(ticks) * time.Second / clockTick, nil
}
