// Package schedule parses cron job schedules the way upstream Kubernetes
// does (it uses github.com/robfig/cron/v3's standard parser): five fields
// (minute, hour, day of month, month, day of week) with ranges, steps,
// lists and month and weekday names; the descriptors @yearly, @annually,
// @monthly, @weekly, @daily, @midnight, @hourly and "@every <duration>";
// and a leading TZ= or CRON_TZ= time zone. Errors carry the parser's
// messages, which the API returns verbatim. Next computes activation
// times for the cron job controller.
package schedule

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	// Time zones (TZ= here, spec.timeZone in the cron job) must resolve
	// the same on every machine, with or without a system zoneinfo, as
	// they do for upstream's API server, which embeds the database too.
	_ "time/tzdata"
)

// Schedule is a parsed cron schedule.
type Schedule struct {
	minute, hour, dom, month, dow uint64
	// every is the period of an "@every" schedule; zero otherwise.
	every time.Duration
	// loc is the TZ= zone, nil to use the zone of the time given to Next.
	loc *time.Location
}

// starBit marks a day field written as "*" or "?": day of month and day
// of week combine with AND when either is a star, with OR otherwise.
const starBit = 1 << 63

type bounds struct {
	min, max uint
	names    map[string]uint
}

var (
	minutes = bounds{0, 59, nil}
	hours   = bounds{0, 23, nil}
	doms    = bounds{1, 31, nil}
	months  = bounds{1, 12, map[string]uint{
		"jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6,
		"jul": 7, "aug": 8, "sep": 9, "oct": 10, "nov": 11, "dec": 12,
	}}
	dows = bounds{0, 6, map[string]uint{
		"sun": 0, "mon": 1, "tue": 2, "wed": 3, "thu": 4, "fri": 5, "sat": 6,
	}}
)

// Parse parses a schedule.
func Parse(spec string) (*Schedule, error) {
	if spec == "" {
		return nil, fmt.Errorf("empty spec string")
	}
	var loc *time.Location
	if strings.HasPrefix(spec, "TZ=") || strings.HasPrefix(spec, "CRON_TZ=") {
		eq, sp := strings.Index(spec, "="), strings.Index(spec, " ")
		if sp < 0 {
			// Upstream's parser panics here and the API reports the
			// recovered runtime error.
			return nil, fmt.Errorf("invalid schedule format: runtime error: slice bounds out of range [:-1]")
		}
		var err error
		if loc, err = time.LoadLocation(spec[eq+1 : sp]); err != nil {
			return nil, fmt.Errorf("provided bad location %s: %v", spec[eq+1:sp], err)
		}
		spec = strings.TrimSpace(spec[sp:])
	}
	if strings.HasPrefix(spec, "@") {
		s, err := parseDescriptor(spec)
		if err != nil {
			return nil, err
		}
		s.loc = loc
		return s, nil
	}
	fields := strings.Fields(spec)
	if len(fields) != 5 {
		return nil, fmt.Errorf("expected exactly 5 fields, found %d: %s", len(fields), fields)
	}
	s := &Schedule{loc: loc}
	for i, f := range []struct {
		dst *uint64
		b   bounds
	}{{&s.minute, minutes}, {&s.hour, hours}, {&s.dom, doms}, {&s.month, months}, {&s.dow, dows}} {
		bits, err := parseField(fields[i], f.b)
		if err != nil {
			return nil, err
		}
		*f.dst = bits
	}
	return s, nil
}

func parseDescriptor(spec string) (*Schedule, error) {
	all := func(b bounds) uint64 { return bitRange(b.min, b.max, 1) | starBit }
	switch spec {
	case "@yearly", "@annually":
		return &Schedule{minute: 1, hour: 1, dom: 1 << 1, month: 1 << 1, dow: all(dows)}, nil
	case "@monthly":
		return &Schedule{minute: 1, hour: 1, dom: 1 << 1, month: all(months), dow: all(dows)}, nil
	case "@weekly":
		return &Schedule{minute: 1, hour: 1, dom: all(doms), month: all(months), dow: 1}, nil
	case "@daily", "@midnight":
		return &Schedule{minute: 1, hour: 1, dom: all(doms), month: all(months), dow: all(dows)}, nil
	case "@hourly":
		return &Schedule{minute: 1, hour: all(hours), dom: all(doms), month: all(months), dow: all(dows)}, nil
	}
	const every = "@every "
	if strings.HasPrefix(spec, every) {
		d, err := time.ParseDuration(spec[len(every):])
		if err != nil {
			return nil, fmt.Errorf("failed to parse duration %s: %s", spec, err)
		}
		// Activations fall on whole seconds, at least a second apart.
		d = max(d, time.Second).Truncate(time.Second)
		return &Schedule{every: d}, nil
	}
	return nil, fmt.Errorf("unrecognized descriptor: %s", spec)
}

// parseField parses a comma-separated list of ranges; empty items are
// skipped, as upstream's parser does.
func parseField(field string, b bounds) (uint64, error) {
	var bits uint64
	for _, expr := range strings.Split(field, ",") {
		if expr == "" {
			continue
		}
		r, err := parseRange(expr, b)
		if err != nil {
			return 0, err
		}
		bits |= r
	}
	return bits, nil
}

// parseRange parses "*", "?", "n", "n-m" and any of them with "/step";
// "n/step" runs from n to the field's maximum.
func parseRange(expr string, b bounds) (uint64, error) {
	rangeAndStep := strings.Split(expr, "/")
	lowHigh := strings.Split(rangeAndStep[0], "-")
	var start, end uint
	var extra uint64
	var err error
	if lowHigh[0] == "*" || lowHigh[0] == "?" {
		start, end, extra = b.min, b.max, starBit
	} else {
		if start, err = parseNumber(lowHigh[0], b.names); err != nil {
			return 0, err
		}
		switch len(lowHigh) {
		case 1:
			end = start
		case 2:
			if end, err = parseNumber(lowHigh[1], b.names); err != nil {
				return 0, err
			}
		default:
			return 0, fmt.Errorf("too many hyphens: %s", expr)
		}
	}
	step := uint(1)
	switch len(rangeAndStep) {
	case 1:
	case 2:
		if step, err = parseNumber(rangeAndStep[1], nil); err != nil {
			return 0, err
		}
		if len(lowHigh) == 1 {
			end = b.max
		}
		if step > 1 {
			extra = 0
		}
	default:
		return 0, fmt.Errorf("too many slashes: %s", expr)
	}
	switch {
	case start < b.min:
		return 0, fmt.Errorf("beginning of range (%d) below minimum (%d): %s", start, b.min, expr)
	case end > b.max:
		return 0, fmt.Errorf("end of range (%d) above maximum (%d): %s", end, b.max, expr)
	case start > end:
		return 0, fmt.Errorf("beginning of range (%d) beyond end of range (%d): %s", start, end, expr)
	case step == 0:
		return 0, fmt.Errorf("step of range should be a positive number: %s", expr)
	}
	return bitRange(start, end, step) | extra, nil
}

func parseNumber(expr string, names map[string]uint) (uint, error) {
	if n, ok := names[strings.ToLower(expr)]; ok {
		return n, nil
	}
	n, err := strconv.Atoi(expr)
	if err != nil {
		return 0, fmt.Errorf("failed to parse int from %s: %s", expr, err)
	}
	if n < 0 {
		return 0, fmt.Errorf("negative number (%d) not allowed: %s", n, expr)
	}
	return uint(n), nil
}

// bitRange sets bits start, start+step, ... up to end (end <= 63).
func bitRange(start, end, step uint) uint64 {
	var bits uint64
	for i := start; i <= end; i += step {
		bits |= 1 << i
	}
	return bits
}

func has(bits uint64, n int) bool { return bits&(1<<uint(n)) != 0 }

// Next returns the first activation strictly after t, in t's location,
// or the zero time if there is none in the next five years (e.g. 30 Feb).
// Without a TZ= prefix the schedule runs in t's location.
func (s *Schedule) Next(t time.Time) time.Time {
	if s.every > 0 {
		return t.Add(s.every - time.Duration(t.Nanosecond()))
	}
	loc := s.loc
	if loc == nil {
		loc = t.Location()
	}
	// The next whole minute. Arithmetic rather than time.Date, which would
	// pick the first of a repeated hour's two occurrences.
	c := t.In(loc)
	c = c.Add(time.Minute - time.Duration(c.Second())*time.Second - time.Duration(c.Nanosecond()))
	limit := c.Year() + 5
	for c.Year() <= limit {
		y, m, d := c.Date()
		switch {
		case !has(s.month, int(m)):
			c = time.Date(y, m+1, 1, 0, 0, 0, 0, loc)
		case !s.dayMatches(c):
			c = time.Date(y, m, d+1, 0, 0, 0, 0, loc)
		case !has(s.hour, c.Hour()):
			next := time.Date(y, m, d, c.Hour()+1, 0, 0, 0, loc)
			if !next.After(c) { // a repeated hour at the end of summer time
				next = c.Add(time.Duration(60-c.Minute()) * time.Minute)
			}
			c = next
		case !has(s.minute, c.Minute()):
			c = c.Add(time.Minute)
		default:
			return c.In(t.Location())
		}
	}
	return time.Time{}
}

// dayMatches applies cron's rule: if either day field is a star, both
// must match; otherwise either may.
func (s *Schedule) dayMatches(t time.Time) bool {
	domMatch := has(s.dom, t.Day())
	dowMatch := has(s.dow, int(t.Weekday()))
	if s.dom&starBit != 0 || s.dow&starBit != 0 {
		return domMatch && dowMatch
	}
	return domMatch || dowMatch
}
