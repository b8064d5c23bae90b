package exepages

import (
	"context"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// Trimming: a burst of work (an image pull, pods started or removed, a
// node's start) grows the heap and maps code and data of the executable
// that the process then does not use while it waits for the next one.
// Once the process has gone quiet and its memory has settled, Release
// gives them back, as after start-up.
const (
	// trimEvery is how often the process looks at itself.
	trimEvery = 5 * time.Second
	// quietCPU is the most CPU the process may have used over the last
	// trimEvery to count as quiet (1% of a core).
	quietCPU = trimEvery / 100
	// settledGrowth is the most the resident memory may have grown over
	// the last trimEvery to count as settled: a node serving pods uses
	// little CPU, but maps the pages its work needs (a release then would
	// see them back within seconds).
	settledGrowth = 1 << 20
	// trimGrowth is how much the resident memory must have grown since
	// its lowest after the last release to be worth releasing again: a
	// release costs a forced collection and a walk of the executable's
	// mappings (10-15 ms of CPU for kemudi agent).
	trimGrowth = 4 << 20
)

// sample is what the trimmer reads of the process at each look.
type sample struct {
	cpu time.Duration // user + system since the process started
	rss int64
}

// trimmer decides, from one sample to the next, when to release.
type trimmer struct {
	prev sample
	// low is the least resident memory seen since the last release, from
	// the first sample after it (0 until then).
	low int64
}

// next takes the sample of this look and says whether to release now:
// when the process is quiet and settled, and has grown since its lowest.
func (t *trimmer) next(s sample) bool {
	prev := t.prev
	t.prev = s
	if t.low == 0 {
		t.low = s.rss
		return false
	}
	t.low = min(t.low, s.rss)
	quiet := s.cpu-prev.cpu <= quietCPU
	settled := s.rss-prev.rss < settledGrowth
	if !quiet || !settled || s.rss-t.low < trimGrowth {
		return false
	}
	t.low = 0 // the next sample, after the release
	return true
}

// TrimWhenIdle releases (see Release) whenever the process has gone quiet
// after a burst of work that left it grown by a few MiB, until ctx ends.
func TrimWhenIdle(ctx context.Context, log *slog.Logger) {
	var t trimmer
	tick := time.NewTicker(trimEvery)
	defer tick.Stop()
	// The first look, now, is what the process settled at (after its
	// start-up release): a burst may come before the next.
	for {
		s, err := readSample()
		if err != nil {
			log.Debug("trim: read own usage", "err", err)
			return
		}
		if t.next(s) {
			release(log, s)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// release releases for TrimWhenIdle, which sampled s.
func release(log *slog.Logger, s sample) {
	n, err := Release()
	if err != nil {
		log.Warn("trim: release pages", "err", err)
		return
	}
	log.Debug("trim: released pages once quiet", "rss", s.rss, "exe-bytes", n)
}

// readSample reads this process's CPU time and resident memory.
func readSample() (sample, error) {
	var ru unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_SELF, &ru); err != nil {
		return sample{}, err
	}
	cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	// statm: size resident shared text lib data dt, in pages.
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return sample{}, err
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return sample{}, os.ErrInvalid
	}
	pages, err := strconv.ParseInt(f[1], 10, 64)
	if err != nil {
		return sample{}, err
	}
	return sample{cpu: cpu, rss: pages * int64(os.Getpagesize())}, nil
}
