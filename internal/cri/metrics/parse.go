package metrics

import (
	"bytes"
	"math"
	"strconv"
	"strings"
)

// unlimited stands for a cgroup file's "max" (v2) or -1 (v1 quota).
const unlimited = math.MaxUint64

// parseValue parses a one-value cgroup file.
func parseValue(b []byte) (uint64, error) {
	s := strings.TrimSpace(string(b))
	if s == "max" || s == "-1" {
		return unlimited, nil
	}
	return strconv.ParseUint(s, 10, 64)
}

// parseKeyed parses a flat keyed file ("key value" lines: memory.stat,
// cpu.stat, cpuacct.stat, memory.events, memory.oom_control). Lines that
// are not a key and a number are skipped.
func parseKeyed(b []byte) map[string]uint64 {
	out := map[string]uint64{}
	for line := range bytes.Lines(b) {
		f := bytes.Fields(line)
		if len(f) != 2 {
			continue
		}
		if v, err := strconv.ParseUint(string(f[1]), 10, 64); err == nil {
			out[string(f[0])] = v
		}
	}
	return out
}

// value reads a one-value file; ok is false when it is missing or not a
// number (a controller or a kernel feature this host lacks).
func (d cgroupDirs) value(controller, name string) (v uint64, ok bool) {
	b, err := d.read(controller, name)
	if err != nil {
		return 0, false
	}
	v, err = parseValue(b)
	return v, err == nil
}

// keyed reads a flat keyed file; nil when it is missing.
func (d cgroupDirs) keyed(controller, name string) map[string]uint64 {
	b, err := d.read(controller, name)
	if err != nil {
		return nil
	}
	return parseKeyed(b)
}

// specMemory is a memory figure as cAdvisor reports a limit: 0 when
// unlimited (v1 writes "unlimited" as a huge page-rounded number).
func specMemory(v uint64) uint64 {
	if v > 1<<62 {
		return 0
	}
	return v
}
