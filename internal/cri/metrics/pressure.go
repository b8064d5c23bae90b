package metrics

import (
	"bytes"
	"strconv"
	"strings"
	"time"
)

// pressure is one resource's pressure stall information: the total time
// some tasks waited for it, and the time all of them stalled.
type pressure struct {
	SomeMicros, FullMicros uint64
}

// pressureFigures are a cgroup's PSI for CPU, memory and IO. They live in
// the v2 tree (on a hybrid host too: runc puts containers there); a host
// without one, or a kernel without PSI, has none, and cAdvisor then
// reports none.
type pressureFigures struct {
	CPU, Memory, IO pressure
	ok              bool
}

func readPressure(d cgroupDirs) pressureFigures {
	var f pressureFigures
	for _, r := range []struct {
		file string
		p    *pressure
	}{{"cpu.pressure", &f.CPU}, {"memory.pressure", &f.Memory}, {"io.pressure", &f.IO}} {
		b, err := d.readUnified(r.file)
		if err != nil {
			return pressureFigures{}
		}
		*r.p = parsePressure(b)
	}
	f.ok = true
	return f
}

// parsePressure parses a *.pressure file:
//
//	some avg10=0.00 avg60=0.00 avg300=0.00 total=5162828
//	full avg10=0.00 avg60=0.00 avg300=0.00 total=5116676
func parsePressure(b []byte) pressure {
	var p pressure
	for line := range bytes.Lines(b) {
		f := strings.Fields(string(line))
		if len(f) == 0 {
			continue
		}
		var total uint64
		for _, kv := range f[1:] {
			if v, ok := strings.CutPrefix(kv, "total="); ok {
				total, _ = strconv.ParseUint(v, 10, 64)
			}
		}
		switch f[0] {
		case "some":
			p.SomeMicros = total
		case "full":
			p.FullMicros = total
		}
	}
	return p
}

func (s *series) pressure(f pressureFigures) {
	if !f.ok {
		return
	}
	sec := uint64(time.Second / time.Microsecond)
	for _, r := range []struct {
		name string
		p    pressure
	}{{"cpu", f.CPU}, {"memory", f.Memory}, {"io", f.IO}} {
		s.add("container_pressure_"+r.name+"_waiting_seconds_total", counter, r.p.SomeMicros/sec)
		s.add("container_pressure_"+r.name+"_stalled_seconds_total", counter, r.p.FullMicros/sec)
	}
}
